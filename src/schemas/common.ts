import { Type, type Static, type TProperties, type TSchema, type ObjectOptions } from '@sinclair/typebox'

/** An object that refuses unknown fields: a typo in a request is an error, not a silent no-op. */
export const StrictObject = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options })

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** Whether two types are the same, optional properties included. */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * A schema for a type the domain owns: the wire format follows the domain. It
 * compiles only when the schema's static type is exactly `T`, so the two cannot drift:
 * `follows<Firewall>()(StrictObject({ … }))`.
 */
export const follows = <T>() => <S extends TSchema>(schema: S & (Same<Static<S>, T> extends true ? unknown : never)): S => schema

export const CheckSchema = Type.Object({
  rule: Type.String({ description: 'The SPEC.md rule id (S1…, C1…, O1…, F1…).', examples: ['O11'] }),
  passed: Type.Boolean(),
  detail: Type.String({ description: 'What was found, naming the objects involved.' }),
  remedy: Type.Optional(Type.String({ description: 'What an administrator can change.' }))
}, { title: 'Check' })

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer({ description: 'HTTP status code.' }),
  code: Type.String({ description: 'Stable machine-readable error code.', examples: ['VALIDATION_FAILED'] }),
  error: Type.String({ description: 'HTTP reason phrase.' }),
  message: Type.String({ description: 'What went wrong, for humans.' }),
  field: Type.Optional(Type.String({ description: 'The offending input field, as a path (`members[2]`).' })),
  requestId: Type.Optional(Type.String({ description: 'The request id, to quote when reporting a server error.' })),
  checks: Type.Optional(Type.Array(CheckSchema, { description: 'With a policy refusal: every check of the decision, each named by its SPEC.md rule id.' })),
  offset: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'With a file that cannot be read (REGISTRY_POL_MALFORMED): the byte offset where it goes wrong.'
  }))
}, { $id: 'Error', title: 'Error' })
export type ErrorBody = Static<typeof ErrorSchema>

export const IdParamsSchema = StrictObject({
  id: Type.String({ format: 'uuid', description: 'The object id.' })
})
export type IdParams = Static<typeof IdParamsSchema>

export const Timestamp = Type.String({ format: 'date-time', description: 'UTC, ISO 8601.' })

export const PagingQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `nextCursor` of the previous page.' }))
}

export const Page = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item),
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }))
})

/** Error responses every authenticated route may give, for the OpenAPI document. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([400, 401, 403, ...statuses].map((s) => [s, Type.Ref(ErrorSchema)]))
