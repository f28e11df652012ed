/**
 * A fixed-window counter per key (client address): enough to stop a flood of
 * bad tokens from one place. In memory, per process; old windows are dropped
 * as they are touched and by `sweep`.
 */
export class WindowLimiter {
  private readonly windows = new Map<string, { count: number, resetAt: number }>()

  constructor (private readonly max: number, private readonly windowMs: number) {}

  /** Seconds until the key may try again, or 0 when it is under the limit. */
  blockedFor (key: string, now = Date.now()): number {
    const w = this.windows.get(key)
    if (!w || w.resetAt <= now) return 0
    return w.count >= this.max ? Math.ceil((w.resetAt - now) / 1000) : 0
  }

  hit (key: string, now = Date.now()): void {
    const w = this.windows.get(key)
    if (!w || w.resetAt <= now) this.windows.set(key, { count: 1, resetAt: now + this.windowMs })
    else w.count++
  }

  sweep (now = Date.now()): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key)
  }
}
