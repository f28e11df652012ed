import type { Db } from '../db/database.js'
import { directoryCache } from '../db/directory-cache.js'
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
  private readonly byHash
  private readonly touchStmt
  private readonly cached
  constructor (private readonly db: Db) {
    this.byHash = db.prepare(`${SELECT} WHERE t.token_hash = ?`)
    this.touchStmt = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?')
    this.cached = directoryCache(db).lookup<TokenRow>()
  }

  insert (t: NewToken): void {
    this.db.prepare(`INSERT INTO api_tokens (id, token_hash, principal_kind, account_id, integration_name, scopes, label, source, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      t.id, t.tokenHash, t.principalKind, t.accountId, t.integrationName, JSON.stringify(t.scopes), t.label, t.source, t.createdAt, t.expiresAt)
  }

  /** Cached until any token, account or domain changes (a revocation is seen by the next request). */
  findByHash (hash: string): TokenRow | undefined {
    return this.cached(hash, () => this.byHash.get(hash) as TokenRow | undefined)
  }

  get (id: string): TokenRow | undefined {
    return this.db.prepare(`${SELECT} WHERE t.id = ?`).get(id) as TokenRow | undefined
  }

  /** Records use (at most every few minutes; see the service); `row` is the cached row, kept in step. */
  touch (row: TokenRow, at: string): void {
    this.db.transaction(() => this.touchStmt.run(at, row.id))()
    row.last_used_at = at
  }

  revoke (id: string, at: string): void {
    this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id)
  }

  /** Whether an administrator token that still works exists. */
  hasUsableAdminToken (now: string): boolean {
    return this.db.prepare(`SELECT 1 FROM api_tokens WHERE principal_kind = 'admin' AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > ?) LIMIT 1`).get(now) !== undefined
  }

  /** Oldest first. */
  list (query: { limit: number, cursor?: string | undefined, includeRevoked: boolean }): PageOf<TokenRow> {
    const { where, args } = whereOf([
      ['t.revoked_at IS NULL', query.includeRevoked ? undefined : []],
      ['(t.created_at, t.id) > (?, ?)', decodeCursor(query.cursor, 2)]
    ])
    const rows = this.db.prepare(`${SELECT} ${where}
      ORDER BY t.created_at, t.id LIMIT ?`).all(...args, query.limit + 1) as TokenRow[]
    return pageOf(rows, query.limit, (r) => [r.created_at, r.id], (page) => page)
  }
}
