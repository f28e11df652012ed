import { newId } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import type { SessionStateName } from '../domain/session-machine.js'
import { decodeCursor, pageOf, type PageOf, whereOf } from './paging.js'

export interface SessionRow {
  id: string
  origin: 'invitation' | 'offer'
  invitation_id: string | null
  computer_id: string
  novice_id: string
  expert_id: string
  state: SessionStateName
  permitted_mode: 'view' | 'control'
  created_at: string
  updated_at: string
  accept_deadline: string
  accepted_at: string | null
  ended_at: string | null
  end_reason: string | null
  expert_token_id: string | null
  computer_name: string
  novice_name: string
  expert_name: string
  novice_display_name: string | null
  expert_display_name: string | null
}

export interface ControlRequestRow {
  id: string
  session_id: string
  state: 'pending' | 'granted' | 'denied' | 'expired' | 'cancelled'
  requested_at: string
  deadline: string
  answered_at: string | null
  reason: string | null
}

/** At most this many distinct security entries in a session's view. */
export const SECURITY_SUMMARY_LIMIT = 20

export interface SecuritySummaryRow {
  type: string
  data: string | null
  count: number
  first_at: string
  last_at: string
}

/** Who and what a new session is about (its times are set when it is stored). */
export interface NewSession {
  origin: SessionRow['origin']
  invitationId: string | null
  computerId: string
  noviceId: string
  expertId: string
  permittedMode: SessionRow['permitted_mode']
  expertTokenId: string | null
}

export interface SessionEventRow {
  id: number
  session_id: string
  occurred_at: string
  type: string
  actor: string
  data: string | null
}

const SELECT = `SELECT s.*, cd.name || '\\' || c.name AS computer_name,
    nd.name || '\\' || n.name AS novice_name, n.display_name AS novice_display_name,
    ed.name || '\\' || e.name AS expert_name, e.display_name AS expert_display_name
  FROM sessions s
  JOIN computers c ON c.id = s.computer_id JOIN domains cd ON cd.id = c.domain_id
  JOIN accounts n ON n.id = s.novice_id JOIN domains nd ON nd.id = n.domain_id
  JOIN accounts e ON e.id = s.expert_id JOIN domains ed ON ed.id = e.domain_id`

const LIVE = '(\'awaiting-novice\', \'active\', \'control-requested\', \'in-control\')'

export class SessionsRepository {
  constructor (private readonly db: Db) {}

  /** A new session awaiting the novice (C1). */
  insert (f: NewSession & { createdAt: string, acceptDeadline: string }): string {
    const id = newId()
    const now = f.createdAt
    this.db.prepare(`INSERT INTO sessions (id, origin, invitation_id, computer_id, novice_id, expert_id, state, permitted_mode, created_at, updated_at,
        accept_deadline, expert_token_id)
      VALUES (?, ?, ?, ?, ?, ?, 'awaiting-novice', ?, ?, ?, ?, ?)`).run(
      id, f.origin, f.invitationId, f.computerId, f.noviceId, f.expertId, f.permittedMode, now, now, f.acceptDeadline, f.expertTokenId)
    return id
  }

  get (id: string): SessionRow | undefined {
    return this.db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as SessionRow | undefined
  }

  idForInvitation (invitationId: string): string | undefined {
    return (this.db.prepare('SELECT id FROM sessions WHERE invitation_id = ?').get(invitationId) as { id: string } | undefined)?.id
  }

  /** Newest first; `accountId` limits to sessions where it is the novice or the expert. */
  list (query: { limit: number, cursor?: string | undefined, accountId?: string | undefined, state?: string | undefined }): PageOf<SessionRow> {
    const { where, args } = whereOf([
      ['(s.novice_id = ? OR s.expert_id = ?)', query.accountId === undefined ? undefined : [query.accountId, query.accountId]],
      ['s.state = ?', query.state],
      ['(s.created_at, s.id) < (?, ?)', decodeCursor(query.cursor, 2)]
    ])
    const rows = this.db.prepare(`${SELECT} ${where} ORDER BY s.created_at DESC, s.id DESC LIMIT ?`)
      .all(...args, query.limit + 1) as SessionRow[]
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  setState (id: string, state: SessionStateName, fields: { acceptedAt?: string, endedAt?: string, endReason?: string } = {}): void {
    this.db.prepare(`UPDATE sessions SET state = ?, updated_at = ?, accepted_at = coalesce(?, accepted_at), ended_at = coalesce(?, ended_at),
      end_reason = coalesce(?, end_reason) WHERE id = ?`).run(state, nowIso(), fields.acceptedAt ?? null, fields.endedAt ?? null, fields.endReason ?? null, id)
  }

  pendingRequest (sessionId: string): ControlRequestRow | undefined {
    return this.db.prepare('SELECT * FROM control_requests WHERE session_id = ? AND state = \'pending\'').get(sessionId) as ControlRequestRow | undefined
  }

  insertRequest (sessionId: string, deadline: string): string {
    const id = newId()
    this.db.prepare('INSERT INTO control_requests (id, session_id, state, requested_at, deadline) VALUES (?, ?, \'pending\', ?, ?)')
      .run(id, sessionId, nowIso(), deadline)
    return id
  }

  answerRequest (id: string, state: Exclude<ControlRequestRow['state'], 'pending'>, reason: string | null): void {
    this.db.prepare('UPDATE control_requests SET state = ?, answered_at = ?, reason = ? WHERE id = ? AND state = \'pending\'').run(state, nowIso(), reason, id)
  }

  request (id: string): ControlRequestRow | undefined {
    return this.db.prepare('SELECT * FROM control_requests WHERE id = ?').get(id) as ControlRequestRow | undefined
  }

  /** Sessions whose novice did not answer in time, and control requests past their deadline. */
  due (now: string): { sessions: string[], requests: Array<{ id: string, session_id: string }> } {
    return {
      sessions: (this.db.prepare('SELECT id FROM sessions WHERE state = \'awaiting-novice\' AND accept_deadline <= ?')
        .all(now) as Array<{ id: string }>).map((r) => r.id),
      requests: this.db.prepare('SELECT id, session_id FROM control_requests WHERE state = \'pending\' AND deadline <= ?')
        .all(now) as Array<{ id: string, session_id: string }>
    }
  }

  /** Live sessions, optionally only those touching an account, a token or an invitation. */
  live (filter: { accountId?: string, tokenId?: string, invitationId?: string } = {}): SessionRow[] {
    const { where, args } = whereOf([
      [`s.state IN ${LIVE}`, []],
      ['(s.novice_id = ? OR s.expert_id = ?)', filter.accountId === undefined ? undefined : [filter.accountId, filter.accountId]],
      ['s.expert_token_id = ?', filter.tokenId],
      ['s.invitation_id = ?', filter.invitationId]
    ])
    return this.db.prepare(`${SELECT} ${where}`).all(...args) as SessionRow[]
  }

  /** Appends an event; a security event is also counted in the session's summary (call inside a transaction). */
  appendEvent (sessionId: string, type: string, actor: string, data: Record<string, unknown> | null): number {
    const at = nowIso()
    const json = data ? JSON.stringify(data) : null
    const id = Number(this.db.prepare('INSERT INTO session_events (session_id, occurred_at, type, actor, data) VALUES (?, ?, ?, ?, ?)')
      .run(sessionId, at, type, actor, json).lastInsertRowid)
    if (type.startsWith('security.')) {
      this.db.prepare(`INSERT INTO session_security_summary (session_id, type, data, count, first_at, last_at, last_id)
        VALUES (?, ?, ?, 1, ?, ?, ?)
        ON CONFLICT (session_id, type, data) DO UPDATE SET count = count + 1, last_at = excluded.last_at, last_id = excluded.last_id`)
        .run(sessionId, type, json ?? '', at, at, id)
    }
    return id
  }

  events (sessionId: string, afterId: number, limit = 1000): SessionEventRow[] {
    return this.db.prepare('SELECT * FROM session_events WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?')
      .all(sessionId, afterId, limit) as SessionEventRow[]
  }

  /**
   * The session's security events with repeats collapsed: one entry per kind
   * and details, with how often and when first and last; the `limit` most
   * recent entries, oldest first. The full history stays in the events.
   */
  securitySummary (sessionId: string, limit = SECURITY_SUMMARY_LIMIT): SecuritySummaryRow[] {
    const rows = this.db.prepare(`SELECT type, data, count, first_at, last_at FROM session_security_summary
      WHERE session_id = ? ORDER BY last_id DESC LIMIT ?`).all(sessionId, limit) as SecuritySummaryRow[]
    return rows.reverse().map((r) => ({ ...r, data: r.data === '' ? null : r.data }))
  }

  /** Offers awaiting the novice of a computer, and when the first of them stops waiting. */
  pendingOffers (computerId: string): { count: number, firstDeadline: string | null } {
    return this.db.prepare(`SELECT count(*) AS count, min(accept_deadline) AS firstDeadline FROM sessions
      WHERE computer_id = ? AND origin = 'offer' AND state = 'awaiting-novice'`).get(computerId) as { count: number, firstDeadline: string | null }
  }

  /** Offers an expert made since `since`, and the oldest of them. */
  offersSince (expertId: string, since: string): { count: number, oldest: string | null } {
    return this.db.prepare(`SELECT count(*) AS count, min(created_at) AS oldest FROM sessions
      WHERE expert_id = ? AND origin = 'offer' AND created_at > ?`).get(expertId, since) as { count: number, oldest: string | null }
  }

  /** Whether an account is referenced by any session (it then cannot be deleted). */
  references (accountId: string): boolean {
    return this.db.prepare('SELECT 1 FROM sessions WHERE novice_id = ? OR expert_id = ? LIMIT 1').get(accountId, accountId) !== undefined
  }
}
