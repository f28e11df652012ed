import type { LimitWindow } from '../repositories/limits-repository.js'
import type { Store } from '../repositories/index.js'

/**
 * A budget of attempts per key and minute, kept in the database so that it
 * holds across every process of the service (several instances, the CLI).
 * `take` counts an attempt; `takeEach` counts one attempt against several
 * budgets. On PostgreSQL the attempts of one turn of the event loop are counted
 * together, in one statement (`HitBatch`).
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

  /**
   * Counts one attempt against each limit (all with the same window); the seconds to wait for each (0: within). The
   * count is the one this attempt would have got counted alone, in the order the attempts of the turn arrived.
   */
  static async takeEach (attempts: ReadonlyArray<readonly [SharedLimit, string]>, now = Date.now()): Promise<number[]> {
    const [first] = attempts
    if (!first) return []
    const [limit] = first
    const keys = attempts.map(([l, key]) => `${l.name}:${key}`)
    // On SQLite the statement runs in this process and its unit joins the turn's group commit anyway: counted at once
    // (batched, it waited a turn more, and redemptions fell from 2,329 to 1,892 a second; medians of four, A/B).
    const windows = limit.store.storage.engine === 'sqlite'
      ? await limit.store.repos.limits.hit(keys.map((key) => [key, 1] as const), limit.windowMs, now)
      : await HitBatch.of(limit.store, limit.windowMs).hit(keys)
    return windows.map((w, i) => w.count > attempts[i]![0].max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0)
  }
}

/**
 * A budget of requests per key and window, counted in this process's memory: the general request rate limit, which
 * is per process (README). A window begins at a key's first request and lasts `windowMs`. At most `maxKeys` keys are
 * kept: a new key past that makes room by dropping ended windows, then the windows that began first (which can only
 * give a key more room, never less). Windows are kept in the order they began, so making room looks at the oldest
 * first and stops at the first that stays.
 */
export class LocalLimit {
  private readonly windows = new Map<string, { count: number, resetAt: number }>()

  constructor (readonly max: number, readonly windowMs = 60_000, private readonly maxKeys = 10_000) {}

  /** Counts a request of `key`: the requests the key has left in its window (negative past the budget) and the ms until it ends. */
  take (key: string, now = Date.now()): { remaining: number, resetInMs: number } {
    let window = this.windows.get(key)
    if (window === undefined || window.resetAt <= now) {
      // A new window goes to the end of the map, where the windows that began last are.
      if (window !== undefined) this.windows.delete(key)
      else if (this.windows.size >= this.maxKeys) this.makeRoom(now)
      window = { count: 0, resetAt: now + this.windowMs }
      this.windows.set(key, window)
    }
    window.count++
    return { remaining: this.max - window.count, resetInMs: window.resetAt - now }
  }

  /** The keys counted now. */
  get size (): number {
    return this.windows.size
  }

  private makeRoom (now: number): void {
    for (const [key, window] of this.windows) {
      if (window.resetAt > now && this.windows.size < this.maxKeys) return
      this.windows.delete(key)
    }
  }
}

/**
 * PostgreSQL: the hits of one turn of the event loop on one store's limits of one window length, counted in one
 * statement when the turn ends. Every redemption, failed authentication and code guess counts an attempt, each a
 * round trip and a commit of its own on rows that every attempt of a token or address updates (the dearest statement
 * per call under load, bench/); one statement serves all of a turn's. Each attempt gets the count it would have got
 * alone, in arrival order: with `n` hits on a key in the batch and the key's count `c` after them, the `i`-th (from 1)
 * gets `c − n + i`.
 */
class HitBatch {
  private static readonly open = new WeakMap<Store, Map<number, HitBatch>>()
  /** Hits per key in this batch. */
  private readonly counts = new Map<string, number>()
  private readonly attempts: Array<{ keys: string[], nth: number[], resolve: (w: LimitWindow[]) => void, reject: (err: unknown) => void }> = []

  private constructor (private readonly store: Store, private readonly windowMs: number) {}

  /** The batch of this turn for `store` and `windowMs`; a new one is counted when the turn ends. */
  static of (store: Store, windowMs: number): HitBatch {
    let byWindow = HitBatch.open.get(store)
    if (byWindow === undefined) HitBatch.open.set(store, byWindow = new Map())
    let batch = byWindow.get(windowMs)
    if (batch === undefined) {
      const created = batch = new HitBatch(store, windowMs)
      byWindow.set(windowMs, created)
      setImmediate(() => {
        byWindow.delete(windowMs)
        created.count()
      })
    }
    return batch
  }

  /** One attempt on each of `keys`: the window of each as it stands after this attempt. */
  hit (keys: string[]): Promise<LimitWindow[]> {
    const nth = keys.map((key) => {
      const n = (this.counts.get(key) ?? 0) + 1
      this.counts.set(key, n)
      return n
    })
    return new Promise((resolve, reject) => this.attempts.push({ keys, nth, resolve, reject }))
  }

  private count (): void {
    const hits = [...this.counts]
    this.store.repos.limits.hit(hits, this.windowMs).then((windows) => {
      const after = new Map(hits.map(([key, n], i) => [key, { n, window: windows[i]! }]))
      for (const attempt of this.attempts) {
        attempt.resolve(attempt.keys.map((key, i) => {
          const { n, window } = after.get(key)!
          return { count: window.count - n + attempt.nth[i]!, resetAt: window.resetAt }
        }))
      }
    }, (err: unknown) => { for (const attempt of this.attempts) attempt.reject(err) })
  }
}
