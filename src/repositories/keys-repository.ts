import type { Db } from '../db/database.js'
import { directoryCache } from '../db/directory-cache.js'

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
  constructor (private readonly db: Db) {
    this.cached = directoryCache(db).lookup<{ row: KeyRow | undefined }>()
  }

  /** Cached until a key is added, retired or re-encrypted (by any process). */
  active (): KeyRow | undefined {
    return this.cached('active', () => ({
      row: this.db.prepare('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1').get() as KeyRow | undefined
    }))!.row
  }

  get (kid: string): KeyRow | undefined {
    return this.db.prepare('SELECT * FROM signing_keys WHERE kid = ?').get(kid) as KeyRow | undefined
  }

  all (): KeyRow[] {
    return this.db.prepare('SELECT * FROM signing_keys ORDER BY created_at').all() as KeyRow[]
  }

  /** Keys that still verify at `now`: the active one, and retired ones with tickets not yet expired. */
  verifying (now: string): KeyRow[] {
    return this.db.prepare(`SELECT * FROM signing_keys WHERE retired_at IS NULL OR max_expires_at > ?
      ORDER BY created_at DESC`).all(now) as KeyRow[]
  }

  insert (row: Omit<KeyRow, 'retired_at' | 'max_expires_at'>): void {
    this.db.prepare('INSERT INTO signing_keys (kid, alg, public_jwk, private_key, encrypted, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(row.kid, row.alg, row.public_jwk, row.private_key, row.encrypted, row.created_at)
  }

  retireAllBut (kid: string, at: string): void {
    this.db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL AND kid <> ?').run(at, kid)
  }

  setPrivateKey (kid: string, privateKey: string, encrypted: boolean): void {
    this.db.prepare('UPDATE signing_keys SET private_key = ?, encrypted = ? WHERE kid = ?').run(privateKey, encrypted ? 1 : 0, kid)
  }

  /** Records that the key signed a ticket expiring at `expiresAt` (it must keep verifying until then). */
  extendUse (kid: string, expiresAt: string): void {
    this.db.prepare('UPDATE signing_keys SET max_expires_at = ? WHERE kid = ? AND (max_expires_at IS NULL OR max_expires_at < ?)')
      .run(expiresAt, kid, expiresAt)
  }
}
