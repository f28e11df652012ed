import { normalizeShortCode, shortCodeHash } from '../domain/short-code.js'
import { AppError } from '../errors.js'
import type { Store } from '../repositories/index.js'
import { SharedLimit } from './limits.js'
import { ServiceKey } from './service-key.js'

export interface CodeLimits {
  guessesPerExpertPerHour: number
  guessesPerAddressPerHour: number
  guessesPerHour: number
}

const KEY_NAME = 'short-code-hmac'
const HOUR_MS = 3_600_000

/**
 * The short codes' keyed hash and their guessing budget (RFC 8628 §5.1 and §6.1 ask both of user codes). The
 * HMAC key is made once, by whichever instance needs it first, and kept in the database (encrypted with
 * RA_KEY_ENCRYPTION_SECRET when set). Wrong codes are counted per expert, per client address and service-wide,
 * in the database, so that the budget holds across instances; a budget used up refuses further codes for the
 * rest of its hour, before any lookup.
 */
export class ShortCodes {
  private readonly key: ServiceKey
  private readonly perExpert: SharedLimit
  private readonly perAddress: SharedLimit
  private readonly all: SharedLimit

  constructor (
    store: Store,
    limits: CodeLimits,
    keyEncryptionSecret: string | undefined
  ) {
    this.key = new ServiceKey(store, KEY_NAME, keyEncryptionSecret)
    this.perExpert = new SharedLimit(store, 'code-expert', limits.guessesPerExpertPerHour, HOUR_MS)
    this.perAddress = new SharedLimit(store, 'code-address', limits.guessesPerAddressPerHour, HOUR_MS)
    this.all = new SharedLimit(store, 'code-all', limits.guessesPerHour, HOUR_MS)
  }

  /** The keyed hash a (normalized) code is stored and found by. */
  async hash (code: string): Promise<string> {
    return shortCodeHash(await this.key.get(), code)
  }

  /**
   * The hash of a typed code, once the guessing budgets allow one more try; a code that cannot be one counts as
   * a wrong guess (422 CODE_INVALID). Call `wrong` when no open invitation has the hash.
   */
  async lookupHash (typed: string, who: { expertId: string, address: string }): Promise<string> {
    const waits = await SharedLimit.peekEach(this.budgets(who))
    const wait = Math.max(...waits)
    if (wait > 0) {
      const which = waits[0]! > 0 ? 'for this expert' : waits[1]! > 0 ? 'from this address' : 'for the whole service'
      throw new AppError('CODE_GUESSES_EXCEEDED', `too many wrong codes ${which} this hour: retry in ${wait} s, or use the invitation's link or file`,
        { retryAfterS: wait, field: 'code' })
    }
    const code = normalizeShortCode(typed)
    if (code === null) {
      await this.wrong(who)
      throw new AppError('CODE_INVALID', 'code: not a code (12 letters and digits, as XXXX-XXXX-XXXX)', { field: 'code' })
    }
    return await this.hash(code)
  }

  /** Counts a wrong code against every budget. */
  async wrong (who: { expertId: string, address: string }): Promise<void> {
    await SharedLimit.takeEach(this.budgets(who))
  }

  private budgets (who: { expertId: string, address: string }): Array<readonly [SharedLimit, string]> {
    return [[this.perExpert, who.expertId], [this.perAddress, who.address], [this.all, '*']]
  }
}
