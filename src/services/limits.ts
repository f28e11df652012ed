import type { LimitsRepository } from '../repositories/limits-repository.js'

/**
 * A budget of attempts per key and minute, kept in the database so that it
 * holds across every process of the service (several instances, the CLI).
 * `take` counts an attempt; `takeEach` counts one attempt against several
 * budgets in one statement.
 */
export class SharedLimit {
  constructor (
    private readonly repo: LimitsRepository,
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs = 60_000
  ) {}

  /** Counts an attempt; returns the seconds to wait when it is over the budget (0 when within). */
  take (key: string, now = Date.now()): number {
    return SharedLimit.takeEach([[this, key]], now)[0]!
  }

  /** Counts one attempt against each limit (all with the same window) in one statement; the seconds to wait for each. */
  static takeEach (attempts: ReadonlyArray<readonly [SharedLimit, string]>, now = Date.now()): number[] {
    const [first] = attempts
    if (!first) return []
    const windows = first[0].repo.hit(attempts.map(([limit, key]) => `${limit.name}:${key}`), first[0].windowMs, now)
    return windows.map((w, i) => w.count > attempts[i]![0].max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0)
  }
}
