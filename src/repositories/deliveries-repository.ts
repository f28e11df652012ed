import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'

/**
 * The recipients of an invitation's mail still to be sent, as `FROM … WHERE …` (`AND d.invitation_id = …` follows).
 * CROSS JOIN: SQLite then starts from the invitation's deliveries; left to choose, it went through the index on state,
 * every queued recipient (3 ms for 20,000).
 */
export const WAITING_RECIPIENTS = `FROM deliveries d CROSS JOIN delivery_recipients r
  WHERE r.delivery_id = d.id AND r.state IN ('queued', 'retrying')`

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
  constructor (private readonly sql: Sql) {}

  /** A delivery and its recipients, queued (several statements: call inside a unit of work). */
  async insert (delivery: Omit<DeliveryRow, 'id' | 'created_at'>, recipients: Array<{ address: string, messageId: string }>): Promise<string> {
    const id = newId()
    const now = nowIso()
    await this.sql.run('INSERT INTO deliveries (id, invitation_id, method, message, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      id, delivery.invitation_id, delivery.method, delivery.message, delivery.created_by, now)
    for (const [i, r] of recipients.entries()) {
      await this.sql.run(`INSERT INTO delivery_recipients (id, delivery_id, position, address, message_id, state, next_attempt_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`, newId(), id, i, r.address, r.messageId, now, now)
    }
    return id
  }

  async forInvitation (invitationId: string): Promise<Array<DeliveryRow & { recipients: RecipientRow[] }>> {
    const deliveries = await this.sql.all<DeliveryRow>('SELECT * FROM deliveries WHERE invitation_id = ? ORDER BY created_at, id', invitationId)
    const recipients = await this.sql.all<RecipientRow>(`SELECT r.* FROM delivery_recipients r JOIN deliveries d ON d.id = r.delivery_id
      WHERE d.invitation_id = ? ORDER BY r.position`, invitationId)
    return deliveries.map((d) => ({ ...d, recipients: recipients.filter((r) => r.delivery_id === d.id) }))
  }

  async get (deliveryId: string): Promise<(DeliveryRow & { recipients: RecipientRow[] }) | undefined> {
    const d = await this.sql.get<DeliveryRow>('SELECT * FROM deliveries WHERE id = ?', deliveryId)
    if (!d) return undefined
    return { ...d, recipients: await this.sql.all<RecipientRow>('SELECT * FROM delivery_recipients WHERE delivery_id = ? ORDER BY position', deliveryId) }
  }

  /**
   * Claims one due recipient for sending: queued or retrying and due, or left in
   * `sending` by a process that died (its lease ran out). Call inside a unit of
   * work: the conditional update makes the claim exclusive, also across
   * processes; on PostgreSQL the candidate is selected FOR UPDATE SKIP LOCKED, so
   * instances claiming at once each take a different recipient instead of
   * waiting on one another's.
   */
  async claimDue (now: string, leaseUntil: string): Promise<ClaimedRecipient | undefined> {
    const lock = this.sql.engine === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
    const row = await this.sql.get<{ id: string }>(`SELECT id FROM delivery_recipients WHERE ${DUE} ORDER BY next_attempt_at LIMIT 1${lock}`, now, now)
    if (!row) return undefined
    const claimed = await this.sql.run(`UPDATE delivery_recipients SET state = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ?
      WHERE id = ? AND ${DUE}`, leaseUntil, now, row.id, now, now) === 1
    if (!claimed) return undefined
    return await this.sql.get<ClaimedRecipient>(`SELECT r.*, d.invitation_id, d.method, d.message FROM delivery_recipients r
      JOIN deliveries d ON d.id = r.delivery_id WHERE r.id = ?`, row.id)
  }

  async markSent (id: string, reply: string, location: string | null): Promise<void> {
    const now = nowIso()
    await this.sql.run(
      `UPDATE delivery_recipients SET state = 'sent', server_reply = ?, location = ?, sent_at = ?, lease_until = NULL, last_error = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`, reply, location, now, now, id)
  }

  async markRetry (id: string, nextAttemptAt: string, error: string): Promise<void> {
    await this.sql.run(`UPDATE delivery_recipients SET state = 'retrying', next_attempt_at = ?, last_error = ?, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`, nextAttemptAt, error, nowIso(), id)
  }

  async markFailed (id: string, error: string): Promise<void> {
    await this.sql.run(`UPDATE delivery_recipients SET state = 'failed', last_error = ?, lease_until = NULL, next_attempt_at = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`, error, nowIso(), id)
  }

  /** A claimed recipient whose invitation ended before it could be sent. */
  async markCancelled (id: string): Promise<void> {
    await this.sql.run(`UPDATE delivery_recipients SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE id = ? AND state = 'sending'`, nowIso(), id)
  }

  /** Cancels what is not yet sent for invitations that are no longer open (revoked, redeemed, locked, expired). */
  cancelEnded (now: string): Promise<Array<{ id: string, delivery_id: string, address: string, invitation_id: string }>> {
    return this.sql.all<{ id: string, delivery_id: string, address: string, invitation_id: string }>(`UPDATE delivery_recipients
      SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE state IN ('queued', 'retrying') AND EXISTS (
        SELECT 1 FROM deliveries d JOIN invitations i ON i.id = d.invitation_id
        WHERE d.id = delivery_recipients.delivery_id AND (i.state <> 'open' OR i.expires_at <= ?))
      RETURNING id, delivery_id, address, (SELECT invitation_id FROM deliveries WHERE id = delivery_id) AS invitation_id`, now, now)
  }

  /**
   * Cancels what invitation `invitationId` (which its caller just ended: redeemed, revoked) still had queued; returns
   * what it cancelled. Reads that invitation's recipients only: `cancelEnded` reads every queued one, which during a
   * mail outage (20,000 queued) took 25 ms, in every redemption's unit of work, holding SQLite's write lock.
   * Most invitations have nothing waiting (no e-mail, or sent already): a read finds out first, because an
   * UPDATE with that subquery costs even when it changes nothing (SQLite: 16 µs of a redemption's, against 1).
   */
  async cancelFor (
    invitationId: string,
    now: string,
    /** Whether anything waits, when the caller knows (`InvitationsRepository.redeem`); null: read it. */
    waiting: boolean | null = null
  ): Promise<Array<{ id: string, delivery_id: string, address: string, invitation_id: string }>> {
    const anything = waiting ?? await this.sql.get(`SELECT 1 ${WAITING_RECIPIENTS} AND d.invitation_id = ? LIMIT 1`, invitationId) !== undefined
    if (!anything) return []
    const rows = await this.sql.all<{ id: string, delivery_id: string, address: string }>(`UPDATE delivery_recipients
      SET state = 'cancelled', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
      WHERE id IN (SELECT r.id ${WAITING_RECIPIENTS} AND d.invitation_id = ?)
      RETURNING id, delivery_id, address`, now, invitationId)
    return rows.map((r) => ({ ...r, invitation_id: invitationId }))
  }

  /** When the next recipient becomes due, for the worker's timer. */
  async nextDueAt (): Promise<string | undefined> {
    const row = await this.sql.get<{ at: string | null }>(`SELECT min(CASE WHEN state = 'sending' THEN lease_until ELSE next_attempt_at END) AS at
      FROM delivery_recipients WHERE state IN ('queued', 'retrying', 'sending')`)
    return row?.at ?? undefined
  }
}
