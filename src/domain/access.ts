import type { ErrorCode } from '../errors.js'
import type { Scope } from '../schemas/tokens.js'

/** Who is calling, as established from the bearer token. */
export type Principal =
  | { kind: 'admin', tokenId: string }
  | { kind: 'user', tokenId: string, accountId: string, name: string }
  | { kind: 'integration', tokenId: string, name: string, scopes: readonly Scope[] }

/**
 * What a route requires. The built-in administrator may call every route;
 * an integration needs `scope`; a directory user only reaches routes that
 * let users act as themselves (`users: true`), where the route itself then
 * checks what this particular user may do.
 */
export interface RouteAccess {
  scope: Scope | null
  users?: boolean
}

export type AccessDecision =
  | { allowed: true }
  | { allowed: false, code: ErrorCode, reason: string }

export function authorize (principal: Principal, access: RouteAccess): AccessDecision {
  switch (principal.kind) {
    case 'admin':
      return { allowed: true }
    case 'integration':
      if (access.scope !== null && principal.scopes.includes(access.scope)) return { allowed: true }
      return {
        allowed: false,
        code: 'INSUFFICIENT_SCOPE',
        reason: access.scope === null
          ? 'only the administrator may do this'
          : `this token lacks the scope ${access.scope}`
      }
    case 'user':
      if (access.users === true) return { allowed: true }
      return { allowed: false, code: 'ADMIN_REQUIRED', reason: 'only the administrator may do this' }
  }
}

/** How the principal appears as `actor` in the audit trail. */
export function actorName (principal: Principal): string {
  switch (principal.kind) {
    case 'admin': return 'admin'
    case 'user': return principal.name
    case 'integration': return `integration:${principal.name}`
  }
}
