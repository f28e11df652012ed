import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Sql } from '../db/storage.js'
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
  external_ref: string | null
  bound_helper: string | null
  /** Wrong verification codes typed so far. */
  code_mismatches: number
  /** 1 when this expert had never helped this novice (no accepted session) before this session was opened. */
  first_time_helper: number
  /** While in control: when the granted time is up, and when to announce it (null once announced). */
  control_until: string | null
  control_warn_at: string | null
  more_time_requested_at: string | null
  computer_name: string
  novice_name: string
  expert_name: string
  novice_display_name: string | null
  expert_display_name: string | null
  /**
   * Read by `get` alone (in the same statement): 1 when the session has a pending control request, 1 when it has
   * security events; 0 lets a view skip the read of each (most sessions have neither).
   */
  has_pending_request?: number
  has_security_events?: number
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
  externalRef: string | null
  /** The helper the invitation was bound to, when it was (BOUND_HELPER). */
  boundHelper?: string | null
  /** The parties and the computer as the directory names them (the caller has them already; the row carries them). */
  names: { computer: string, novice: string, expert: string }
}

/** A novice's report that the expert is not who they expected (issue 19). */
export interface SecurityReportRow {
  id: string
  session_id: string
  words: string
  created_at: string
  computer_name: string
  novice_name: string
  expert_name: string
  expert_display_name: string | null
}

/** One link of a session's consent chain, as stored. */
export interface ConsentLinkRow { seq: number, entry: string, hash: string }

export interface SessionEventRow {
  id: number
  session_id: string
  occurred_at: string
  type: string
  actor: string
  data: string | null
}

const COLUMNS = `s.*, cd.name || '\\' || c.name AS computer_name,
    nd.name || '\\' || n.name AS novice_name, n.display_name AS novice_display_name,
    ed.name || '\\' || e.name AS expert_name, e.display_name AS expert_display_name`
const FROM = `FROM sessions s
  JOIN computers c ON c.id = s.computer_id JOIN domains cd ON cd.id = c.domain_id
  JOIN accounts n ON n.id = s.novice_id JOIN domains nd ON nd.id = n.domain_id
  JOIN accounts e ON e.id = s.expert_id JOIN domains ed ON ed.id = e.domain_id`
const SELECT = `SELECT ${COLUMNS}
  ${FROM}`

/** The two flags of `get` (each an index probe; test/postgres/query-plans.test.ts holds the plan to that). */
const FLAGS = `CASE WHEN EXISTS (SELECT 1 FROM control_requests r WHERE r.session_id = s.id AND r.state = 'pending') THEN 1 ELSE 0 END
      AS has_pending_request,
    CASE WHEN EXISTS (SELECT 1 FROM session_security_summary x WHERE x.session_id = s.id) THEN 1 ELSE 0 END AS has_security_events`

const SELECT_ONE = `SELECT ${COLUMNS}, ${FLAGS} ${FROM} WHERE s.id = ?`

/**
 * The earliest deadline of any session (see `anyDue`): the first entry of one index per kind of deadline. No
 * parameter, so no generic plan that scans.
 */
const EARLIEST_DEADLINE = `(SELECT min(at) FROM (
    SELECT min(accept_deadline) AS at FROM sessions WHERE state = 'awaiting-novice'
    UNION ALL SELECT min(deadline) FROM control_requests WHERE state = 'pending'
    UNION ALL SELECT min(control_until) FROM sessions WHERE control_until IS NOT NULL
    UNION ALL SELECT min(control_warn_at) FROM sessions WHERE control_warn_at IS NOT NULL
  ) AS deadlines)`

const SELECT_ONE_AND_EARLIEST_DEADLINE = `SELECT ${COLUMNS}, ${FLAGS}, ${EARLIEST_DEADLINE} AS earliest_deadline ${FROM} WHERE s.id = ?`

/** 1 when this expert (first `?`) has never helped this novice (second `?`): no session between them that the novice accepted. */
const FIRST_TIME_HELPER = 'CASE WHEN EXISTS (SELECT 1 FROM sessions WHERE expert_id = ? AND novice_id = ? AND accepted_at IS NOT NULL) THEN 0 ELSE 1 END'

const LIVE = '(\'awaiting-novice\', \'active\', \'control-requested\', \'in-control\')'

export class SessionsRepository {
  constructor (private readonly sql: Sql) {}

  /**
   * Opens a session (C1) awaiting its novice and returns its row as stored, built
   * from what was written. Whether this expert has helped this novice before (a
   * session between them that the novice accepted) is decided with the insert;
   * the parties' display names come with it (the new session is not accepted,
   * so it never counts for itself).
   *
   * PostgreSQL: one statement, whose RETURNING brings the rest (one round trip).
   * SQLite: a read, then a plain INSERT: there, RETURNING and a subquery in
   * VALUES cost a materialization each (measured: 41–55 µs for the one
   * statement, 19 µs for the two). Call it inside a unit of work, so that the
   * read and the insert see the same state.
   */
  async insert (f: NewSession & { createdAt: string, acceptDeadline: string }): Promise<SessionRow> {
    const id = newId()
    const now = f.createdAt
    const columns = `INSERT INTO sessions (id, origin, invitation_id, computer_id, novice_id, expert_id, state, permitted_mode, created_at, updated_at,
        accept_deadline, expert_token_id, external_ref, bound_helper, first_time_helper)`
    const values = [id, f.origin, f.invitationId, f.computerId, f.noviceId, f.expertId, f.permittedMode, now, now, f.acceptDeadline,
      f.expertTokenId, f.externalRef, f.boundHelper ?? null]
    let known: { first_time_helper: number, novice_display_name: string | null, expert_display_name: string | null }
    if (this.sql.engine === 'postgres') {
      known = (await this.sql.get<typeof known>(`${columns}
        VALUES (?, ?, ?, ?, ?, ?, 'awaiting-novice', ?, ?, ?, ?, ?, ?, ?,
          ${FIRST_TIME_HELPER})
        RETURNING first_time_helper, (SELECT display_name FROM accounts WHERE accounts.id = sessions.novice_id) AS novice_display_name,
          (SELECT display_name FROM accounts WHERE accounts.id = sessions.expert_id) AS expert_display_name`,
      ...values, f.expertId, f.noviceId))!
    } else {
      known = (await this.sql.get<typeof known>(`SELECT
          ${FIRST_TIME_HELPER} AS first_time_helper,
          (SELECT display_name FROM accounts WHERE id = ?) AS novice_display_name,
          (SELECT display_name FROM accounts WHERE id = ?) AS expert_display_name`, f.expertId, f.noviceId, f.noviceId, f.expertId))!
      await this.sql.run(`${columns} VALUES (?, ?, ?, ?, ?, ?, 'awaiting-novice', ?, ?, ?, ?, ?, ?, ?, ?)`, ...values, known.first_time_helper)
    }
    return {
      id,
      origin: f.origin,
      invitation_id: f.invitationId,
      computer_id: f.computerId,
      novice_id: f.noviceId,
      expert_id: f.expertId,
      state: 'awaiting-novice',
      permitted_mode: f.permittedMode,
      created_at: now,
      updated_at: now,
      accept_deadline: f.acceptDeadline,
      accepted_at: null,
      ended_at: null,
      end_reason: null,
      expert_token_id: f.expertTokenId,
      external_ref: f.externalRef,
      bound_helper: f.boundHelper ?? null,
      code_mismatches: 0,
      first_time_helper: known.first_time_helper,
      control_until: null,
      control_warn_at: null,
      more_time_requested_at: null,
      computer_name: f.names.computer,
      novice_name: f.names.novice,
      expert_name: f.names.expert,
      novice_display_name: known.novice_display_name,
      expert_display_name: known.expert_display_name
    }
  }

  /**
   * Locks the session's row until the unit of work ends, so that commands on
   * one session run one after another: call it first in the unit, then read
   * the session through the unit. On PostgreSQL, SELECT … FOR UPDATE; on
   * SQLite nothing (units of work run one at a time).
   */
  async lock (id: string): Promise<void> {
    if (this.sql.engine === 'postgres') await this.sql.get('SELECT id FROM sessions WHERE id = ? FOR UPDATE', id)
  }

  /** The session, and whether it has a pending control request and security events (see SessionRow). */
  get (id: string): Promise<SessionRow | undefined> {
    return this.sql.get<SessionRow>(SELECT_ONE, id)
  }

  /**
   * `get`, and in the same statement the earliest deadline of any session (`anyDue`'s question, for the API's
   * read of one session: one statement instead of two, one round trip on PostgreSQL instead of two).
   */
  getAndEarliestDeadline (id: string): Promise<(SessionRow & { earliest_deadline: string | null }) | undefined> {
    return this.sql.get(SELECT_ONE_AND_EARLIEST_DEADLINE, id)
  }

  async idForInvitation (invitationId: string): Promise<string | undefined> {
    return (await this.sql.get<{ id: string }>('SELECT id FROM sessions WHERE invitation_id = ?', invitationId))?.id
  }

  /** Newest first; `accountId` limits to sessions where it is the novice or the expert. */
  async list (query: {
    limit: number, cursor?: string | undefined, accountId?: string | undefined, state?: string | undefined, externalRef?: string | undefined
  }): Promise<PageOf<SessionRow>> {
    const { where, args } = whereOf([
      ['(s.novice_id = ? OR s.expert_id = ?)', query.accountId === undefined ? undefined : [query.accountId, query.accountId]],
      ['s.state = ?', query.state],
      ['s.external_ref = ?', query.externalRef],
      ['(s.created_at, s.id) < (?, ?)', decodeCursor(query.cursor, 2)]
    ])
    const rows = await this.sql.all<SessionRow>(`${SELECT} ${where} ORDER BY s.created_at DESC, s.id DESC LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  /** A state other than in-control also clears the control's time. */
  async setState (id: string, state: SessionStateName, fields: { acceptedAt?: string, endedAt?: string, endReason?: string } = {}): Promise<void> {
    const inControl = state === 'in-control'
    await this.sql.run(`UPDATE sessions SET state = ?, updated_at = ?, accepted_at = coalesce(?, accepted_at), ended_at = coalesce(?, ended_at),
      end_reason = coalesce(?, end_reason)${inControl ? '' : ', control_until = NULL, control_warn_at = NULL, more_time_requested_at = NULL'}
      WHERE id = ?`, state, nowIso(), fields.acceptedAt ?? null, fields.endedAt ?? null, fields.endReason ?? null, id)
  }

  /** Control lasts until `until`; its end is announced at `warnAt` (a renewal clears the expert's ask for more time). */
  async setControlTime (id: string, until: string, warnAt: string): Promise<void> {
    await this.sql.run('UPDATE sessions SET control_until = ?, control_warn_at = ?, more_time_requested_at = NULL, updated_at = ? WHERE id = ?',
      until, warnAt, nowIso(), id)
  }

  /** The end of control has been announced. */
  async controlWarned (id: string): Promise<void> {
    await this.sql.run('UPDATE sessions SET control_warn_at = NULL WHERE id = ?', id)
  }

  async moreTimeRequested (id: string, at: string): Promise<void> {
    await this.sql.run('UPDATE sessions SET more_time_requested_at = ?, updated_at = ? WHERE id = ?', at, at, id)
  }

  /** Counts one more wrong verification code; returns how many there have been. */
  async codeMismatch (id: string): Promise<number> {
    return (await this.sql.get<{ n: number }>('UPDATE sessions SET code_mismatches = code_mismatches + 1 WHERE id = ? RETURNING code_mismatches AS n', id))!.n
  }

  /** The last link of the session's consent chain (call with the session locked). */
  lastConsentLink (sessionId: string): Promise<{ seq: number, hash: string } | undefined> {
    return this.sql.get<{ seq: number, hash: string }>('SELECT seq, hash FROM consent_chain WHERE session_id = ? ORDER BY seq DESC LIMIT 1', sessionId)
  }

  /** Sent with the unit's other deferred inserts (`Sql.defer`): nothing reads the chain back in the unit that extends it but the next link's read. */
  async appendConsentLink (sessionId: string, link: ConsentLinkRow): Promise<void> {
    await this.sql.defer('INSERT INTO consent_chain (session_id, seq, entry, hash) VALUES (?, ?, ?, ?)', sessionId, link.seq, link.entry, link.hash)
  }

  consentChain (sessionId: string): Promise<ConsentLinkRow[]> {
    return this.sql.all<ConsentLinkRow>('SELECT seq, entry, hash FROM consent_chain WHERE session_id = ? ORDER BY seq', sessionId)
  }

  async insertReport (f: { sessionId: string, noviceId: string, expertId: string, words: string }): Promise<string> {
    const id = newId()
    await this.sql.run('INSERT INTO security_reports (id, session_id, novice_id, expert_id, words, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      id, f.sessionId, f.noviceId, f.expertId, f.words, nowIso())
    return id
  }

  /** Reports, newest first. */
  async reports (query: { limit: number, cursor?: string | undefined }): Promise<PageOf<SecurityReportRow>> {
    const { where, args } = whereOf([['(r.created_at, r.id) < (?, ?)', decodeCursor(query.cursor, 2)]])
    const rows = await this.sql.all<SecurityReportRow>(`SELECT r.id, r.session_id, r.words, r.created_at, cd.name || '\\' || c.name AS computer_name,
        nd.name || '\\' || n.name AS novice_name, ed.name || '\\' || e.name AS expert_name, e.display_name AS expert_display_name
      FROM security_reports r JOIN sessions s ON s.id = r.session_id
      JOIN computers c ON c.id = s.computer_id JOIN domains cd ON cd.id = c.domain_id
      JOIN accounts n ON n.id = r.novice_id JOIN domains nd ON nd.id = n.domain_id
      JOIN accounts e ON e.id = r.expert_id JOIN domains ed ON ed.id = e.domain_id
      ${where} ORDER BY r.created_at DESC, r.id DESC LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }

  pendingRequest (sessionId: string): Promise<ControlRequestRow | undefined> {
    return this.sql.get<ControlRequestRow>('SELECT * FROM control_requests WHERE session_id = ? AND state = \'pending\'', sessionId)
  }

  async insertRequest (sessionId: string, deadline: string): Promise<string> {
    const id = newId()
    await this.sql.run('INSERT INTO control_requests (id, session_id, state, requested_at, deadline) VALUES (?, ?, \'pending\', ?, ?)',
      id, sessionId, nowIso(), deadline)
    return id
  }

  async answerRequest (id: string, state: Exclude<ControlRequestRow['state'], 'pending'>, reason: string | null): Promise<void> {
    await this.sql.run('UPDATE control_requests SET state = ?, answered_at = ?, reason = ? WHERE id = ? AND state = \'pending\'', state, nowIso(), reason, id)
  }

  request (id: string): Promise<ControlRequestRow | undefined> {
    return this.sql.get<ControlRequestRow>('SELECT * FROM control_requests WHERE id = ?', id)
  }

  /**
   * Whether anything `due` finds is due at `now`: one statement, reading the earliest deadline of each kind from
   * the first entry of its index, compared here (as the invitations' `anyDue`: no parameter, so no generic plan
   * that scans). Each read of a session, and the sweep, ask it first: four reads were two fifths of a session
   * read's statements (four of ten round trips on PostgreSQL). Control's times are set only in control (`setState`
   * clears them on leaving it), so their partial indexes' first entries are in-control sessions'; `due`, which
   * decides, checks the state again.
   */
  async anyDue (now: string): Promise<boolean> {
    return isDue((await this.sql.get<{ at: string | null }>(`SELECT ${EARLIEST_DEADLINE} AS at`))?.at ?? null, now)
  }

  /**
   * Sessions whose novice did not answer in time, control requests past their deadline, and sessions in control
   * whose granted time is up (`controlExpired`) or whose end is to be announced (`controlExpiring`).
   */
  async due (now: string): Promise<{
    sessions: string[]
    requests: Array<{ id: string, session_id: string }>
    controlExpiring: string[]
    controlExpired: string[]
  }> {
    const ids = async (sql: string): Promise<string[]> => (await this.sql.all<{ id: string }>(sql, now)).map((r) => r.id)
    return {
      sessions: await ids('SELECT id FROM sessions WHERE state = \'awaiting-novice\' AND accept_deadline <= ?'),
      requests: await this.sql.all<{ id: string, session_id: string }>(
        'SELECT id, session_id FROM control_requests WHERE state = \'pending\' AND deadline <= ?', now),
      controlExpired: await ids('SELECT id FROM sessions WHERE control_until <= ? AND state = \'in-control\''),
      controlExpiring: await ids('SELECT id FROM sessions WHERE control_warn_at <= ? AND state = \'in-control\'')
    }
  }

  /** Live sessions, optionally only those touching an account, a token or an invitation. */
  live (filter: { accountId?: string, tokenId?: string, invitationId?: string } = {}): Promise<SessionRow[]> {
    const { where, args } = whereOf([
      [`s.state IN ${LIVE}`, []],
      ['(s.novice_id = ? OR s.expert_id = ?)', filter.accountId === undefined ? undefined : [filter.accountId, filter.accountId]],
      ['s.expert_token_id = ?', filter.tokenId],
      ['s.invitation_id = ?', filter.invitationId]
    ])
    return this.sql.all<SessionRow>(`${SELECT} ${where}`, ...args)
  }

  /**
   * Appends an event (call inside a unit of work): sent with the unit's other deferred inserts (`Sql.defer`); a
   * security event at once, as the session's summary counts it under its id.
   */
  async appendEvent (sessionId: string, type: string, actor: string, data: Record<string, unknown> | null, at = nowIso()): Promise<void> {
    const json = data ? JSON.stringify(data) : null
    const insert = 'INSERT INTO session_events (session_id, occurred_at, type, actor, data) VALUES (?, ?, ?, ?, ?)'
    if (!type.startsWith('security.')) return await this.sql.defer(insert, sessionId, at, type, actor, json)
    const id = await this.sql.insert(insert, sessionId, at, type, actor, json)
    await this.sql.run(`INSERT INTO session_security_summary (session_id, type, data, count, first_at, last_at, last_id)
      VALUES (?, ?, ?, 1, ?, ?, ?)
      ON CONFLICT (session_id, type, data) DO UPDATE SET count = session_security_summary.count + 1, last_at = excluded.last_at,
        last_id = excluded.last_id`,
    sessionId, type, json ?? '', at, at, id)
  }

  events (sessionId: string, afterId: number, limit = 1000): Promise<SessionEventRow[]> {
    return this.sql.all<SessionEventRow>('SELECT * FROM session_events WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?', sessionId, afterId, limit)
  }

  /**
   * The session's security events with repeats collapsed: one entry per kind
   * and details, with how often and when first and last; the `limit` most
   * recent entries, oldest first. The full history stays in the events.
   */
  async securitySummary (sessionId: string, limit = SECURITY_SUMMARY_LIMIT): Promise<SecuritySummaryRow[]> {
    const rows = await this.sql.all<SecuritySummaryRow>(`SELECT type, data, count, first_at, last_at FROM session_security_summary
      WHERE session_id = ? ORDER BY last_id DESC LIMIT ?`, sessionId, limit)
    return rows.reverse().map((r) => ({ ...r, data: r.data === '' ? null : r.data }))
  }

  /** Offers awaiting the novice of a computer, and when the first of them stops waiting. */
  async pendingOffers (computerId: string): Promise<{ count: number, firstDeadline: string | null }> {
    // The alias is quoted: PostgreSQL folds unquoted ones to lower case.
    return (await this.sql.get<{ count: number, firstDeadline: string | null }>(`SELECT count(*) AS count, min(accept_deadline) AS "firstDeadline"
      FROM sessions WHERE computer_id = ? AND origin = 'offer' AND state = 'awaiting-novice'`, computerId))!
  }

  /** Offers an expert made since `since`, and the oldest of them. */
  async offersSince (expertId: string, since: string): Promise<{ count: number, oldest: string | null }> {
    return (await this.sql.get<{ count: number, oldest: string | null }>(`SELECT count(*) AS count, min(created_at) AS oldest FROM sessions
      WHERE expert_id = ? AND origin = 'offer' AND created_at > ?`, expertId, since))!
  }

  /** Whether an account is referenced by any session (it then cannot be deleted). */
  async references (accountId: string): Promise<boolean> {
    return await this.sql.get('SELECT 1 FROM sessions WHERE novice_id = ? OR expert_id = ? LIMIT 1', accountId, accountId) !== undefined
  }
}

/** Whether the earliest deadline (`anyDue`, `getAndEarliestDeadline`) has come by `now`. */
export function isDue (earliestDeadline: string | null, now: string): boolean {
  return earliestDeadline !== null && earliestDeadline <= now
}
