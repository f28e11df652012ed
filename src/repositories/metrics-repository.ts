import type { Sql } from '../db/storage.js'

/** The two outboxes: invitation e-mail (per recipient) and webhook deliveries. */
export const OUTBOXES = ['email', 'webhook'] as const
export type Outbox = (typeof OUTBOXES)[number]

/**
 * The states that are still in an outbox (waiting, being sent, waiting to retry)
 * and `failed` (given up on, for an operator to look at). Sent, delivered and
 * cancelled rows are history: counting them would cost a scan of the whole
 * history at every scrape.
 */
export const OUTBOX_STATES = ['queued', 'sending', 'retrying', 'failed'] as const
export type OutboxState = (typeof OUTBOX_STATES)[number]

const TABLES: Record<Outbox, string> = { email: 'delivery_recipients', webhook: 'webhook_deliveries' }
const STATES = OUTBOX_STATES.map((s) => `'${s}'`).join(', ')
const PENDING = "'queued', 'sending', 'retrying'"

/** What /metrics reads from the database at scrape time; each query reads an index range, never the history. */
export class MetricsRepository {
  constructor (private readonly sql: Sql) {}

  /** Rows per state in `outbox`, for the states in OUTBOX_STATES (a state with none is absent). */
  async outboxDepth (outbox: Outbox): Promise<Array<{ state: OutboxState, n: number }>> {
    return this.sql.all(`SELECT state, count(*) AS n FROM ${TABLES[outbox]} WHERE state IN (${STATES}) GROUP BY state`)
  }

  /** When the oldest delivery still waiting in `outbox` (queued, sending or retrying) was queued; undefined when none waits. */
  async oldestPending (outbox: Outbox): Promise<string | undefined> {
    const row = outbox === 'email'
      ? await this.sql.get<{ at: string | null }>(`SELECT min(d.created_at) AS at FROM delivery_recipients r
          JOIN deliveries d ON d.id = r.delivery_id WHERE r.state IN (${PENDING})`)
      : await this.sql.get<{ at: string | null }>(`SELECT min(created_at) AS at FROM webhook_deliveries WHERE state IN (${PENDING})`)
    return row?.at ?? undefined
  }

  /** The database's size in bytes: SQLite's pages in use (WAL included), PostgreSQL's database on disk. */
  async databaseBytes (): Promise<number> {
    const row = this.sql.engine === 'postgres'
      ? await this.sql.get<{ bytes: number }>('SELECT pg_database_size(current_database()) AS bytes')
      : await this.sql.get<{ bytes: number }>(`SELECT (SELECT page_count FROM pragma_page_count()) *
          (SELECT page_size FROM pragma_page_size()) AS bytes`)
    return Number(row?.bytes ?? 0)
  }
}
