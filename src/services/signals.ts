import type { Unit } from '../repositories/index.js'

/**
 * What one part of the service tells the others after a change has committed.
 * Sessions listen: a policy change, a revoked token or a disabled account takes
 * effect on live sessions at once (O9).
 */
export interface SignalMap {
  'policy-changed': []
  'token-revoked': [tokenId: string]
  'account-disabled': [accountId: string]
}

type Handler<K extends keyof SignalMap> = (...args: SignalMap[K]) => unknown

export class Signals {
  private readonly handlers: { [K in keyof SignalMap]?: Array<Handler<K>> } = {}
  private readonly running = new Set<Promise<unknown>>()

  /** @param onError what a handler's failure is told to (it has no request to answer). */
  constructor (private readonly onError: (err: unknown) => void = () => {}) {}

  /** Runs `fn` on every `signal`; the work it returns (a promise) is waited for by `settled`. */
  on<K extends keyof SignalMap> (signal: K, fn: Handler<K>): this {
    const list = (this.handlers[signal] ??= []) as Array<Handler<K>>
    list.push(fn)
    return this
  }

  /**
   * Signals the change made in unit of work `u`, once it has committed; a
   * change rolled back is never signalled. The unit's caller waits for the
   * handlers' work: a change is answered only when its effect on live
   * sessions is done, so the very next read shows it (O9).
   */
  notify<K extends keyof SignalMap> (u: Unit, signal: K, ...args: SignalMap[K]): void {
    u.thenRun(() => this.emit(signal, ...args))
  }

  /** Resolves once the work handlers have started so far has finished (the CLI and a closing app wait for it). */
  async settled (): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }

  /** Runs every handler of `signal`; resolves when their work has finished (a failure goes to onError). */
  private async emit<K extends keyof SignalMap> (signal: K, ...args: SignalMap[K]): Promise<void> {
    const work: Array<Promise<unknown>> = []
    for (const fn of (this.handlers[signal] ?? []) as Array<Handler<K>>) {
      let result: unknown
      try {
        result = fn(...args)
      } catch (err) {
        this.onError(err)
        continue
      }
      if (result instanceof Promise) {
        const tracked: Promise<unknown> = result.catch(this.onError).finally(() => this.running.delete(tracked))
        this.running.add(tracked)
        work.push(tracked)
      }
    }
    await Promise.all(work)
  }
}
