import type { Sql } from '../db/storage.js'
import { WAITING_RECIPIENTS } from './deliveries-repository.js'
import type { Invitation } from '../schemas/invitations.js'
import { decodeCursor, pageOf, type PageOf, whereOf } from './paging.js'

export interface InvitationRow {
  id: string
  computer_id: string
  novice_id: string
  created_by: string
  state: Invitation['state']
  mode: Invitation['mode']
  lifetime_minutes: number
  created_at: string
  expires_at: string
  kid: string
  jti: string
  password_hash: string | null
  /** SHA-256 of the ticket as issued (base64url); null for invitations made before it was kept. */
  ticket_hash: string | null
  password_failures: number
  delivery: string | null
  /** JSON of the NoviceConnection the agent reported, or null. */
  connection: string | null
  pass_stub: string | null
  lh_ticket: string | null
  external_ref: string | null
  /** The account the invitation is bound to (BOUND_HELPER), and its name as given; null: not bound. */
  helper_id: string | null
  helper_name: string | null
  /** The short code's keyed hash and when the code stops working; null without a code. */
  code_hash: string | null
  code_expires_at: string | null
  redeemed_at: string | null
  redeemed_by: string | null
  revoked_at: string | null
  locked_at: string | null
  ended_at: string | null
  computer_name: string
  novice_name: string
  expert_name: string | null
  session_id: string | null
}

const SELECT = `SELECT i.*, cd.name || '\\' || c.name AS computer_name, nd.name || '\\' || n.name AS novice_name,
    ed.name || '\\' || e.name AS expert_name, s.id AS session_id
  FROM invitations i
  JOIN computers c ON c.id = i.computer_id JOIN domains cd ON cd.id = c.domain_id
  JOIN accounts n ON n.id = i.novice_id JOIN domains nd ON nd.id = n.domain_id
  LEFT JOIN accounts e ON e.id = i.redeemed_by LEFT JOIN domains ed ON ed.id = e.domain_id
  LEFT JOIN sessions s ON s.invitation_id = i.id`

/** How many wrong passwords lock an invitation. */
export const PASSWORD_ATTEMPTS = 5

export class InvitationsRepository {
  constructor (private readonly sql: Sql) {}

  async insert (row: Pick<InvitationRow,
    'id' | 'computer_id' | 'novice_id' | 'created_by' | 'mode' | 'lifetime_minutes' | 'created_at' | 'expires_at' |
    'kid' | 'jti' | 'password_hash' | 'ticket_hash' | 'connection' | 'pass_stub' | 'lh_ticket' | 'external_ref' | 'helper_id' | 'helper_name' |
    'code_hash' | 'code_expires_at'
  >): Promise<void> {
    // With the unit's other deferred inserts (its audit event): on PostgreSQL one round trip for both (`Sql.defer`).
    await this.sql.defer(`INSERT INTO invitations (id, computer_id, novice_id, created_by, state, mode, lifetime_minutes, created_at, expires_at,
        kid, jti, password_hash, ticket_hash, connection, pass_stub, lh_ticket, external_ref, helper_id, helper_name, code_hash, code_expires_at)
      VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id, row.computer_id, row.novice_id, row.created_by, row.mode, row.lifetime_minutes, row.created_at, row.expires_at,
    row.kid, row.jti, row.password_hash, row.ticket_hash, row.connection, row.pass_stub, row.lh_ticket, row.external_ref, row.helper_id, row.helper_name,
    row.code_hash, row.code_expires_at)
  }

  get (id: string): Promise<InvitationRow | undefined> {
    return this.sql.get<InvitationRow>(`${SELECT} WHERE i.id = ?`, id)
  }

  /** Marks open invitations past their expiry as expired (lazily: whenever invitations are read). */
  /** The invitation a short code's keyed hash belongs to (an indexed lookup of the hash: the code itself is never stored). */
  async getByCodeHash (hash: string): Promise<InvitationRow | undefined> {
    return await this.sql.get<InvitationRow>(`${SELECT} WHERE i.code_hash = ?`, hash)
  }

  /** Whether an open invitation's time is up (a read: the sweep writes only when there is something to mark). */
  async anyDue (now: string): Promise<boolean> {
    // The earliest expiry of an open invitation, compared here: with no parameter, PostgreSQL always reads it from
    // the (state, expires_at) index. `… AND expires_at <= ? LIMIT 1` got a generic plan (a prepared statement's,
    // from its sixth run) that scanned the whole table once statistics existed, since it expected many rows due.
    const row = await this.sql.get<{ at: string | null }>('SELECT min(expires_at) AS at FROM invitations WHERE state = \'open\'')
    return row?.at != null && row.at <= now
  }

  /** Marks open invitations whose time is up as expired; returns their ids. Use `expireInvitations` (it also tells webhooks). */
  async expireDue (now: string): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>(
      'UPDATE invitations SET state = \'expired\', ended_at = expires_at WHERE state = \'open\' AND expires_at <= ? RETURNING id', now)
    return rows.map((r) => r.id)
  }

  /** Newest first. */
  async list (query: {
    limit: number
    cursor?: string | undefined
    noviceId?: string | undefined
    computerId?: string | undefined
    state?: string | undefined
    externalRef?: string | undefined
  }): Promise<PageOf<InvitationRow>> {
    const { where, args } = whereOf([
      ['i.novice_id = ?', query.noviceId], ['i.computer_id = ?', query.computerId], ['i.state = ?', query.state],
      ['i.external_ref = ?', query.externalRef],
      ['(i.created_at, i.id) < (?, ?)', decodeCursor(query.cursor, 2)]
    ])
    const rows = await this.sql.all<InvitationRow>(`${SELECT} ${where} ORDER BY i.created_at DESC, i.id DESC LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  /**
   * The single-use decision: only one caller can move an open, unexpired
   * invitation to redeemed. Returns null when this caller did not; otherwise
   * whether mail for it may still be waiting to go out (for `cancelFor`). On
   * PostgreSQL the same statement answers that, saving the read's round trip;
   * on SQLite, where `RETURNING` costs a materialization, null: the read says.
   */
  async redeem (id: string, expertId: string, now: string): Promise<{ mailWaiting: boolean | null } | null> {
    const sql = `UPDATE invitations SET state = 'redeemed', redeemed_at = ?, redeemed_by = ?, ended_at = ?
      WHERE id = ? AND state = 'open' AND expires_at > ?`
    if (this.sql.engine === 'postgres') {
      const row = await this.sql.get<{ mail_waiting: boolean }>(`${sql} RETURNING EXISTS (SELECT 1 ${WAITING_RECIPIENTS} AND d.invitation_id = invitations.id)
        AS mail_waiting`, now, expertId, now, id, now)
      return row === undefined ? null : { mailWaiting: row.mail_waiting }
    }
    return await this.sql.run(sql, now, expertId, now, id, now) === 1 ? { mailWaiting: null } : null
  }

  /** Counts a wrong password; the PASSWORD_ATTEMPTS-th locks the invitation. Returns the state after. */
  async recordPasswordFailure (id: string, now: string): Promise<InvitationRow['state'] | undefined> {
    await this.sql.run(`UPDATE invitations SET password_failures = password_failures + 1,
        state = CASE WHEN password_failures + 1 >= ${PASSWORD_ATTEMPTS} THEN 'locked' ELSE state END,
        locked_at = CASE WHEN password_failures + 1 >= ${PASSWORD_ATTEMPTS} THEN ? ELSE locked_at END
      WHERE id = ? AND state = 'open'`, now, id)
    return (await this.sql.get<{ state: InvitationRow['state'] }>('SELECT state FROM invitations WHERE id = ?', id))?.state
  }

  /** Open or locked → revoked. Returns whether it changed. */
  async revoke (id: string, now: string): Promise<boolean> {
    return await this.sql.run('UPDATE invitations SET state = \'revoked\', revoked_at = ?, ended_at = ? WHERE id = ? AND state IN (\'open\', \'locked\')',
      now, now, id) === 1
  }

  /** A redeemed invitation whose session is being ended by its novice → revoked. */
  async revokeRedeemed (id: string, now: string): Promise<boolean> {
    return await this.sql.run('UPDATE invitations SET state = \'revoked\', revoked_at = ? WHERE id = ? AND state = \'redeemed\'', now, id) === 1
  }

  /** Deletes up to `limit` invitations that ended without a session and expired before `before`; returns how many. */
  purge (before: string, limit: number): Promise<number> {
    return this.sql.run(`DELETE FROM invitations WHERE id IN (SELECT i.id FROM invitations i WHERE i.state <> 'redeemed' AND i.expires_at < ?
      AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.invitation_id = i.id) LIMIT ?)`, before, limit)
  }
}
