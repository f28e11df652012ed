import type { Sql } from '../db/storage.js'

export type SignInMethod = 'oidc' | 'link' | 'token'

export interface BrowserSessionRow {
  id: string
  principal_kind: 'admin' | 'user'
  account_id: string | null
  method: SignInMethod
  created_at: string
  expires_at: string
  revoked_at: string | null
  /** Joined: the user's `DOMAIN\name`, display name and whether the account is enabled. */
  user_name: string | null
  display_name: string | null
  user_enabled: number | null
}

export interface SignInGrantRow {
  id: string
  kind: 'link' | 'oidc'
  account_id: string | null
  data: string | null
  created_at: string
  expires_at: string
  used_at: string | null
}

const SESSION = `SELECT s.id, s.principal_kind, s.account_id, s.method, s.created_at, s.expires_at, s.revoked_at,
  d.name || '\\' || a.name AS user_name, a.display_name, a.enabled AS user_enabled
  FROM browser_sessions s LEFT JOIN accounts a ON a.id = s.account_id LEFT JOIN domains d ON d.id = a.domain_id`

/** Browser sessions and the single-use steps that lead to one (sign-in links, identity-provider round trips). */
export class SignInRepository {
  constructor (private readonly sql: Sql) {}

  async insertSession (s: {
    id: string, secretHash: string, principalKind: 'admin' | 'user', accountId: string | null, method: SignInMethod, createdAt: string, expiresAt: string
  }): Promise<void> {
    await this.sql.run(`INSERT INTO browser_sessions (id, secret_hash, principal_kind, account_id, method, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`, s.id, s.secretHash, s.principalKind, s.accountId, s.method, s.createdAt, s.expiresAt)
  }

  sessionByHash (secretHash: string): Promise<BrowserSessionRow | undefined> {
    return this.sql.get<BrowserSessionRow>(`${SESSION} WHERE s.secret_hash = ?`, secretHash)
  }

  /** Revokes a session still in force; resolves to whether it was. */
  async revokeSession (id: string, at: string): Promise<boolean> {
    return await this.sql.run('UPDATE browser_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id) === 1
  }

  /** Revokes every session of an account still in force (the account was disabled); resolves to their ids. */
  async revokeSessionsOf (accountId: string, at: string): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>(
      'UPDATE browser_sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL RETURNING id', at, accountId)
    return rows.map((r) => r.id)
  }

  async insertGrant (g: {
    id: string, grantHash: string, kind: 'link' | 'oidc', accountId: string | null, data: string | null, createdAt: string, expiresAt: string
  }): Promise<void> {
    await this.sql.run(`INSERT INTO sign_in_grants (id, grant_hash, kind, account_id, data, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`, g.id, g.grantHash, g.kind, g.accountId, g.data, g.createdAt, g.expiresAt)
  }

  /**
   * Uses a grant of `kind` up, once: one conditional update decides among concurrent uses. Resolves to the grant
   * when this call used it, or to why not.
   */
  async useGrant (grantHash: string, kind: 'link' | 'oidc', at: string): Promise<{ grant: SignInGrantRow } | { refused: 'unknown' | 'used' | 'expired' }> {
    const used = await this.sql.get<SignInGrantRow>(`UPDATE sign_in_grants SET used_at = ?
      WHERE grant_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > ?
      RETURNING id, kind, account_id, data, created_at, expires_at, used_at`, at, grantHash, kind, at)
    if (used) return { grant: used }
    const row = await this.sql.get<{ used_at: string | null }>('SELECT used_at FROM sign_in_grants WHERE grant_hash = ? AND kind = ?', grantHash, kind)
    if (!row) return { refused: 'unknown' }
    return { refused: row.used_at !== null ? 'used' : 'expired' }
  }

  /** Forgets grants and sessions that ended more than a day before `before`. */
  async purge (before: string): Promise<number> {
    return await this.sql.run('DELETE FROM sign_in_grants WHERE expires_at < ?', before) +
      await this.sql.run('DELETE FROM browser_sessions WHERE expires_at < ?', before)
  }
}
