import { randomBytes } from 'node:crypto'
import type { Store } from '../repositories/index.js'
import { decryptSecret, encryptSecret } from './key-encryption.js'
import { ConfigurationError } from './tickets.js'

/**
 * A 256-bit key the service makes for itself, once, by whichever instance needs it first, and keeps in the
 * database for every instance (service_secrets), encrypted with RA_KEY_ENCRYPTION_SECRET when that is set:
 * the short codes' HMAC key, the sessions' verification-code key.
 */
export class ServiceKey {
  private key: Promise<Buffer> | null = null

  constructor (
    private readonly store: Store,
    private readonly name: string,
    private readonly keyEncryptionSecret: string | undefined
  ) {}

  get (): Promise<Buffer> {
    this.key ??= this.load().catch((err: unknown) => {
      this.key = null
      throw err
    })
    return this.key
  }

  private async load (): Promise<Buffer> {
    const secret = this.keyEncryptionSecret
    let row = await this.store.repos.secrets.get(this.name)
    if (!row) {
      const fresh = randomBytes(32).toString('base64url')
      const stored = secret === undefined ? fresh : encryptSecret(fresh, secret, this.name)
      row = await this.store.repos.secrets.getOrInsert(this.name, stored, secret !== undefined)
    }
    if (row.encrypted === 0) return Buffer.from(row.value, 'base64url')
    if (secret === undefined) {
      throw new ConfigurationError(`the ${this.name} key is encrypted: set RA_KEY_ENCRYPTION_SECRET to the secret it was encrypted with`)
    }
    return Buffer.from(decryptSecret(row.value, secret, this.name), 'base64url')
  }
}
