import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import { callerOf, principalOf } from '../plugins/auth.js'
import type { EventFrame } from '../services/session-streams.js'
import { IdParamsSchema, Nullable, Page, PagingQuery, StrictObject, Timestamp, errorResponses } from '../schemas/common.js'
import { SessionListQuery, SessionSchema } from '../schemas/invitations.js'

// The package's CommonJS export is the fastify-plugin-wrapped plugin (its decorators reach
// these routes); its types describe the ES default instead, hence the cast.
const fastifySSE = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

const tags = ['Sessions']
const read = { access: { scope: 'sessions:read' as const, users: true } }
/** Only the parties act (the administrator may end); integrations watch. */
const act = { access: { scope: null, users: true } }
const RequestParams = StrictObject({ id: Type.String({ format: 'uuid' }), rid: Type.String({ format: 'uuid' }) })
const responses = { 200: SessionSchema, ...errorResponses(404, 409, 422) }
/** A body that may be left out (a grant without a duration): none is `{}`. */
const optionalBody = async (request: FastifyRequest): Promise<void> => { request.body ??= {} }
const Minutes = Type.Optional(Type.Integer({
  minimum: 1,
  maximum: 1440,
  description: 'How long control lasts, in minutes: the novice\'s choice, at most RA_CONTROL_GRANT_MAX_MINUTES (else 422 GRANT_TOO_LONG); ' +
    'left out, RA_CONTROL_GRANT_DEFAULT_MINUTES. Then control drops back to view (control.expired), announced a minute before (control.expiring).'
}))
const ControlTimeSchema = StrictObject({ minutes: Minutes }, { description: 'Optional; an empty or missing body takes the default duration.' })
const ReceiptEntrySchema = Type.Object({
  hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of the entry\'s canonical JSON (RFC 8785).' }),
  entry: Type.Object({
    seq: Type.Integer({ minimum: 1 }),
    sessionId: Type.String(),
    type: Type.String(),
    at: Timestamp,
    actor: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    prev: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'The hash of the entry before (64 zeros for the first).' })
  })
})
const ReceiptSchema = Type.Object({
  format: Type.Literal('ra-consent-receipt/1'),
  sessionId: Type.String(),
  entries: Type.Array(ReceiptEntrySchema),
  head: Type.String({ description: 'The last entry\'s hash.' }),
  signature: Type.String({
    description: 'Compact JWS (EdDSA, `typ` ra-consent-receipt+jws, the ticket key: verify with /.well-known/jwks.json) over ' +
      '`{ iss, sub: session id, head, count, iat }`.'
  })
}, { title: 'ConsentReceipt' })
const SecurityReportSchema = Type.Object({
  id: Type.String(),
  sessionId: Type.String(),
  computer: Type.String(),
  novice: Type.String(),
  expert: Type.Object({ name: Type.String(), displayName: Nullable(Type.String()) }),
  words: Type.String(),
  reportedAt: Timestamp
}, { title: 'SecurityReport' })
const SessionHistoryEntrySchema = Type.Object({
  id: Type.Integer({ description: 'The event id (as in the event stream\'s `id:`).' }),
  type: Type.String(),
  occurredAt: Timestamp,
  actor: Type.String(),
  data: Nullable(Type.Record(Type.String(), Type.Unknown()))
}, { title: 'SessionHistoryEntry' })

const sessions: FastifyPluginAsyncTypebox<{ heartbeatMs: number }> = async (fastify, opts) => {
  const service = fastify.services.sessions
  await fastify.register(fastifySSE, { heartbeatInterval: opts.heartbeatMs })

  fastify.get('/v1/sessions', {
    config: read,
    schema: {
      tags,
      summary: 'The caller\'s sessions (all, for administrators and integrations), newest first',
      querystring: SessionListQuery,
      response: { 200: Page(SessionSchema), ...errorResponses() }
    }
  }, async (request) => service.list(request.query, principalOf(request)))

  fastify.get('/v1/sessions/:id', {
    config: read,
    schema: {
      tags,
      summary: 'State, mode, parties, origin, and what to show the novice before consenting',
      params: IdParamsSchema,
      response: { 200: SessionSchema, ...errorResponses(404) }
    }
  }, async (request) => service.get(request.params.id, principalOf(request), request.freshness))

  fastify.post('/v1/sessions/:id/accept', {
    config: act,
    schema: {
      tags,
      summary: 'The novice accepts the expert (C1): needs "confirm": true',
      params: IdParamsSchema,
      body: StrictObject({
        confirm: Type.Boolean({ description: 'Must be true: acceptance is explicit.' }),
        verificationCode: Type.Optional(Type.String({
          maxLength: 16,
          description: 'The 6-digit code the helper reads out (spaces allowed), compared with the session\'s: required when policy says so ' +
            '(422 VERIFICATION_CODE_REQUIRED). A wrong code is refused (422 VERIFICATION_CODE_MISMATCH) and recorded; the third ends the session.'
        }))
      }),
      response: responses
    }
  }, async (request) => service.act(request.params.id, 'accept', callerOf(request), {
    confirm: request.body.confirm,
    ...(request.body.verificationCode !== undefined ? { verificationCode: request.body.verificationCode } : {})
  }))

  fastify.post('/v1/sessions/:id/decline', {
    config: act,
    schema: { tags, summary: 'The novice declines the expert', params: IdParamsSchema, response: responses }
  }, async (request) => service.act(request.params.id, 'decline', callerOf(request)))

  fastify.post('/v1/sessions/:id/control-requests', {
    config: act,
    schema: {
      tags,
      summary: 'The expert asks for control (C3): only in an active session, and only when policy permits (S2/S6/O3)',
      params: IdParamsSchema,
      response: { 201: SessionSchema, ...errorResponses(404, 409, 422) }
    }
  }, async (request, reply) => reply.code(201).send(await service.act(request.params.id, 'request-control', callerOf(request))))

  fastify.post('/v1/sessions/:id/control-requests/:rid/grant', {
    config: act,
    preValidation: optionalBody,
    schema: { tags, summary: 'The novice grants the control request (C4), for a time', params: RequestParams, body: ControlTimeSchema, response: responses }
  }, async (request) => service.act(request.params.id, 'grant', callerOf(request), {
    requestId: request.params.rid,
    ...(request.body.minutes !== undefined ? { minutes: request.body.minutes } : {})
  }))

  fastify.post('/v1/sessions/:id/control/renew', {
    config: act,
    preValidation: optionalBody,
    schema: {
      tags,
      summary: 'The novice gives the expert more time in control, from now (one click after control.expiring)',
      params: IdParamsSchema,
      body: ControlTimeSchema,
      response: responses
    }
  }, async (request) => service.act(request.params.id, 'renew-control', callerOf(request),
    request.body.minutes !== undefined ? { minutes: request.body.minutes } : {}))

  fastify.post('/v1/sessions/:id/control/more-time', {
    config: act,
    schema: { tags, summary: 'The expert asks the novice for more time in control (control.more-time-requested)', params: IdParamsSchema, response: responses }
  }, async (request) => service.act(request.params.id, 'ask-more-time', callerOf(request)))

  fastify.post('/v1/sessions/:id/report', {
    config: act,
    schema: {
      tags,
      summary: 'The novice reports that this is not who they expected: the session ends at once (security.reported, to administrators and webhooks)',
      params: IdParamsSchema,
      body: StrictObject({ words: Type.String({ minLength: 1, maxLength: 2000, description: 'What happened, in the novice\'s words.' }) }),
      response: responses
    }
  }, async (request) => service.act(request.params.id, 'report', callerOf(request), { words: request.body.words }))

  fastify.get('/v1/sessions/:id/receipt', {
    config: read,
    schema: {
      tags,
      summary: 'The signed consent receipt: every consent event of the session in a hash chain, and a JWS over its head (verify offline: ' +
        '`npm run cli -- verify-receipt FILE`)',
      params: IdParamsSchema,
      response: { 200: ReceiptSchema, ...errorResponses(404) }
    }
  }, async (request, reply) => reply.header('cache-control', 'private, no-store').send(await service.receipt(request.params.id, principalOf(request))))

  fastify.get('/v1/security-reports', {
    config: { access: { scope: 'audit:read' as const, users: false } },
    schema: {
      tags,
      summary: 'Novices\' reports that an expert was not who they expected, newest first (administrators, or the audit:read scope)',
      querystring: StrictObject(PagingQuery),
      response: { 200: Page(SecurityReportSchema), ...errorResponses() }
    }
  }, async (request) => service.reports(request.query))

  fastify.post('/v1/sessions/:id/control-requests/:rid/deny', {
    config: act,
    schema: { tags, summary: 'The novice denies the control request', params: RequestParams, response: responses }
  }, async (request) => service.act(request.params.id, 'deny', callerOf(request), { requestId: request.params.rid }))

  fastify.post('/v1/sessions/:id/control/stop', {
    config: act,
    schema: { tags, summary: 'The novice stops remote control, at any time (C5): back to view only', params: IdParamsSchema, response: responses }
  }, async (request) => service.act(request.params.id, 'stop-control', callerOf(request)))

  fastify.post('/v1/sessions/:id/end', {
    config: act,
    schema: { tags, summary: 'Either side (or the administrator) ends the session (C5)', params: IdParamsSchema, response: responses }
  }, async (request) => service.act(request.params.id, 'end', callerOf(request)))

  fastify.get('/v1/sessions/:id/history', {
    config: read,
    schema: {
      tags,
      summary: 'The session\'s whole event history, paged, oldest first: every transition and every security event (the same ids as the event stream)',
      params: IdParamsSchema,
      querystring: StrictObject(PagingQuery),
      response: { 200: Page(SessionHistoryEntrySchema), ...errorResponses(404) }
    }
  }, async (request) => service.history(request.params.id, principalOf(request), request.query))

  fastify.get('/v1/sessions/:id/events', {
    config: read,
    sse: { kind: 'only' },
    schema: {
      tags,
      summary: 'Server-sent events: every transition and security event, with increasing ids; ' +
        'reconnect with Last-Event-ID to get exactly what was missed. Closes when the session ends.',
      params: IdParamsSchema
    }
  }, async (request, reply) => {
    const id = request.params.id
    const header = reply.sse.lastEventId ?? request.headers['last-event-id']
    const given = Number(header)
    const cursor = Number.isSafeInteger(given) && given >= 0 ? given : 0
    // Visibility first: an unknown or foreign session is a plain 404, before any streaming.
    await service.assertVisible(id, principalOf(request))
    reply.sse.keepAlive()
    // The stream is open from now on, also while there is nothing to send yet (headers otherwise wait for the first event,
    // and a handler that returns before one would end the response empty).
    reply.sse.sendHeaders()
    // On the wire now, before any event (writeFrame writes past the response).
    reply.raw.flushHeaders()
    // The session's streams are served together (SessionStreams): each event is read and formatted once for all of them.
    const closed = fastify.metrics.streamOpened()
    let remove: () => void
    try {
      remove = await fastify.services.streams.subscribe(id, {
        cursor,
        write: (frame) => { if (reply.sse.isConnected) writeFrame(reply.raw, frame) },
        end: () => { reply.sse.close() }
      })
    } catch (err) {
      closed()
      throw err
    }
    const stop = () => {
      remove()
      closed()
    }
    // A client that left while the session was being read has already closed: its close callbacks ran then.
    if (reply.sse.isConnected) reply.sse.onClose(stop)
    else stop()
  })
}

/**
 * Writes one event to a stream whose headers are on the wire (flushHeaders): straight to its socket as the response's next chunk (one write of
 * bytes shared by every stream, where ServerResponse.write would encode and frame them again for each); through
 * ServerResponse.write while the response itself still holds output of its own, so that nothing is reordered.
 */
function writeFrame (res: ServerResponse, frame: EventFrame): void {
  const socket = res.socket
  if (socket?.destroyed === true) return
  if (socket === null || !res.headersSent || res.writableEnded || res.writableLength > socket.writableLength) {
    res.write(frame.text)
    return
  }
  socket.write(res.chunkedEncoding ? frame.chunk : frame.bytes)
}
export default sessions
