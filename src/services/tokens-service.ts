import { hash, randomBytes } from 'node:crypto'
import { newId } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Freshness } from '../db/directory-cache.js'
import type { Principal } from '../domain/access.js'
import { AppError, notFound } from '../errors.js'
import type { Store, Unit } from '../repositories/index.js'
import type { PageOf } from '../repositories/paging.js'
import type { TokenRow, TokenSource } from '../repositories/tokens-repository.js'
import type { Scope, TokenCreate, TokenInfo } from '../schemas/tokens.js'
import { SYSTEM_CONTEXT, type ActorContext } from './context.js'
import type { Signals } from './signals.js'

/** `ra_` + 256 random bits. The prefix makes a leaked token easy to recognise (secret scanners). */
export function generateToken (): string {
  return 'ra_' + randomBytes(32).toString('base64url')
}

/** SHA-256 in one call (`crypto.hash`: no Hash object per request, measured at 0.4 µs against 1.0–1.2 µs for createHash). */
export function hashToken (token: string): string {
  return hash('sha256', token, 'hex')
}

/** Only this often is `lastUsedAt` written, so authentication stays a read. */
const TOUCH_INTERVAL_MS = 60_000

export type AuthResult =
  | { ok: true, principal: Principal }
  | { ok: false, error: AppError, tokenId?: string }

export class TokensService {
  constructor (
    private readonly store: Store,
    private readonly signals: Signals
  ) {}

  /** Creates a token and returns it once; only its hash is stored. */
  async create (input: TokenCreate, source: TokenSource, ctx: ActorContext): Promise<{ token: string, tokenInfo: TokenInfo }> {
    const token = generateToken()
    return this.store.work(async (u) => {
      const info = await this.insert(u, token, input, source)
      await u.audit.record({
        ...ctx,
        action: 'token.create',
        target: `tokens/${info.id}`,
        outcome: 'success',
        details: { principal: info.principal, label: info.label, source }
      })
      return { token, tokenInfo: info }
    })
  }

  /**
   * Registers `token` (from RA_BOOTSTRAP_ADMIN_TOKEN) as an administrator token,
   * once: on later starts it is already there. A token of that value that was
   * revoked stays revoked: the operator must choose a new one.
   */
  registerBootstrapToken (token: string): Promise<{ created: boolean, revoked: boolean }> {
    const hash = hashToken(token)
    return this.store.work(async (u) => {
      // Instances starting together register it once: the check and the insert are decided one at a time.
      await u.lock('admin-bootstrap')
      const existing = await u.tokens.findByHash(hash)
      if (existing) {
        if (existing.principal_kind !== 'admin') throw new Error('RA_BOOTSTRAP_ADMIN_TOKEN is already registered for a principal other than the administrator')
        return { created: false, revoked: existing.revoked_at !== null }
      }
      const info = await this.insert(u, token, { principal: { type: 'admin' }, label: 'RA_BOOTSTRAP_ADMIN_TOKEN' }, 'bootstrap')
      await u.audit.record({
        ...SYSTEM_CONTEXT,
        action: 'token.create',
        target: `tokens/${info.id}`,
        outcome: 'success',
        details: { principal: info.principal, source: 'bootstrap' }
      })
      return { created: true, revoked: false }
    })
  }

  /** A new administrator token when none that works exists (first start without RA_BOOTSTRAP_ADMIN_TOKEN). */
  generateAdminTokenIfNone (): Promise<string | null> {
    const token = generateToken()
    return this.store.work(async (u) => {
      await u.lock('admin-bootstrap')
      if (await u.tokens.hasUsableAdminToken(nowIso())) return null
      const info = await this.insert(u, token, { principal: { type: 'admin' }, label: 'generated at first start' }, 'generated')
      await u.audit.record({
        ...SYSTEM_CONTEXT,
        action: 'token.create',
        target: `tokens/${info.id}`,
        outcome: 'success',
        details: { principal: info.principal, source: 'generated' }
      })
      return token
    })
  }

  async list (query: { limit: number, cursor?: string | undefined, includeRevoked: boolean }): Promise<PageOf<TokenInfo>> {
    const page = await this.store.repos.tokens.list(query)
    return { items: page.items.map(toInfo), nextCursor: page.nextCursor }
  }

  async get (id: string): Promise<TokenInfo> {
    const row = await this.store.repos.tokens.get(id)
    if (!row) throw notFound('token', id)
    return toInfo(row)
  }

  revoke (id: string, ctx: ActorContext): Promise<TokenInfo> {
    return this.store.work(async (u) => {
      const row = await u.tokens.get(id)
      if (!row) throw notFound('token', id)
      if (row.revoked_at === null) {
        await u.tokens.revoke(id, nowIso())
        await u.audit.record({ ...ctx, action: 'token.revoke', target: `tokens/${id}`, outcome: 'success', details: { principal: toInfo(row).principal } })
      }
      // Sessions opened with this token end at once (once this unit has committed).
      this.signals.notify(u, 'token-revoked', id)
      return toInfo((await u.tokens.get(id))!)
    })
  }

  /** Resolves an `Authorization` header value to a principal, or says why not. */
  async authenticate (header: string | undefined, since?: Freshness): Promise<AuthResult> {
    if (header === undefined || header === '') {
      return { ok: false, error: new AppError('AUTH_REQUIRED', 'this call needs an Authorization: Bearer <token> header') }
    }
    const match = /^Bearer ([\x21-\x7e]{1,1024})$/i.exec(header)
    if (!match) return { ok: false, error: new AppError('TOKEN_INVALID', 'the Authorization header must be "Bearer <token>"') }
    const row = await this.store.repos.tokens.findByHash(hashToken(match[1]!), since)
    if (!row) return { ok: false, error: new AppError('TOKEN_INVALID', 'the token is not valid') }
    const now = new Date()
    if (row.revoked_at !== null) return { ok: false, tokenId: row.id, error: new AppError('TOKEN_REVOKED', 'the token was revoked') }
    if (row.expires_at !== null && row.expires_at <= now.toISOString()) {
      return { ok: false, tokenId: row.id, error: new AppError('TOKEN_EXPIRED', 'the token has expired') }
    }
    if (row.principal_kind === 'user' && row.user_enabled !== 1) {
      return { ok: false, tokenId: row.id, error: new AppError('ACCOUNT_DISABLED', 'the account this token belongs to is disabled') }
    }
    if (row.last_used_at === null || now.getTime() - new Date(row.last_used_at).getTime() >= TOUCH_INTERVAL_MS) {
      await this.store.repos.tokens.touch(row, now.toISOString())
    }
    return { ok: true, principal: toPrincipal(row) }
  }

  /** Inserts the token in unit `u`, after checking its principal against the directory as `u` sees it. */
  private async insert (u: Unit, token: string, input: TokenCreate, source: TokenSource): Promise<TokenInfo> {
    const p = input.principal
    const forbid = (field: 'user' | 'name' | 'scopes') => {
      if (p[field] !== undefined) {
        throw new AppError('VALIDATION_FAILED', `principal.${field} is not allowed for a principal of type ${p.type}`, { field: `principal.${field}` })
      }
    }
    const require = (field: 'user' | 'name' | 'scopes') => {
      if (p[field] === undefined) {
        throw new AppError('VALIDATION_FAILED', `principal.${field} is required for a principal of type ${p.type}`, { field: `principal.${field}` })
      }
    }
    let accountId: string | null = null
    if (p.type === 'user') {
      require('user'); forbid('name'); forbid('scopes')
      const account = await u.accounts.findByName(p.user!)
      if (!account) throw new AppError('UNKNOWN_REFERENCE', `principal.user ${p.user} is not a user in the directory`, { field: 'principal.user' })
      if (account.kind !== 'user') throw new AppError('INVALID_REFERENCE', `principal.user ${account.name} is a group, not a user`, { field: 'principal.user' })
      if (!account.enabled) throw new AppError('INVALID_REFERENCE', `principal.user ${account.name} is disabled`, { field: 'principal.user' })
      accountId = account.id
    } else if (p.type === 'integration') {
      require('name'); require('scopes'); forbid('user')
    } else {
      forbid('user'); forbid('name'); forbid('scopes')
    }
    const createdAt = nowIso()
    let expiresAt: string | null = null
    if (input.expiresAt !== undefined) {
      expiresAt = new Date(input.expiresAt).toISOString()
      if (expiresAt <= createdAt) throw new AppError('INVALID_VALUE', 'expiresAt must be in the future', { field: 'expiresAt' })
    }
    const id = newId()
    await u.tokens.insert({
      id,
      tokenHash: hashToken(token),
      principalKind: p.type,
      accountId,
      integrationName: p.type === 'integration' ? p.name! : null,
      scopes: p.type === 'integration' ? p.scopes! : [],
      label: input.label ?? null,
      source,
      createdAt,
      expiresAt
    })
    return toInfo((await u.tokens.get(id))!)
  }
}

function toPrincipal (row: TokenRow): Principal {
  switch (row.principal_kind) {
    case 'admin': return { kind: 'admin', tokenId: row.id }
    case 'user': return { kind: 'user', tokenId: row.id, accountId: row.account_id!, name: row.user_name! }
    case 'integration': return { kind: 'integration', tokenId: row.id, name: row.integration_name!, scopes: JSON.parse(row.scopes) as Scope[] }
  }
}

function toInfo (row: TokenRow): TokenInfo {
  const principal: TokenInfo['principal'] = { type: row.principal_kind }
  if (row.principal_kind === 'user') principal.user = row.user_name!
  if (row.principal_kind === 'integration') {
    principal.name = row.integration_name!
    principal.scopes = JSON.parse(row.scopes) as Scope[]
  }
  return {
    id: row.id,
    principal,
    label: row.label,
    source: row.source,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at
  }
}
