import { nowIso } from '../db/database.js'
import type { Sql, SqlValue } from '../db/storage.js'
import type { AuditEvent, AuditQueryType } from '../schemas/audit.js'
import { decodeCursor, pageOf, type PageOf, whereOf } from './paging.js'

export interface AuditRecord {
  actor: string
  actorTokenId?: string | null
  requestId?: string | null
  action: string
  target?: string | null
  outcome: 'success' | 'failure' | 'denied'
  /** Never a secret: callers pass names, ids, counts and reasons only. */
  details?: Record<string, unknown> | null
}

interface AuditRow {
  id: number
  occurred_at: string
  request_id: string | null
  actor: string
  actor_token_id: string | null
  action: string
  target: string | null
  outcome: AuditEvent['outcome']
  details: string | null
}

/** An audited event as recorded, handed to observers (metrics) once it has committed. */
export interface RecordedAudit extends AuditRecord {
  occurredAt: string
}

/** Observers of committed audit events: called after the commit, never for a unit that rolled back. */
export type AuditObservers = Set<(event: RecordedAudit) => void>

/** The columns of one event in `inserts`. */
const COLUMNS = 8

/** Rows a unit's queued audit events are written in, at most, per statement. */
const ROWS_PER_INSERT = 16

/** The INSERT of `n` audit events (one text per n: each is prepared once). */
const inserts = Array.from({ length: ROWS_PER_INSERT }, (_, i) =>
  'INSERT INTO audit_events (occurred_at, request_id, actor, actor_token_id, action, target, outcome, details) VALUES ' +
  Array.from({ length: i + 1 }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', '))

/** The append-only audit trail (the table's triggers refuse updates and deletes). */
export class AuditRepository {
  /** A unit of work's events, recorded and not yet written (see `flush`). */
  private queued: SqlValue[] = []

  constructor (
    private readonly sql: Sql,
    private readonly observers: AuditObservers = new Set(),
    /** The unit of work's afterCommit; absent on the storage's own repositories, whose writes commit at once. */
    private readonly afterCommit?: (fn: () => void) => void
  ) {}

  /**
   * Records an event: part of the unit of work it is called through, or, called
   * on the storage's repositories (a refusal recorded on its own), a unit of its
   * own. In a unit, the event is written with the unit's others when its work is
   * done (`Store.work` calls `flush`, before the commit): one statement for the
   * two or three events of a redemption or an offer, not one each.
   */
  async record (event: AuditRecord): Promise<void> {
    const occurredAt = nowIso()
    const values = [occurredAt, event.requestId ?? null, event.actor, event.actorTokenId ?? null, event.action,
      event.target ?? null, event.outcome, event.details ? JSON.stringify(event.details) : null]
    if (this.afterCommit) this.queued.push(...values)
    else await this.sql.run(inserts[0]!, ...values)
    if (this.observers.size === 0) return
    const recorded = { ...event, occurredAt }
    const tell = (): void => { for (const observe of this.observers) observe(recorded) }
    if (this.afterCommit) this.afterCommit(tell)
    else tell()
  }

  /**
   * Writes the events this unit recorded, in the order recorded (their ids follow it); on PostgreSQL with the
   * unit's other deferred inserts, just before its commit (`Sql.defer`).
   */
  async flush (): Promise<void> {
    while (this.queued.length > 0) {
      const values = this.queued.splice(0, ROWS_PER_INSERT * COLUMNS)
      await this.sql.defer(inserts[values.length / COLUMNS - 1]!, ...values)
    }
  }

  /** Newest first. */
  async list (query: AuditQueryType): Promise<PageOf<AuditEvent>> {
    const cursor = decodeCursor(query.cursor, 1)
    const { where, args } = whereOf([
      ['actor = ?', query.actor], ['action = ?', query.action], ['target = ?', query.target],
      ['outcome = ?', query.outcome],
      ['occurred_at >= ?', query.from && new Date(query.from).toISOString()],
      ['occurred_at < ?', query.to && new Date(query.to).toISOString()],
      ['id < ?', cursor && Number(cursor[0])]
    ])
    const rows = await this.sql.all<AuditRow>(`SELECT * FROM audit_events ${where} ORDER BY id DESC LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.id], (page) => page.map(toEvent))
  }
}

function toEvent (r: AuditRow): AuditEvent {
  return {
    id: r.id,
    occurredAt: r.occurred_at,
    requestId: r.request_id,
    actor: r.actor,
    actorTokenId: r.actor_token_id,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    details: r.details ? JSON.parse(r.details) as Record<string, unknown> : null
  }
}
