import type { LimitsRepository } from '../repositories/limits-repository.js'

/**
 * A budget of attempts per key and minute, kept in the database so that it
 * holds across every process of the service (several instances, the CLI).
 * `take` counts an attempt; `blockedFor` only looks.
 */
export class SharedLimit {
  constructor (
    private readonly repo: LimitsRepository,
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs = 60_000
  ) {}

  /** Seconds until `key` may try again, or 0 while it is within its budget. */
  blockedFor (key: string, now = Date.now()): number {
    const w = this.repo.peek(`${this.name}:${key}`, this.windowMs, now)
    return w.count >= this.max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0
  }

  /** Counts an attempt; returns the seconds to wait when it is over the budget (0 when within). */
  take (key: string, now = Date.now()): number {
    const w = this.repo.hit(`${this.name}:${key}`, this.windowMs, now)
    return w.count > this.max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0
  }
}
