/**
 * What an integration's token may do. Administrators may do everything;
 * directory users act as themselves (their rights come from the directory and policy).
 */
export const SCOPES = [
  'directory:read',
  'directory:write',
  'policies:read',
  'policies:write',
  'invitations:read',
  'invitations:write',
  'sessions:read',
  'sessions:write',
  'audit:read',
  'webhooks:write',
  'metrics:read'
] as const
export type Scope = (typeof SCOPES)[number]

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
  | { allowed: false, code: 'ADMIN_REQUIRED' | 'INSUFFICIENT_SCOPE', reason: string }

export function authorize (principal: Principal, access: RouteAccess): AccessDecision {
  switch (principal.kind) {
    case 'admin':
      return { allowed: true }
    case 'integration':
      // Stryker disable next-line ConditionalExpression: no scope list includes null; the test only narrows the type
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

/** O11: the groups whose members may edit policy. Enterprise Admins hold the right forest-wide. */
export const POLICY_EDITOR_GROUPS = ['Domain Admins', 'Enterprise Admins', 'Group Policy Creator Owners'] as const

/**
 * O11: may this principal edit policy that applies to `domains`? The built-in
 * administrator and integrations (which reached the route only with
 * `policies:write`) may; a user must be, directly or through nested groups, in
 * Domain Admins or Group Policy Creator Owners of every such domain, or in
 * Enterprise Admins of any domain. `userGroups` are the user's groups as
 * `DOMAIN\name`, nested membership already resolved.
 */
export function policyEditCheck (
  principal: Principal,
  userGroups: string[],
  domains: string[]
): { rule: 'O11', passed: boolean, detail: string, remedy?: string } {
  if (principal.kind !== 'user') return { rule: 'O11', passed: true, detail: `${actorName(principal)} may edit policy` }
  const held = new Set(userGroups.map((g) => g.toUpperCase()))
  const enterprise = userGroups.find((g) => g.toUpperCase().endsWith('\\ENTERPRISE ADMINS'))
  if (enterprise) return { rule: 'O11', passed: true, detail: `${principal.name} is a member of ${enterprise}` }
  const missing = domains.filter((d) => !['Domain Admins', 'Group Policy Creator Owners'].some((g) => held.has(`${d}\\${g}`.toUpperCase())))
  if (missing.length === 0) return { rule: 'O11', passed: true, detail: `${principal.name} is a policy editor of ${domains.join(', ')}` }
  return {
    rule: 'O11',
    passed: false,
    detail: `${principal.name} is not a member of Domain Admins, Enterprise Admins or Group Policy Creator Owners of ${missing.join(', ')}`,
    remedy: `Add ${principal.name} (or a group it belongs to) to ${missing[0]}\\Group Policy Creator Owners or ${missing[0]}\\Domain Admins`
  }
}
