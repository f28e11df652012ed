import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { callerOf } from '../plugins/auth.js'
import { CheckSchema, Nullable, StrictObject, errorResponses } from '../schemas/common.js'
import { AccountName, ComputerRef, RefParams } from '../schemas/directory.js'
import { ExternalRef, SessionSchema } from '../schemas/invitations.js'

const DecisionSchema = Type.Object({
  allowed: Type.Boolean(),
  permission: Nullable(Type.Union([Type.Literal('view'), Type.Literal('control')], { description: 'O3: what the session may reach.' })),
  checks: Type.Array(CheckSchema, { description: 'Every rule, passed or not (O1–O8, S7/O7, F4), each failing one with a remedy.' })
})

const offers: FastifyPluginAsyncTypebox = async (fastify) => {
  const service = fastify.services.offers

  fastify.post('/v1/offers', {
    config: { access: { scope: null, users: true } },
    schema: {
      tags: ['Offers'],
      summary: 'Offer help to a computer (expert): a session awaiting the novice, or 403 POLICY_DENIED with every check',
      body: StrictObject({
        computer: ComputerRef,
        novice: Type.Optional(AccountName),
        expertComputer: Type.Optional(ComputerRef),
        externalRef: Type.Optional(ExternalRef)
      }, { description: '`novice`: who is asked, when several users sit at the computer. `expertComputer`: the expert\'s own computer, checked for O6 too.' }),
      response: { 201: SessionSchema, ...errorResponses(422, 429) }
    }
  }, async (request, reply) => reply.code(201).send(await service.offer(request.body, callerOf(request))))

  fastify.get('/v1/computers/:id/offer-check', {
    config: { access: { scope: 'policies:read' }, ref: 'computer' },
    schema: {
      tags: ['Offers'],
      summary: 'The offer decision for an expert, without creating anything (always agrees with POST /v1/offers)',
      params: RefParams.computer,
      querystring: StrictObject({ expert: AccountName, expertComputer: Type.Optional(ComputerRef) }),
      response: { 200: DecisionSchema, ...errorResponses(404) }
    }
  }, async (request) => service.check(request.params.id, request.query.expert, request.query.expertComputer))

  fastify.get('/v1/computers/:id/readiness', {
    config: { access: { scope: 'directory:read' }, ref: 'computer' },
    schema: {
      tags: ['Offers'],
      summary: 'DCOM and firewall prerequisites (F1–F4, O8) for the computer\'s platform, with the exact entries to add',
      params: RefParams.computer,
      response: {
        200: Type.Object({
          computer: Type.Object({ id: Type.String(), name: Type.String(), platform: Nullable(Type.String()) }),
          ready: Type.Boolean(),
          checks: Type.Array(CheckSchema),
          warnings: Type.Array(Type.String())
        }),
        ...errorResponses(404)
      }
    }
  }, async (request) => service.readiness(request.params.id))
}
export default offers
