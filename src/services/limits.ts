import type { Store } from '../repositories/index.js'

/**
 * A budget of attempts per key and minute, kept in the database so that it
 * holds across every process of the service (several instances, the CLI).
 * `take` counts an attempt; `takeEach` counts one attempt against several
 * budgets in one statement.
 */
export class SharedLimit {
  constructor (
    private readonly store: Store,
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs = 60_000
  ) {}

  /** Counts an attempt; resolves to the seconds to wait when it is over the budget (0 when within). */
  async take (key: string, now = Date.now()): Promise<number> {
    return (await SharedLimit.takeEach([[this, key]], now))[0]!
  }

  /**
   * Counts one attempt against each limit (all with the same window) in one statement, a unit of work of
   * its own: run straight through the storage (PostgreSQL commits it alone, without BEGIN and COMMIT round
   * trips; SQLite runs a statement that writes as a unit); the seconds to wait for each.
   */
  /**
   * Whether each budget is already used up, without counting an attempt: the seconds to wait for each (0: there is
   * room for one more). For budgets that count failures only, checked before the attempt is made.
   */
  static async peekEach (budgets: ReadonlyArray<readonly [SharedLimit, string]>, now = Date.now()): Promise<number[]> {
    const [first] = budgets
    if (!first) return []
    const [limit] = first
    const windows = await limit.store.repos.limits.peek(budgets.map(([l, key]) => `${l.name}:${key}`), limit.windowMs, now)
    return windows.map((w, i) => w.count >= budgets[i]![0].max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0)
  }

  static async takeEach (attempts: ReadonlyArray<readonly [SharedLimit, string]>, now = Date.now()): Promise<number[]> {
    const [first] = attempts
    if (!first) return []
    const [limit] = first
    const keys = attempts.map(([l, key]) => `${l.name}:${key}`)
    const windows = await limit.store.repos.limits.hit(keys, limit.windowMs, now)
    return windows.map((w, i) => w.count > attempts[i]![0].max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0)
  }
}
