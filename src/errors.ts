import { STATUS_CODES } from 'node:http'
import type { Check } from './domain/decisions.js'

/**
 * Every error the API can answer with, in one place: a stable machine-readable
 * `code`, its HTTP status, and the reason phrase. Clients switch on `code`;
 * messages are for humans and may change.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  UNKNOWN_FIELD: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  AUTH_REQUIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  ACCOUNT_DISABLED: 401,
  SIGN_IN_EXPIRED: 401,
  SIGN_IN_REFUSED: 403,
  CSRF_TOKEN_INVALID: 403,
  ADMIN_REQUIRED: 403,
  INSUFFICIENT_SCOPE: 403,
  POLICY_DENIED: 403,
  EXPERT_REQUIRED: 403,
  OWN_INVITATION: 403,
  NOT_BOUND_HELPER: 403,
  NOT_SESSION_NOVICE: 403,
  NOT_SESSION_EXPERT: 403,
  NOT_SESSION_PARTY: 403,
  CONTROL_NOT_PERMITTED: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  DUPLICATE_NAME: 409,
  GROUP_CYCLE: 409,
  DOMAIN_NOT_EMPTY: 409,
  IN_USE: 409,
  TICKET_ALREADY_REDEEMED: 409,
  INVITATION_NOT_OPEN: 409,
  SESSION_NOT_ACTIVE: 409,
  CONTROL_REQUEST_PENDING: 409,
  ALREADY_IN_CONTROL: 409,
  CONTROL_REQUEST_NOT_PENDING: 409,
  NOT_IN_CONTROL: 409,
  DELIVERY_PENDING: 409,
  TICKET_EXPIRED: 410,
  TICKET_REVOKED: 410,
  CODE_EXPIRED: 410,
  SIGN_IN_LINK_INVALID: 410,
  SIGN_IN_STATE_INVALID: 400,
  SIGN_IN_NOT_CONFIGURED: 404,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  UNKNOWN_REFERENCE: 422,
  INVALID_REFERENCE: 422,
  INVALID_VALUE: 422,
  TICKET_MALFORMED: 422,
  CODE_INVALID: 422,
  TICKET_SIGNATURE_INVALID: 422,
  TICKET_CLAIMS_INVALID: 422,
  TICKET_WRONG_AUDIENCE: 422,
  TICKET_NOT_YET_VALID: 422,
  TICKET_LIFETIME_EXCEEDS_POLICY: 422,
  PASSWORD_REQUIRED: 422,
  CONFIRMATION_REQUIRED: 422,
  VERIFICATION_CODE_REQUIRED: 422,
  VERIFICATION_CODE_MISMATCH: 422,
  GRANT_TOO_LONG: 422,
  PASSWORD_INCORRECT: 422,
  INVITATION_LOCKED: 423,
  METHOD_NOT_AVAILABLE: 422,
  REGISTRY_POL_MALFORMED: 422,
  WEBHOOK_URL_REFUSED: 422,
  INTERNAL_ERROR: 500,
  OFFER_RATE_LIMITED: 429,
  RATE_LIMITED: 429,
  AUTH_RATE_LIMITED: 429,
  CODE_GUESSES_EXCEEDED: 429,
  SERVICE_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** The HTTP reason phrase of a status (Node's table). */
export function reasonPhrase (statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Error'
}

/**
 * An error the service means to show the client. `field` is a JSON-pointer-like
 * path to the offending input (`members[2]`, `name`), when there is one.
 */
export class AppError extends Error {
  readonly statusCode: number
  readonly field: string | undefined
  /** A policy refusal carries every check of the decision, passed or not (SPEC.md, *API shape*). */
  readonly checks: Check[] | undefined
  /** Seconds, sent as Retry-After (429). */
  readonly retryAfterS: number | undefined
  /** With a file the service cannot read: the byte offset where it goes wrong. */
  readonly offset: number | undefined

  constructor (
    readonly code: ErrorCode,
    message: string,
    options: { field?: string | undefined, checks?: Check[], retryAfterS?: number, offset?: number } = {}
  ) {
    super(message)
    this.name = 'AppError'
    this.statusCode = ERROR_CODES[code]
    this.field = options.field
    this.checks = options.checks
    this.retryAfterS = options.retryAfterS
    this.offset = options.offset
  }

  /** The same error with its field placed under `prefix` (for nested documents). */
  under (prefix: string): AppError {
    const field = this.field === undefined ? prefix : `${prefix}.${this.field}`
    return new AppError(this.code, this.message.replace(this.field ?? '\u0000', field), { field })
  }
}

export const notFound = (what: string, id: string): AppError =>
  new AppError('NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`)

/** A JSON pointer from a validator, as the `field` of an error: `/members/2/name` → `members[2].name`. */
export function fieldPath (instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (extra !== undefined) parts.push(extra)
  return parts.reduce((path, part) => /^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part, '')
}

/**
 * A policy refusal: 403 POLICY_DENIED carrying every check of the decision;
 * the message names `what` was refused and each failing rule with its detail.
 */
export function policyDenied (what: string, checks: Check[]): AppError {
  const failing = checks.filter((c) => !c.passed).map((c) => `${c.rule} ${c.detail}`).join('; ')
  return new AppError('POLICY_DENIED', failing ? `${what}: ${failing}` : what, { checks })
}
