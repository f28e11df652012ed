import { Type, type Static } from '@sinclair/typebox'
import { SCOPES, type Scope } from '../domain/access.js'
import { AccountName } from './directory.js'
import { Nullable, PagingQuery, StrictObject, Timestamp } from './common.js'

export type { Scope }
export const ScopeSchema = Type.Union(SCOPES.map((s) => Type.Literal(s)))

const IntegrationName = Type.String({
  pattern: '^[a-z0-9][a-z0-9._-]{0,62}$',
  description: 'Service account name: lower-case letters, digits, `.`, `_`, `-`.',
  examples: ['servicenow']
})

export const PrincipalSchema = StrictObject({
  type: Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('integration')], {
    description: '`admin`: the built-in administrator; `user`: a directory user acting as themselves; ' +
      '`integration`: a named service account with scopes.'
  }),
  user: Type.Optional(AccountName),
  name: Type.Optional(IntegrationName),
  scopes: Type.Optional(Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true }))
}, { description: 'Whom the token belongs to. `user` is required for type `user`; `name` and `scopes` for type `integration`; neither is allowed otherwise.' })

export const TokenCreateSchema = StrictObject({
  principal: PrincipalSchema,
  label: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'What the token is for.' })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the token stops working (default: never).' }))
}, { title: 'TokenCreate' })

export const TokenSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  principal: Type.Object({
    type: Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('integration')]),
    user: Type.Optional(AccountName),
    name: Type.Optional(IntegrationName),
    scopes: Type.Optional(Type.Array(ScopeSchema))
  }),
  label: Nullable(Type.String()),
  source: Type.Union([Type.Literal('api'), Type.Literal('cli'), Type.Literal('bootstrap'), Type.Literal('generated')]),
  createdAt: Timestamp,
  expiresAt: Nullable(Timestamp),
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp)
}, { title: 'Token' })

export const TokenCreatedSchema = Type.Object({
  token: Type.String({ description: 'The secret. Shown only in this response: store it now.' }),
  tokenInfo: TokenSchema
}, { title: 'TokenCreated' })

export const TokenListQuery = StrictObject({
  ...PagingQuery,
  includeRevoked: Type.Boolean({ default: false })
})

export type TokenCreate = Static<typeof TokenCreateSchema>
export type TokenInfo = Static<typeof TokenSchema>
export type Principal = Static<typeof PrincipalSchema>
