import type { Principal } from '../domain/access.js'
import { notFound } from '../errors.js'
import type { InvitationRow, InvitationsRepository } from '../repositories/invitations-repository.js'

/**
 * The invitation if the principal may see it: its novice, the administrator, or an
 * integration (whose scope the route checked). Anyone else gets "not found", so no
 * one learns that another user's invitation exists. `invitations` is the store's
 * (committed data) or a unit of work's.
 */
export async function visibleInvitation (invitations: InvitationsRepository, id: string, principal: Principal): Promise<InvitationRow> {
  const row = await invitations.get(id)
  if (!row || (principal.kind === 'user' && row.novice_id !== principal.accountId)) throw notFound('invitation', id)
  return row
}
