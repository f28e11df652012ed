import type { Sql } from '../db/storage.js'
import { placeholders } from './paging.js'

/** A limit window's state after a hit, or as it stands. */
export interface LimitWindow {
  count: number
  /** When the window ends (ms since 1970). */
  resetAt: number
}

/**
 * Fixed-window counters in the database, shared by every process on it. One
 * statement counts a hit, starting a new window when the old one has ended,
 * so concurrent hits from several processes are each counted once.
 */
export class LimitsRepository {
  constructor (private readonly sql: Sql) {}

  /**
   * Counts `n` hits on each key, in one statement, and returns the window of each as it stands after them, in order:
   * the hits of a key land in its window, or start a new one when it has ended. The statement writes and returns rows
   * (RETURNING), so it runs through `Sql.all`: inside a unit of work, or on a storage whose `all` runs a changing
   * statement as a unit of its own.
   */
  async hit (hits: ReadonlyArray<readonly [key: string, n: number]>, windowMs: number, now = Date.now()): Promise<LimitWindow[]> {
    // PostgreSQL locks the rows in the order of the values: in one order for every process, or two processes whose
    // turns met the same keys in different orders deadlock, and one of them fails its requests (test/postgres/locks).
    const ordered = hits.toSorted(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    const values = ordered.map(() => '(?, ?, ?)').join(', ')
    const rows = await this.sql.all<{ key: string, count: number, window_start: number }>(`INSERT INTO limit_windows (key, window_start, count)
      VALUES ${values}
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN limit_windows.window_start <= excluded.window_start - ? THEN excluded.count ELSE limit_windows.count + excluded.count END,
        window_start = CASE WHEN limit_windows.window_start <= excluded.window_start - ? THEN excluded.window_start
          ELSE limit_windows.window_start END
      RETURNING key, count, window_start`, ...ordered.flatMap(([key, n]) => [key, now, n]), windowMs, windowMs)
    const byKey = new Map(rows.map((r) => [r.key, r]))
    return hits.map(([key]) => {
      const row = byKey.get(key)!
      return { count: Number(row.count), resetAt: Number(row.window_start) + windowMs }
    })
  }

  /** The windows of `keys` as they stand, without a hit (a window that has ended counts 0), in order. */
  async peek (keys: readonly string[], windowMs: number, now = Date.now()): Promise<LimitWindow[]> {
    const rows = await this.sql.all<{ key: string, count: number, window_start: number }>(
      `SELECT key, count, window_start FROM limit_windows WHERE key IN (${placeholders(keys.length)})`, ...keys)
    const byKey = new Map(rows.map((r) => [r.key, r]))
    return keys.map((key) => {
      const row = byKey.get(key)
      return row === undefined || Number(row.window_start) + windowMs <= now
        ? { count: 0, resetAt: now + windowMs }
        : { count: row.count, resetAt: Number(row.window_start) + windowMs }
    })
  }

  /** Removes up to `limit` windows that started before `before` (ms since 1970); returns how many. */
  purge (before: number, limit: number): Promise<number> {
    return this.sql.run('DELETE FROM limit_windows WHERE key IN (SELECT key FROM limit_windows WHERE window_start < ? LIMIT ?)', before, limit)
  }
}
