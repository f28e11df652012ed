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

export class Signals extends EventEmitter<SignalMap> {}
