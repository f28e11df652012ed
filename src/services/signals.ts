import { EventEmitter } from 'node:events'

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

export class Signals extends EventEmitter<SignalMap> {
  /** @param afterCommit runs a function once the writes made so far have committed (never, if they fail). */
  constructor (private readonly afterCommit: (fn: () => void) => void) {
    super()
  }

  /** Signals the change made in the current unit of work, once it has committed; a change rolled back is never signalled. */
  notify<K extends keyof SignalMap> (signal: K, ...args: SignalMap[K]): void {
    this.afterCommit(() => { (this.emit as (signal: K, ...args: SignalMap[K]) => boolean)(signal, ...args) })
  }
}
