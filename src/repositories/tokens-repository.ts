import { type DirectoryCache, type Freshness, lookupIn } from '../db/directory-cache.js'
import type { Sql } from '../db/storage.js'
import type { Scope, TokenInfo } from '../schemas/tokens.js'
import { decodeCursor, pageOf, type PageOf, whereOf } from './paging.js'

export type TokenSource = TokenInfo['source']

export interface TokenRow {
  id: string
  token_hash: string
  principal_kind: 'admin' | 'user' | 'integration'
  account_id: string | null
  integration_name: string | null
  scopes: string
  label: string | null
  source: TokenSource
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
  /** Joined: the user's `DOMAIN\name` and whether the account is enabled. */
  user_name: string | null
  user_enabled: number | null
}

export interface NewToken {
  id: string
  tokenHash: string
  principalKind: TokenRow['principal_kind']
  accountId: string | null
  integrationName: string | null
  scopes: Scope[]
  label: string | null
  source: TokenSource
  createdAt: string
  expiresAt: string | null
}

const SELECT = `SELECT t.*, d.name || '\\' || a.name AS user_name, a.enabled AS user_enabled
  FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id LEFT JOIN domains d ON d.id = a.domain_id`

export class TokensRepository {
  private readonly cached
  /** `cache` null: `findByHash` reads the database (a unit of work sees its own changes). */
  constructor (private readonly sql: Sql, cache: DirectoryCache | null) {
    this.cached = lookupIn<TokenRow>(cache)
  }

  async insert (t: NewToken): Promise<void> {
    await this.sql.run(`INSERT INTO api_tokens (id, token_hash, principal_kind, account_id, integration_name, scopes, label, source, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    t.id, t.tokenHash, t.principalKind, t.accountId, t.integrationName, JSON.stringify(t.scopes), t.label, t.source, t.createdAt, t.expiresAt)
  }

  /** Cached until any token, account or domain changes (a revocation is seen by the next request). `since`: the request's mark. */
  findByHash (hash: string, since?: Freshness): Promise<TokenRow | undefined> {
    return this.cached(hash, () => this.sql.get<TokenRow>(`${SELECT} WHERE t.token_hash = ?`, hash), since)
  }

  get (id: string): Promise<TokenRow | undefined> {
    return this.sql.get<TokenRow>(`${SELECT} WHERE t.id = ?`, id)
  }

  /**
   * Records use (at most every few minutes; see the service); `row` is the
   * cached row, kept in step once the update is done. Called on the storage's
   * repositories, the update is a unit of its own.
   */
  async touch (row: TokenRow, at: string): Promise<void> {
    await this.sql.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', at, row.id)
    row.last_used_at = at
  }

  async revoke (id: string, at: string): Promise<void> {
    await this.sql.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id)
  }

  /** Whether an administrator token that still works exists. */
  async hasUsableAdminToken (now: string): Promise<boolean> {
    return await this.sql.get(`SELECT 1 FROM api_tokens WHERE principal_kind = 'admin' AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > ?) LIMIT 1`, now) !== undefined
  }

  /** Oldest first. */
  async list (query: { limit: number, cursor?: string | undefined, includeRevoked: boolean }): Promise<PageOf<TokenRow>> {
    const { where, args } = whereOf([
      ['t.revoked_at IS NULL', query.includeRevoked ? undefined : []],
      ['(t.created_at, t.id) > (?, ?)', decodeCursor(query.cursor, 2)]
    ])
    const rows = await this.sql.all<TokenRow>(`${SELECT} ${where}
      ORDER BY t.created_at, t.id LIMIT ?`, ...args, query.limit + 1)
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }
}
