import { newId } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'

export type RecipientState = 'queued' | 'sending' | 'sent' | 'retrying' | 'failed' | 'cancelled'

export interface RecipientRow {
  id: string
  delivery_id: string
  position: number
  address: string
  message_id: string
  state: RecipientState
  attempts: number
  next_attempt_at: string | null
  lease_until: string | null
  last_error: string | null
  server_reply: string | null
  location: string | null
  sent_at: string | null
  updated_at: string
}

export interface DeliveryRow {
  id: string
  invitation_id: string
  method: 'mailto' | 'smapi'
  message: string | null
  created_by: string
  created_at: string
}

/** A claimed recipient with what the worker needs to compose its message. */
export interface ClaimedRecipient extends RecipientRow {
  invitation_id: string
  method: DeliveryRow['method']
  message: string | null
}

const DUE = '((state IN (\'queued\', \'retrying\') AND next_attempt_at <= ?) OR (state = \'sending\' AND lease_until <= ?))'

export class DeliveriesRepository {
  constructor (private readonly db: Db) {}

  insert (delivery: Omit<DeliveryRow, 'id' | 'created_at'>, recipients: Array<{ address: string, messageId: string }>): string {
    const id = newId()
    const now = nowIso()
    this.db.prepare('INSERT INTO deliveries (id, invitation_id, method, message, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, delivery.invitation_id, delivery.method, delivery.message, delivery.created_by, now)
    const add = this.db.prepare(`INSERT INTO delivery_recipients (id, delivery_id, position, address, message_id, state, next_attempt_at, updated_at)
      VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`)
    recipients.forEach((r, i) => add.run(newId(), id, i, r.address, r.messageId, now, now))
    return id
  }

  forInvitation (invitationId: string): Array<DeliveryRow & { recipients: RecipientRow[] }> {
    const deliveries = this.db.prepare('SELECT * FROM deliveries WHERE invitation_id = ? ORDER BY created_at, id').all(invitationId) as DeliveryRow[]
    const recipients = this.db.prepare(`SELECT r.* FROM delivery_recipients r JOIN deliveries d ON d.id = r.delivery_id
      WHERE d.invitation_id = ? ORDER BY r.position`).all(invitationId) as RecipientRow[]
    return deliveries.map((d) => ({ ...d, recipients: recipients.filter((r) => r.delivery_id === d.id) }))
  }

  get (deliveryId: string): (DeliveryRow & { recipients: RecipientRow[] }) | undefined {
    const d = this.db.prepare('SELECT * FROM deliveries WHERE id = ?').get(deliveryId) as DeliveryRow | undefined
    if (!d) return undefined
    return { ...d, recipients: this.db.prepare('SELECT * FROM delivery_recipients WHERE delivery_id = ? ORDER BY position').all(deliveryId) as RecipientRow[] }
  }

  /**
   * Claims one due recipient for sending: queued or retrying and due, or left in
   * `sending` by a process that died (its lease ran out). The conditional update
   * makes the claim exclusive, also across processes.
   */
  claimDue (now: string, leaseUntil: string): ClaimedRecipient | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare(`SELECT id FROM delivery_recipients WHERE ${DUE} ORDER BY next_attempt_at LIMIT 1`)
        .get(now, now) as { id: string } | undefined
      if (!row) return undefined
      const claimed = this.db.prepare(`UPDATE delivery_recipients SET state = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ?
        WHERE id = ? AND ${DUE}`).run(leaseUntil, now, row.id, now, now).changes === 1
      if (!claimed) return undefined
      return this.db.prepare(`SELECT r.*, d.invitation_id, d.method, d.message FROM delivery_recipients r JOIN deliveries d ON d.id = r.delivery_id
        WHERE r.id = ?`).get(row.id) as ClaimedRecipient
    }).immediate()
  }

  markSent (id: string, reply: string, location: string | null): void {
    const now = nowIso()
    this.db.prepare(
      `UPDATE delivery_recipients SET state = 'sent', server_reply = ?, location = ?, sent_at = ?, lease_until = NULL, last_error = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`
    ).run(reply, location, now, now, id)
  }

  markRetry (id: string, nextAttemptAt: string, error: string): void {
    this.db.prepare(`UPDATE delivery_recipients SET state = 'retrying', next_attempt_at = ?, last_error = ?, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`).run(nextAttemptAt, error, nowIso(), id)
  }

  markFailed (id: string, error: string): void {
    this.db.prepare(`UPDATE delivery_recipients SET state = 'failed', last_error = ?, lease_until = NULL, next_attempt_at = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`).run(error, nowIso(), id)
  }

  /** A claimed recipient whose invitation ended before it could be sent. */
  markCancelled (id: string): void {
    this.db.prepare(`UPDATE delivery_recipients SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`).run(nowIso(), id)
  }

  /** Cancels what is not yet sent for invitations that are no longer open (revoked, redeemed, locked, expired). */
  cancelEnded (now: string): Array<{ id: string, delivery_id: string, address: string, invitation_id: string }> {
    return this.db.prepare(`UPDATE delivery_recipients SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE state IN ('queued', 'retrying') AND EXISTS (
        SELECT 1 FROM deliveries d JOIN invitations i ON i.id = d.invitation_id
        WHERE d.id = delivery_recipients.delivery_id AND (i.state <> 'open' OR i.expires_at <= ?))
      RETURNING id, delivery_id, address, (SELECT invitation_id FROM deliveries WHERE id = delivery_id) AS invitation_id`)
      .all(now, now) as Array<{ id: string, delivery_id: string, address: string, invitation_id: string }>
  }

  /** When the next recipient becomes due, for the worker's timer. */
  nextDueAt (): string | undefined {
    const row = this.db.prepare(`SELECT min(CASE WHEN state = 'sending' THEN lease_until ELSE next_attempt_at END) AS at FROM delivery_recipients
      WHERE state IN ('queued', 'retrying', 'sending')`).get() as { at: string | null }
    return row.at ?? undefined
  }
}
