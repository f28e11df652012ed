import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { callerOf, principalOf } from '../plugins/auth.js'
import { AppError } from '../errors.js'
import { sendError } from '../plugins/errors.js'
import { SharedLimit } from '../services/limits.js'
import { IdParamsSchema, Page, StrictObject, errorResponses } from '../schemas/common.js'
import { INVITATION_FILE_NAME } from '../domain/invitation-file.js'
import {
  DeliveryCreatedSchema, DeliverySchema, DeliveryStatusSchema, InvitationCreatedSchema, InvitationCreateSchema, InvitationListQuery,
  InvitationPreviewSchema, InvitationSchema, MeSchema, RedemptionSchema, SessionSchema, TicketPreviewRequestSchema
} from '../schemas/invitations.js'

const tags = ['Invitations']
/** Tickets in a body are secrets: never cached anywhere. */
const NO_STORE = 'no-store'

const invitations: FastifyPluginAsyncTypebox<{ redemptionsPerMinute: number, redemptionsPerAddressPerMinute: number }> = async (fastify, opts) => {
  const service = fastify.services.invitations
  // Tickets and passwords are guessed at redemption: attempts are limited per token (the expert) and per client
  // address (guessing with many tokens), counted in the database so that the budgets hold across every instance.
  const perToken = new SharedLimit(fastify.services.store, 'redeem-token', opts.redemptionsPerMinute)
  const perAddress = new SharedLimit(fastify.services.store, 'redeem-address', opts.redemptionsPerAddressPerMinute)

  fastify.post('/v1/invitations', {
    config: { access: { scope: 'invitations:write', users: true } },
    schema: {
      tags,
      summary: 'Create an invitation: the policy decides (S1–S6); the ticket expires at most at the maximum ticket time (S3)',
      body: InvitationCreateSchema,
      response: { 201: InvitationCreatedSchema, ...errorResponses(413, 422) }
    }
  }, async (request, reply) => {
    const created = await service.create(request.body, callerOf(request))
    return reply.code(201).header('cache-control', NO_STORE).send(created)
  })

  fastify.get('/v1/invitations', {
    config: { access: { scope: 'invitations:read', users: true } },
    schema: {
      tags,
      summary: 'Invitations, newest first: a user sees their own; administrators and integrations filter by computer, novice, state',
      querystring: InvitationListQuery,
      response: { 200: Page(InvitationSchema), ...errorResponses() }
    }
  }, async (request) => service.list(request.query, principalOf(request)))

  fastify.get('/v1/invitations/:id', {
    config: { access: { scope: 'invitations:read', users: true } },
    schema: { tags, summary: 'An invitation\'s status', params: IdParamsSchema, response: { 200: InvitationSchema, ...errorResponses(404) } }
  }, async (request) => service.get(request.params.id, principalOf(request)))

  fastify.delete('/v1/invitations/:id', {
    config: { access: { scope: 'invitations:write', users: true } },
    schema: { tags, summary: 'Revoke an open or locked invitation', params: IdParamsSchema, response: { 200: InvitationSchema, ...errorResponses(404, 409) } }
  }, async (request) => service.revoke(request.params.id, callerOf(request)))

  fastify.post('/v1/invitations/:id/deliveries', {
    config: { access: { scope: 'invitations:write', users: true } },
    schema: {
      tags,
      summary: 'Send the invitation by e-mail, Mailto or SMAPI (S4): queued durably, sent by the outbox',
      params: IdParamsSchema,
      body: DeliverySchema,
      response: { 201: DeliveryCreatedSchema, ...errorResponses(404, 409, 413, 422) }
    }
  }, async (request, reply) => {
    const created = await fastify.services.deliveries.deliver(request.params.id, request.body, callerOf(request))
    fastify.services.outbox?.kick()
    return reply.code(201).header('cache-control', NO_STORE).send(created)
  })

  fastify.get('/v1/invitations/:id/deliveries', {
    config: { access: { scope: 'invitations:read', users: true } },
    schema: {
      tags,
      summary: 'Each recipient\'s delivery status',
      params: IdParamsSchema,
      response: { 200: Type.Object({ items: Type.Array(DeliveryStatusSchema) }), ...errorResponses(404) }
    }
  }, async (request) => ({ items: await fastify.services.deliveries.list(request.params.id, principalOf(request)) }))

  /** Redemption and its preview share the guessing budget: either one tries a ticket (or a code, which has budgets of its own too). */
  const limitGuessing = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const [byToken, byAddress] = await SharedLimit.takeEach([[perToken, principalOf(request).tokenId], [perAddress, request.ip]])
    if (byToken > 0) {
      return sendError(reply, request, new AppError(
        'RATE_LIMITED',
          `too many redemption attempts with this token: at most ${opts.redemptionsPerMinute} a minute; retry in ${byToken} s`,
          { retryAfterS: byToken }
      ))
    }
    if (byAddress > 0) {
      return sendError(reply, request, new AppError(
        'RATE_LIMITED',
          `too many redemption attempts from this address: at most ${opts.redemptionsPerAddressPerMinute} a minute; retry in ${byAddress} s`,
          { retryAfterS: byAddress }
      ))
    }
  }

  fastify.get('/v1/invitations/:id/file', {
    config: { access: { scope: 'invitations:read', users: true } },
    schema: {
      tags,
      summary: 'The open invitation as a .msrcincident file (the SMAPI attachment), for the novice to hand on themselves',
      params: IdParamsSchema,
      produces: ['application/octet-stream'],
      response: { 200: Type.Unknown({ description: 'The invitation file ([MS-RAI]).' }), ...errorResponses(404, 409) }
    }
  }, async (request, reply) => {
    const file = await fastify.services.deliveries.invitationFile(request.params.id, principalOf(request))
    return reply.header('cache-control', NO_STORE).type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${INVITATION_FILE_NAME}"`).send(file)
  })

  fastify.get('/v1/invitations/:id/mailto', {
    config: { access: { scope: 'invitations:read', users: true } },
    schema: {
      tags,
      summary: 'A mailto: URI carrying the open invitation (the Mailto message), for the novice\'s own mail program; nothing is sent',
      params: IdParamsSchema,
      querystring: StrictObject({ to: Type.Optional(Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 50 })) }),
      response: { 200: Type.Object({ mailtoUri: Type.String() }), ...errorResponses(404, 409) }
    }
  }, async (request, reply) => reply.header('cache-control', NO_STORE)
    .send({ mailtoUri: await fastify.services.deliveries.mailtoLink(request.params.id, principalOf(request), request.query.to ?? []) }))

  fastify.get('/v1/me', {
    config: { access: { scope: null, users: true } },
    schema: {
      tags: ['Sign-in'],
      summary: 'The caller, and for a user the computers they sit at with what asking for help from each would give (S1–S4)',
      response: { 200: MeSchema, ...errorResponses() }
    }
  }, async (request, reply) => reply.header('cache-control', 'private, no-store').send(await service.me(principalOf(request))))

  fastify.post('/v1/redemptions/preview', {
    config: { access: { scope: null, users: true } },
    onRequest: limitGuessing,
    schema: {
      tags,
      summary: 'What a ticket or short code would redeem (expert): who asked for help, from which computer, until when, and whether it needs a password',
      body: TicketPreviewRequestSchema,
      response: { 200: InvitationPreviewSchema, ...errorResponses(409, 410, 422, 423, 429) }
    }
  }, async (request, reply) => reply.header('cache-control', NO_STORE)
    .send(await service.preview({ ...request.body, address: request.ip }, callerOf(request))))

  fastify.post('/v1/redemptions', {
    config: { access: { scope: null, users: true } },
    onRequest: limitGuessing,
    schema: {
      tags,
      summary: 'Redeem a ticket (expert): exactly once, into a session awaiting the novice (C1)',
      body: RedemptionSchema,
      response: { 201: SessionSchema, ...errorResponses(409, 410, 422, 423, 429) }
    }
  }, async (request, reply) => {
    const session = await service.redeem({ ...request.body, address: request.ip }, callerOf(request))
    return reply.code(201).header('cache-control', NO_STORE).send(session)
  })

  fastify.post('/v1/keys/rotate', {
    config: { access: { scope: null } },
    schema: {
      tags: ['Keys'],
      summary: 'Rotate the ticket-signing key: the old key keeps verifying until its tickets expire',
      response: { 200: Type.Object({ kid: Type.String(), retired: Type.Array(Type.String()) }), ...errorResponses() }
    }
  }, async (request) => fastify.services.tickets.rotate(callerOf(request).ctx))

  fastify.get('/.well-known/jwks.json', {
    schema: {
      tags: ['Keys'],
      summary: 'Public keys that verify tickets (JWKS)',
      security: [],
      response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) }
    }
  }, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(await fastify.services.tickets.jwks()))
}
export default invitations
