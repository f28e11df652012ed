import { type DirectoryCache, type Freshness, lookupIn } from '../db/directory-cache.js'
import type { Sql } from '../db/storage.js'

export interface KeyRow {
  kid: string
  alg: string
  public_jwk: string
  private_key: string
  encrypted: number
  created_at: string
  retired_at: string | null
  max_expires_at: string | null
}

export class KeysRepository {
  private readonly cached
  private readonly cachedByKid
  /** `cache` null: `active` and `known` read the database (a unit of work sees its own changes). */
  constructor (private readonly sql: Sql, cache: DirectoryCache | null) {
    this.cached = lookupIn<{ row: KeyRow | undefined }>(cache)
    this.cachedByKid = lookupIn<KeyRow>(cache)
  }

  /** Cached until a key is added, retired or re-encrypted (by any process). `since`, here and below: the mark of the request it serves. */
  async active (since?: Freshness): Promise<KeyRow | undefined> {
    return (await this.cached('active', async () => ({
      row: await this.sql.get<KeyRow>('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1')
    }), since))!.row
  }

  /**
   * The key `kid`, cached until a key is added, retired or re-encrypted (by any
   * process); a kid not found is not remembered. Its `max_expires_at` may be
   * older than the stored one (it moves with signatures and bumps no version,
   * and only ever moves later): a caller that would refuse on it reads `get`.
   */
  known (kid: string, since?: Freshness): Promise<KeyRow | undefined> {
    return this.cachedByKid(kid, () => this.get(kid), since)
  }

  get (kid: string): Promise<KeyRow | undefined> {
    return this.sql.get<KeyRow>('SELECT * FROM signing_keys WHERE kid = ?', kid)
  }

  all (): Promise<KeyRow[]> {
    return this.sql.all<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at')
  }

  /** Keys that still verify at `now`: the active one, and retired ones with tickets not yet expired. */
  verifying (now: string): Promise<KeyRow[]> {
    return this.sql.all<KeyRow>(`SELECT * FROM signing_keys WHERE retired_at IS NULL OR max_expires_at > ?
      ORDER BY created_at DESC`, now)
  }

  async insert (row: Omit<KeyRow, 'retired_at' | 'max_expires_at'>): Promise<void> {
    await this.sql.run('INSERT INTO signing_keys (kid, alg, public_jwk, private_key, encrypted, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      row.kid, row.alg, row.public_jwk, row.private_key, row.encrypted, row.created_at)
  }

  async retireAllBut (kid: string, at: string): Promise<void> {
    await this.sql.run('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL AND kid <> ?', at, kid)
  }

  async setPrivateKey (kid: string, privateKey: string, encrypted: boolean): Promise<void> {
    await this.sql.run('UPDATE signing_keys SET private_key = ?, encrypted = ? WHERE kid = ?', privateKey, encrypted ? 1 : 0, kid)
  }

  /** Records that the key signed a ticket expiring at `expiresAt` (it must keep verifying until then). */
  async extendUse (kid: string, expiresAt: string): Promise<void> {
    await this.sql.run('UPDATE signing_keys SET max_expires_at = ? WHERE kid = ? AND (max_expires_at IS NULL OR max_expires_at < ?)',
      expiresAt, kid, expiresAt)
  }
}
