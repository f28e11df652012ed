import type { Db } from '../db/database.js'

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
  constructor (private readonly db: Db) {}

  /** Counts one hit on `key` and returns the window it landed in. */
  hit (key: string, windowMs: number, now = Date.now()): LimitWindow {
    const row = this.db.prepare(`INSERT INTO limit_windows (key, window_start, count) VALUES (?, ?, 1)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN limit_windows.window_start <= excluded.window_start - ? THEN 1 ELSE limit_windows.count + 1 END,
        window_start = CASE WHEN limit_windows.window_start <= excluded.window_start - ? THEN excluded.window_start
          ELSE limit_windows.window_start END
      RETURNING count, window_start`).get(key, now, windowMs, windowMs) as { count: number, window_start: number }
    return { count: row.count, resetAt: row.window_start + windowMs }
  }

  /** The window `key` is in now, without counting (count 0 when there is none). */
  peek (key: string, windowMs: number, now = Date.now()): LimitWindow {
    const row = this.db.prepare('SELECT count, window_start FROM limit_windows WHERE key = ? AND window_start > ?')
      .get(key, now - windowMs) as { count: number, window_start: number } | undefined
    return row ? { count: row.count, resetAt: row.window_start + windowMs } : { count: 0, resetAt: now }
  }

  /** Removes windows that started before `before` (ms since 1970). */
  purge (before: number): number {
    return this.db.prepare('DELETE FROM limit_windows WHERE window_start < ?').run(before).changes
  }
}
