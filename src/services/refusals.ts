import { AppError } from '../errors.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { ActorContext } from './context.js'

/**
 * Audits a refused request: its code, the field at fault and the rules that
 * failed, plus `details` the caller adds; nothing else of the input (which may
 * hold a ticket or a password). Errors that are not refusals are not audited here.
 *
 * `audit` is the store's own (`store.repos.audit`): the event is recorded as a
 * unit of work of its own, since the refused request's unit (if any) rolled back.
 */
export async function auditRefusal (
  audit: AuditRepository,
  ctx: ActorContext,
  refusal: { action: string, target: string | null, details?: Record<string, unknown> },
  err: unknown
): Promise<void> {
  if (!(err instanceof AppError)) return
  const rules = err.checks && [...new Set(err.checks.filter((c) => !c.passed).map((c) => c.rule))]
  await audit.record({
    ...ctx,
    action: refusal.action,
    target: refusal.target,
    outcome: 'denied',
    details: { code: err.code, ...(err.field ? { field: err.field } : {}), ...(rules ? { rules } : {}), ...refusal.details }
  })
}
