import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { nowIso } from '../db/database.js'
import { newId } from '../db/ids.js'
import type { Principal } from '../domain/access.js'
import { AppError } from '../errors.js'
import type { AccountRef } from '../repositories/accounts-repository.js'
import type { Store } from '../repositories/index.js'
import type { BrowserSessionRow, SignInMethod } from '../repositories/sign-in-repository.js'
import type { ActorContext } from './context.js'
import type { Signals } from './signals.js'
import { hashToken, type TokensService } from './tokens-service.js'

/** A browser session just opened: the cookie's secret (shown once), and whom it signs in. */
export interface BrowserSignIn {
  secret: string
  principal: Extract<Principal, { kind: 'admin' | 'user' }>
  expiresAt: string
}

/** A browser session in force, as each request from a page finds it. */
export interface BrowserSession {
  id: string
  principal: Extract<Principal, { kind: 'admin' | 'user' }>
  displayName: string | null
  method: SignInMethod
  expiresAt: string
}

export type BrowserAuth = { ok: true, session: BrowserSession } | { ok: false, error: AppError, sessionId?: string }

export interface SignInOptions {
  publicBaseUrl: string
  sessionMinutes: number
  linkMinutes: number
}

/** What an identity-provider round trip keeps between the redirect and the callback. */
export interface RoundTrip {
  codeVerifier: string
  nonce: string
  returnTo: string
}

/** Round trips through the identity provider must come back within this time. */
const ROUND_TRIP_MINUTES = 10

/** Only the SHA-256 of a secret is stored, as for API tokens. */
const secretHash = hashToken
const newSecret = (prefix: string): string => prefix + randomBytes(32).toString('base64url')
const minutesFrom = (from: Date, minutes: number): string => new Date(from.getTime() + minutes * 60_000).toISOString()

/**
 * Sign-in for the pages: browser sessions (server-side records named by an HttpOnly cookie), one-time sign-in
 * links made by the CLI, sign-in with one of the person's API tokens, and the bookkeeping of an identity-provider
 * round trip (OpenID Connect; the protocol itself is in web/oidc.ts). The API keeps its Bearer tokens.
 */
export class SignInService {
  constructor (
    private readonly store: Store,
    private readonly tokens: TokensService,
    private readonly signals: Signals,
    private readonly options: SignInOptions
  ) {}

  /**
   * The CSRF token of a browser session: an HMAC of the cookie's secret, so it needs no storage, and a page can
   * only know it because the server wrote it into the page (the cookie itself is HttpOnly).
   */
  static csrfTokenFor (secret: string): string {
    return createHmac('sha256', secret).update('ra-csrf-v1').digest('base64url')
  }

  static csrfTokenMatches (secret: string, given: string | undefined): boolean {
    if (given === undefined) return false
    const expected = Buffer.from(SignInService.csrfTokenFor(secret))
    const actual = Buffer.from(given)
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  }

  /** A one-time sign-in link for a directory user (CLI): valid for minutes, single use. */
  async createLink (userName: string, ctx: ActorContext): Promise<{ url: string, user: string, expiresAt: string }> {
    const code = newSecret('')
    const now = new Date()
    const expiresAt = minutesFrom(now, this.options.linkMinutes)
    const user = await this.store.work(async (u) => {
      const account = await u.accounts.findByName(userName)
      if (!account || account.kind !== 'user') throw new AppError('UNKNOWN_REFERENCE', `there is no user ${userName} in the directory`, { field: 'user' })
      if (!account.enabled) throw new AppError('INVALID_REFERENCE', `${account.name} is disabled`, { field: 'user' })
      const id = newId()
      await u.signIn.insertGrant({ id, grantHash: secretHash(code), kind: 'link', accountId: account.id, data: null, createdAt: now.toISOString(), expiresAt })
      await u.audit.record({
        ...ctx, action: 'sign-in.link-create', target: `users/${account.id}`, outcome: 'success', details: { user: account.name, expiresAt }
      })
      return account.name
    })
    // In the fragment: it never reaches a server log, and the page posts it (a mail scanner's GET does not use it up).
    return { url: `${this.options.publicBaseUrl}/sign-in/link#code=${code}`, user, expiresAt }
  }

  /** Signs in with a one-time link's code: once, before it expires, for a user still enabled. */
  async withLink (code: string, ctx: ActorContext): Promise<BrowserSignIn> {
    return this.refusalsAudited(ctx, 'link', async () => {
      const used = await this.store.repos.signIn.useGrant(secretHash(code), 'link', nowIso())
      if ('refused' in used) {
        throw new AppError('SIGN_IN_LINK_INVALID', {
          unknown: 'this sign-in link is not valid: ask for a new one',
          used: 'this sign-in link was already used: each link signs in once; ask for a new one',
          expired: 'this sign-in link has expired: ask for a new one'
        }[used.refused])
      }
      const account = await this.store.repos.accounts.getUser(used.grant.account_id!)
      if (!account) throw new AppError('SIGN_IN_REFUSED', 'the user this link was made for no longer exists')
      if (!account.enabled) throw new AppError('SIGN_IN_REFUSED', `${account.name} is disabled: the account cannot sign in`)
      return this.open({ id: account.id, kind: 'user', name: account.name, enabled: true }, 'link', ctx)
    })
  }

  /** Signs in with one of the person's API tokens (a user's or the administrator's; not an integration's). */
  async withToken (token: string, ctx: ActorContext): Promise<BrowserSignIn> {
    return this.refusalsAudited(ctx, 'token', async () => {
      const result = await this.tokens.authenticate(`Bearer ${token}`)
      if (!result.ok) throw new AppError('SIGN_IN_REFUSED', `that token cannot sign in: ${result.error.message}`)
      const p = result.principal
      if (p.kind === 'integration') throw new AppError('SIGN_IN_REFUSED', 'an integration\'s token cannot sign in to the pages: use a user\'s token')
      if (p.kind === 'admin') return this.open(null, 'token', ctx)
      return this.open({ id: p.accountId, kind: 'user', name: p.name, enabled: true }, 'token', ctx)
    })
  }

  /**
   * Signs in the directory user that an identity provider's claim names: `DOMAIN\name`, a UPN (`name@dns.name`,
   * mapped through the domain's DNS name), or an e-mail address (exactly one user with it).
   */
  async withIdentity (claim: string, ctx: ActorContext): Promise<BrowserSignIn> {
    return this.refusalsAudited(ctx, 'oidc', async () => {
      const account = await this.userForClaim(claim)
      if (!account) throw new AppError('SIGN_IN_REFUSED', `${claim} is not a user in this service's directory`)
      if (!account.enabled) throw new AppError('SIGN_IN_REFUSED', `${account.name} is disabled: the account cannot sign in`)
      return this.open(account, 'oidc', ctx)
    }, { claim })
  }

  /** Starts an identity-provider round trip: resolves to the `state` that names it on the way back. */
  async beginRoundTrip (trip: RoundTrip): Promise<string> {
    const state = newSecret('')
    const now = new Date()
    await this.store.work(async (u) => {
      await u.signIn.insertGrant({
        id: newId(),
        grantHash: secretHash(state),
        kind: 'oidc',
        accountId: null,
        data: JSON.stringify(trip),
        createdAt: now.toISOString(),
        expiresAt: minutesFrom(now, ROUND_TRIP_MINUTES)
      })
      await u.signIn.purge(minutesFrom(now, -24 * 60))
    })
    return state
  }

  /** Ends the round trip named by `state`, once: a state that is unknown, used or stale is refused. */
  async finishRoundTrip (state: string, ctx: ActorContext): Promise<RoundTrip> {
    return this.refusalsAudited(ctx, 'oidc', async () => {
      const used = await this.store.repos.signIn.useGrant(secretHash(state), 'oidc', nowIso())
      if ('refused' in used) {
        throw new AppError('SIGN_IN_STATE_INVALID', used.refused === 'expired'
          ? 'the sign-in took too long: start again'
          : 'this sign-in answer does not belong to a sign-in started here (its state is unknown or already used): start again')
      }
      return JSON.parse(used.grant.data!) as RoundTrip
    })
  }

  /** The browser session that a cookie's secret names, if it is still in force. */
  async authenticate (secret: string): Promise<BrowserAuth> {
    const row = await this.store.repos.signIn.sessionByHash(secretHash(secret))
    if (!row) return { ok: false, error: new AppError('SIGN_IN_EXPIRED', 'you are not signed in (the session is unknown): sign in again') }
    if (row.revoked_at !== null) return { ok: false, sessionId: row.id, error: new AppError('SIGN_IN_EXPIRED', 'you were signed out: sign in again') }
    if (row.expires_at <= nowIso()) return { ok: false, sessionId: row.id, error: new AppError('SIGN_IN_EXPIRED', 'your session has expired: sign in again') }
    if (row.principal_kind === 'user' && row.user_enabled !== 1) {
      return { ok: false, sessionId: row.id, error: new AppError('ACCOUNT_DISABLED', 'your account is disabled') }
    }
    return { ok: true, session: toSession(row) }
  }

  /** Signs out: the session is revoked, and the sessions its person opened as the expert end (as for a revoked token). */
  async signOut (session: BrowserSession, ctx: ActorContext): Promise<void> {
    await this.store.work(async (u) => {
      if (!await u.signIn.revokeSession(session.id, nowIso())) return
      await u.audit.record({ ...ctx, action: 'sign-out', target: `browser-sessions/${session.id}`, outcome: 'success', details: { method: session.method } })
      this.signals.notify(u, 'token-revoked', session.id)
    })
  }

  private async userForClaim (claim: string): Promise<AccountRef | undefined> {
    const repos = this.store.repos
    const value = claim.trim()
    if (value.includes('\\')) {
      const account = await repos.accounts.findByName(value).catch(() => undefined)
      return account?.kind === 'user' ? account : undefined
    }
    const at = value.lastIndexOf('@')
    if (at > 0) {
      const domain = await repos.domains.findByDnsName(value.slice(at + 1))
      if (domain) {
        const account = await repos.accounts.findByName(`${domain.name}\\${value.slice(0, at)}`).catch(() => undefined)
        if (account?.kind === 'user') return account
      }
      const byEmail = await repos.accounts.usersByEmail(value)
      return byEmail.length === 1 ? byEmail[0] : undefined
    }
    return undefined
  }

  /** Opens a browser session for `account` (null: the built-in administrator). */
  private async open (account: AccountRef | null, method: SignInMethod, ctx: ActorContext): Promise<BrowserSignIn> {
    const secret = newSecret('rab_')
    const id = newId()
    const now = new Date()
    const expiresAt = minutesFrom(now, this.options.sessionMinutes)
    await this.store.work(async (u) => {
      await u.signIn.insertSession({
        id,
        secretHash: secretHash(secret),
        principalKind: account ? 'user' : 'admin',
        accountId: account?.id ?? null,
        method,
        createdAt: now.toISOString(),
        expiresAt
      })
      const actor = account?.name ?? 'admin'
      await u.audit.record({
        ...ctx, actor, actorTokenId: id, action: 'sign-in', target: `browser-sessions/${id}`, outcome: 'success', details: { method, expiresAt }
      })
    })
    const principal: BrowserSignIn['principal'] = account
      ? { kind: 'user', tokenId: id, accountId: account.id, name: account.name }
      : { kind: 'admin', tokenId: id }
    return { secret, principal, expiresAt }
  }

  private async refusalsAudited<T> (ctx: ActorContext, method: SignInMethod, fn: () => Promise<T>, details: Record<string, unknown> = {}): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof AppError) {
        await this.store.repos.audit.record({ ...ctx, action: 'sign-in', target: null, outcome: 'denied', details: { method, code: err.code, ...details } })
      }
      throw err
    }
  }
}

function toSession (row: BrowserSessionRow): BrowserSession {
  return {
    id: row.id,
    principal: row.principal_kind === 'admin'
      ? { kind: 'admin', tokenId: row.id }
      : { kind: 'user', tokenId: row.id, accountId: row.account_id!, name: row.user_name! },
    displayName: row.display_name,
    method: row.method,
    expiresAt: row.expires_at
  }
}
