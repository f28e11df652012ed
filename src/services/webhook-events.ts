import type { Check } from '../domain/decisions.js'
import type { InvitationRow } from '../repositories/invitations-repository.js'
import type { SessionRow } from '../repositories/sessions-repository.js'

/**
 * The `data` of webhook events: one flat shape for every type, so that a
 * receiver reads the same fields everywhere. Ids, names, times, the rule ids
 * that decided and the helpdesk's reference; never a ticket, password, token
 * or secret. Fields that do not apply to an event are null.
 */
export interface WebhookEventData extends Record<string, unknown> {
  /** Who did it, as in the audit trail (`CONTOSO\alice`, `admin`, `integration:servicenow`, `system`). */
  actor: string
  invitationId: string | null
  sessionId: string | null
  computer: string | null
  novice: string | null
  expert: string | null
  externalRef: string | null
  /** The rule ids (SPEC.md) that decided, in the order they were checked; [] when none applies. */
  rules: string[]
}

/** Rule ids of the checks that decided: all of them when it was allowed, the failed ones when refused. */
export function rulesOf (checks: readonly Check[] | undefined): string[] {
  if (!checks) return []
  const failed = checks.filter((c) => !c.passed)
  return [...new Set((failed.length > 0 ? failed : checks).map((c) => c.rule))]
}

export function invitationEventData (row: InvitationRow, actor: string, extra: Record<string, unknown> = {}): WebhookEventData {
  return {
    actor,
    invitationId: row.id,
    sessionId: row.session_id,
    computer: row.computer_name,
    novice: row.novice_name,
    expert: row.expert_name,
    externalRef: row.external_ref,
    rules: [],
    state: row.state,
    mode: row.mode,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    helper: row.helper_name,
    ...extra
  }
}

export function sessionEventData (row: SessionRow, actor: string, extra: Record<string, unknown> = {}): WebhookEventData {
  return {
    actor,
    invitationId: row.invitation_id,
    sessionId: row.id,
    computer: row.computer_name,
    novice: row.novice_name,
    expert: row.expert_name,
    externalRef: row.external_ref,
    rules: [],
    origin: row.origin,
    permittedMode: row.permitted_mode,
    ...extra
  }
}
