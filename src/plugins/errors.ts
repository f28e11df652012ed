import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CommitFailedError, StorageUnavailableError } from '../db/storage.js'
import { AppError, fieldPath, reasonPhrase, type ErrorCode } from '../errors.js'
import type { ErrorBody } from '../schemas/common.js'

interface AjvError {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
  parentSchema?: { description?: string }
}

function fromValidation (error: FastifyError): AppError {
  const [first] = (error.validation ?? []) as unknown as AjvError[]
  if (!first) return new AppError('VALIDATION_FAILED', 'the request is not valid')
  const where = error.validationContext === 'body' ? '' : `${error.validationContext ?? 'request'} `
  if (first.keyword === 'additionalProperties') {
    const field = fieldPath(first.instancePath, String(first.params['additionalProperty']))
    return new AppError('UNKNOWN_FIELD', `${where}field ${field} is not known here`, { field })
  }
  if (first.keyword === 'required') {
    const field = fieldPath(first.instancePath, String(first.params['missingProperty']))
    return new AppError('VALIDATION_FAILED', `${where}field ${field} is required`, { field })
  }
  const field = fieldPath(first.instancePath)
  const subject = field ? `${where}field ${field}` : (where.trim() || 'the body')
  const message = first.keyword === 'pattern' && first.parentSchema?.description
    ? `is not in the expected form: ${first.parentSchema.description}`
    : first.message ?? 'is not valid'
  return new AppError('VALIDATION_FAILED', `${subject} ${message}`, field ? { field } : {})
}

/** Fastify's own client errors, given our stable codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON'
}

/** Turns any error into the one error body; 5xx never carry internals, only the request id. */
export function toErrorBody (error: unknown, requestId: string): { body: ErrorBody, internal: boolean, retryAfterS?: number | undefined } {
  let app: AppError | undefined
  const fe = error as FastifyError
  if (error instanceof AppError) app = error
  else if (error instanceof StorageUnavailableError) {
    app = new AppError(
      'STORAGE_UNAVAILABLE',
      error instanceof CommitFailedError
        ? 'the change could not be saved (the database did not commit it); nothing was changed, retry shortly'
        : 'the database is unavailable; nothing was changed, retry shortly',
      { retryAfterS: 5 }
    )
  } else if (fe?.validation) app = fromValidation(fe)
  else if (fe?.code && FASTIFY_CODES[fe.code]) app = new AppError(FASTIFY_CODES[fe.code]!, fe.message)
  else if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Other client errors fastify raises (malformed JSON, prototype poisoning…): their messages are about the input.
    const code: ErrorCode = fe.statusCode === 413 ? 'BODY_TOO_LARGE' : fe.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_JSON'
    app = new AppError(code, fe.message)
  }
  if (app) {
    const body: ErrorBody = { statusCode: app.statusCode, code: app.code, error: reasonPhrase(app.statusCode), message: app.message }
    if (app.field !== undefined) body.field = app.field
    if (app.checks !== undefined) body.checks = app.checks
    if (app.offset !== undefined) body.offset = app.offset
    if (app.statusCode >= 500) body.requestId = requestId
    return { body, internal: false, retryAfterS: app.retryAfterS }
  }
  return {
    internal: true,
    body: {
      statusCode: 500,
      code: 'INTERNAL_ERROR',
      error: reasonPhrase(500),
      message: `the service failed to handle this request; quote request id ${requestId} when reporting it`,
      requestId
    }
  }
}

/** What the database said, for the log: its code and message only (never the statement's parameters). */
function causeOf (error: StorageUnavailableError): { code?: unknown, message?: unknown } | undefined {
  const cause = error.cause as { code?: unknown, message?: unknown } | undefined
  return cause && { code: cause.code, message: cause.message }
}

export function sendError (reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const { body, internal, retryAfterS } = toErrorBody(error, request.id)
  if (retryAfterS !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterS))))
  if (internal) request.log.error({ err: error }, 'request failed')
  else if (error instanceof StorageUnavailableError) request.log.error({ code: body.code, cause: causeOf(error) }, body.message)
  else if (body.statusCode >= 500) request.log.error({ code: body.code }, body.message)
  return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
}

export default fp(async (fastify: FastifyInstance) => {
  fastify.setErrorHandler((error, request, reply) => sendError(reply, request, error))
  fastify.setNotFoundHandler((request, reply) => sendError(reply, request,
    new AppError('ROUTE_NOT_FOUND', `there is no route ${request.method} ${request.url.split('?')[0]}`)))
}, { name: 'errors' })
