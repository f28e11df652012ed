import { Type, type Static } from '@sinclair/typebox'
import { Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

export const AuditEventSchema = Type.Object({
  id: Type.Integer({ description: 'Increases with every event.' }),
  occurredAt: Timestamp,
  requestId: Nullable(Type.String()),
  actor: Type.String({ description: '`admin`, a user `DOMAIN\\name`, `integration:<name>`, `cli` or `anonymous`.' }),
  actorTokenId: Nullable(Type.String()),
  action: Type.String({ examples: ['user.create', 'auth.failure'] }),
  target: Nullable(Type.String({ description: 'The object acted on, as its API path below /v1 (`users/<id>`).' })),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
  details: Nullable(Type.Record(Type.String(), Type.Unknown()))
}, { title: 'AuditEvent' })

export const AuditQuery = StrictObject({
  ...PagingQuery,
  actor: Type.Optional(Type.String({ maxLength: 300 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  target: Type.Optional(Type.String({ maxLength: 300 })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time.' }))
})

export type AuditEvent = Static<typeof AuditEventSchema>
export type AuditQueryType = Static<typeof AuditQuery>
