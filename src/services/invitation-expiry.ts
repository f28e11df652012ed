import { nowIso } from '../db/database.js'
import type { Unit } from '../repositories/index.js'
import { invitationEventData } from './webhook-events.js'

/**
 * Marks open invitations whose time is up as expired, in unit `u`, with an
 * `invitation.expired` webhook event for each (in the same unit: no expiry
 * without its event). Expiry is also decided by the clock wherever it
 * matters; this records it. Returns how many expired.
 */
export async function expireInvitations (u: Unit): Promise<number> {
  const ids = await u.invitations.expireDue(nowIso())
  for (const id of ids) {
    const row = await u.invitations.get(id)
    if (row) await u.webhooks.publish('invitation.expired', invitationEventData(row, 'system', { reason: 'its lifetime ran out unredeemed' }))
  }
  return ids.length
}
