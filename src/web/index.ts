import path from 'node:path'
import formbody from '@fastify/formbody'
import fastifyStatic from '@fastify/static'
import * as oidcClient from 'openid-client'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { actorName } from '../domain/access.js'
import { AppError } from '../errors.js'
import { projectRoot } from '../paths.js'
import { sessionCookie, sessionCookieOptions } from '../plugins/session-cookie.js'
import type { ActorContext } from '../services/context.js'
import { SharedLimit } from '../services/limits.js'
import { SignInService, type BrowserSession, type BrowserSignIn } from '../services/sign-in-service.js'
import { html, type Html } from './html.js'
import { OidcClient } from './oidc.js'
import {
  askPage, computerPage, computersPage, homePage, redeemPage, refusalPage, sessionPage, signInLinkPage, signInPage, type Viewer
} from './pages.js'

/**
 * The pages: served by the service itself (no CDN, no inline script or style), each script a module under /assets/.
 * Connections may load only from here; nothing may frame a page.
 */
export function pageCsp (): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'"
  ].join('; ')
}

/** The cookie that binds an identity-provider round trip to the browser that started it (login CSRF). */
const ROUND_TRIP_COOKIE = 'ra_signin'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A local path to go back to after signing in; anything else (another site, `//host`) goes home. */
export function safeReturn (value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || value.length > 2000) return '/'
  return [...value].some((c) => c.charCodeAt(0) < 0x20) ? '/' : value
}

/** Pages for people, and the sign-in that leads to them. The API under /v1 stays as it is. */
export default async function web (fastify: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const { signIn, invitations, sessions, offers, policy, repos } = fastify.services
  const cookie = sessionCookie(config.publicBaseUrl)
  const publicOrigin = new URL(config.publicBaseUrl).origin
  const oidc = config.signIn.oidc ? new OidcClient(config.signIn.oidc, `${config.publicBaseUrl}/sign-in/oidc/callback`) : null
  const failures = new SharedLimit(fastify.services.store, 'auth-failure', config.limits.authFailuresPerMinute)
  const csp = pageCsp()

  // Forms post as application/x-www-form-urlencoded, here only: the API keeps refusing anything but JSON.
  await fastify.register(formbody, { bodyLimit: 8192 })
  await fastify.register(fastifyStatic, {
    root: path.join(projectRoot, 'web', 'assets'),
    prefix: '/assets/',
    cacheControl: false,
    setHeaders: (res) => { res.setHeader('cache-control', 'no-cache') }
  })

  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', csp)
      reply.header('cache-control', 'no-store')
    }
    return payload
  })

  const ctxOf = (request: FastifyRequest, actor = 'anonymous'): ActorContext => ({ actor, actorTokenId: null, requestId: request.id })
  const send = (reply: FastifyReply, page: Html, status = 200): FastifyReply => reply.code(status).type('text/html; charset=utf-8').send(page.text)

  /** The signed-in person, or null (their cookie is then cleared when it named nothing in force). */
  async function viewerOf (request: FastifyRequest, reply: FastifyReply): Promise<{ viewer: Viewer, session: BrowserSession } | null> {
    const secret = request.cookies[cookie.name]
    if (secret === undefined) return null
    const result = await signIn.authenticate(secret)
    if (!result.ok) {
      reply.clearCookie(cookie.name, sessionCookieOptions(cookie))
      return null
    }
    const p = result.session.principal
    return {
      session: result.session,
      viewer: { kind: p.kind, name: actorName(p), displayName: result.session.displayName, csrf: SignInService.csrfTokenFor(secret) }
    }
  }

  /** A page for signed-in people: anyone else is sent to sign in, and back here afterwards. */
  function signedInPage (
    url: string,
    render: (request: FastifyRequest, viewer: Viewer, session: BrowserSession) => Promise<{ page: Html, status?: number }>,
    who: 'anyone' | 'admin' | 'user' = 'anyone'
  ): void {
    fastify.get(url, { schema: { hide: true } }, async (request, reply) => {
      const signedIn = await viewerOf(request, reply)
      if (!signedIn) return reply.redirect(`/sign-in?return=${encodeURIComponent(safeReturn(request.url))}`, 303)
      if (who !== 'anyone' && signedIn.viewer.kind !== who) {
        return send(reply, refusalPage('Not for this account', who === 'admin'
          ? 'Only the administrator may see this page: sign in with an administrator token.'
          : 'This page is for directory users (novices and experts); the administrator has no computer to ask from and cannot redeem.',
        signedIn.viewer, html`<p><a href="/">Back</a></p>`), 403)
      }
      try {
        const { page, status } = await render(request, signedIn.viewer, signedIn.session)
        return send(reply, page, status)
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        return send(reply, refusalPage('Not possible', err.message, signedIn.viewer, html`<p><a href="/">Back</a></p>`), err.statusCode)
      }
    })
  }

  /**
   * Whether a form post comes from one of this service's own pages. Browsers say where a request comes from in
   * Sec-Fetch-Site (whatever the referrer policy: with `no-referrer`, a form's Origin is "null"), and in Origin.
   */
  function sameOrigin (request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site']
    if (site !== undefined) return site === 'same-origin'
    const origin = request.headers.origin
    if (origin === undefined) return true
    return origin === publicOrigin || origin === `${request.protocol}://${request.host}`
  }

  function signedInReply (reply: FastifyReply, signed: BrowserSignIn, returnTo: string): FastifyReply {
    reply.setCookie(cookie.name, signed.secret, sessionCookieOptions(cookie, signed.expiresAt))
    return reply.redirect(safeReturn(returnTo), 303)
  }

  /** A failed sign-in: counted against the address's budget of failed authentications, shown on the sign-in page. */
  async function signInRefused (request: FastifyRequest, reply: FastifyReply, err: unknown, returnTo: string): Promise<FastifyReply> {
    if (!(err instanceof AppError)) throw err
    const wait = await failures.take(request.ip)
    if (wait > 0) {
      reply.header('retry-after', String(wait))
      return send(reply, signInPage({ returnTo, oidc: oidc !== null, error: `Too many failed sign-ins from this address: try again in ${wait} s.` }), 429)
    }
    return send(reply, signInPage({ returnTo, oidc: oidc !== null, error: err.message }), err.statusCode)
  }

  fastify.get('/sign-in', { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const returnTo = safeReturn(query['return'])
    if (await viewerOf(request, reply)) return reply.redirect(returnTo, 303)
    const notice = query['signed-out'] !== undefined ? 'You are signed out.' : undefined
    return send(reply, signInPage({ returnTo, oidc: oidc !== null, notice }))
  })

  fastify.post('/sign-in/token', { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const returnTo = safeReturn(body['return'])
    if (!sameOrigin(request)) return send(reply, refusalPage('Sign-in refused', 'This sign-in did not come from this service\'s own page.', null), 403)
    const token = typeof body['token'] === 'string' ? body['token'].trim() : ''
    try {
      if (!/^[\x21-\x7e]{1,1024}$/.test(token)) throw new AppError('SIGN_IN_REFUSED', 'paste a whole API token (it starts with ra_)')
      return signedInReply(reply, await signIn.withToken(token, ctxOf(request)), returnTo)
    } catch (err) {
      return await signInRefused(request, reply, err, returnTo)
    }
  })

  fastify.get('/sign-in/link', { schema: { hide: true } }, async (_request, reply) => send(reply, signInLinkPage()))

  fastify.post('/sign-in/link', { schema: { hide: true } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    if (!sameOrigin(request)) return send(reply, refusalPage('Sign-in refused', 'This sign-in did not come from this service\'s own page.', null), 403)
    const code = typeof body['code'] === 'string' ? body['code'] : ''
    try {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(code)) throw new AppError('SIGN_IN_LINK_INVALID', 'this sign-in link is incomplete: open the whole link again')
      return signedInReply(reply, await signIn.withLink(code, ctxOf(request)), '/')
    } catch (err) {
      return await signInRefused(request, reply, err, '/')
    }
  })

  fastify.get('/sign-in/oidc', { schema: { hide: true } }, async (request, reply) => {
    if (!oidc) return send(reply, refusalPage('No identity provider', 'This service has no identity provider configured (RA_OIDC_ISSUER).', null), 404)
    const returnTo = safeReturn((request.query as Record<string, unknown>)['return'])
    const trip = { codeVerifier: oidcClient.randomPKCECodeVerifier(), nonce: oidcClient.randomNonce(), returnTo }
    try {
      const state = await signIn.beginRoundTrip(trip)
      const url = await oidc.authorizationUrl({ state, ...trip })
      reply.setCookie(ROUND_TRIP_COOKIE, state, { httpOnly: true, sameSite: 'lax', secure: cookie.secure, path: '/sign-in/oidc', maxAge: 600 })
      return reply.redirect(url.href, 302)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      return send(reply, signInPage({ returnTo, oidc: true, error: err.message }), err.statusCode)
    }
  })

  fastify.get('/sign-in/oidc/callback', { schema: { hide: true } }, async (request, reply) => {
    if (!oidc) return send(reply, refusalPage('No identity provider', 'This service has no identity provider configured (RA_OIDC_ISSUER).', null), 404)
    const query = request.query as Record<string, unknown>
    const bound = request.cookies[ROUND_TRIP_COOKIE]
    reply.clearCookie(ROUND_TRIP_COOKIE, { path: '/sign-in/oidc', httpOnly: true, sameSite: 'lax', secure: cookie.secure })
    const ctx = ctxOf(request)
    try {
      const state = query['state']
      // The answer must come back to the browser that asked: its state is the one this browser's cookie holds.
      if (typeof state !== 'string' || bound === undefined || state !== bound) {
        await repos.audit.record({ ...ctx, action: 'sign-in', target: null, outcome: 'denied', details: { method: 'oidc', code: 'SIGN_IN_STATE_INVALID' } })
        throw new AppError('SIGN_IN_STATE_INVALID', 'this sign-in answer does not belong to a sign-in started in this browser: start again')
      }
      const trip = await signIn.finishRoundTrip(state, ctx)
      if (typeof query['error'] === 'string') {
        const why = typeof query['error_description'] === 'string' ? query['error_description'] : query['error']
        throw new AppError('SIGN_IN_REFUSED', `the identity provider did not sign you in: ${why}`)
      }
      const callback = new URL(`/sign-in/oidc/callback${request.url.slice(request.url.indexOf('?'))}`, config.publicBaseUrl)
      const claim = await oidc.usernameFrom(callback, { state, codeVerifier: trip.codeVerifier, nonce: trip.nonce })
      return signedInReply(reply, await signIn.withIdentity(claim, ctx), trip.returnTo)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      const title = err.code === 'SIGN_IN_REFUSED' ? 'Sign-in refused' : 'Sign-in failed'
      return send(reply, refusalPage(title, err.message, null, html`<p><a href="/sign-in">Sign in again</a></p>`), err.statusCode)
    }
  })

  fastify.post('/sign-out', { schema: { hide: true } }, async (request, reply) => {
    const secret = request.cookies[cookie.name]
    const body = (request.body ?? {}) as Record<string, unknown>
    const signedIn = await viewerOf(request, reply)
    if (!signedIn || secret === undefined) return reply.redirect('/sign-in?signed-out', 303)
    if (!SignInService.csrfTokenMatches(secret, typeof body['csrf'] === 'string' ? body['csrf'] : undefined)) {
      return send(reply, refusalPage('Not signed out', 'This request did not come from this service\'s own page (its CSRF token is missing or wrong).',
        signedIn.viewer, html`<p><a href="/">Back</a></p>`), 403)
    }
    const p = signedIn.session.principal
    await signIn.signOut(signedIn.session, { actor: actorName(p), actorTokenId: signedIn.session.id, requestId: request.id })
    reply.clearCookie(cookie.name, sessionCookieOptions(cookie))
    return reply.redirect('/sign-in?signed-out', 303)
  })

  signedInPage('/', async (_request, viewer, session) => {
    const page = await sessions.list({ limit: 20 }, session.principal)
    return { page: homePage(viewer, page.items) }
  })

  signedInPage('/redeem', async (_request, viewer) => ({ page: redeemPage(viewer) }), 'user')

  signedInPage('/sessions/:id', async (request, viewer) => {
    const id = (request.params as { id: string }).id
    if (!UUID.test(id)) throw new AppError('NOT_FOUND', 'there is no such session')
    return { page: sessionPage(viewer, id) }
  })

  signedInPage('/ask', async (_request, viewer, session) => ({ page: askPage(viewer, await invitations.me(session.principal)) }), 'user')

  signedInPage('/admin/computers', async (_request, viewer) => {
    const page = await repos.computers.list({ limit: 500 })
    return { page: computersPage(viewer, page.items.map((c) => ({ id: c.id, name: c.name, platform: c.platform }))) }
  }, 'admin')

  signedInPage('/admin/computers/:id', async (request, viewer) => {
    const id = (request.params as { id: string }).id
    if (!UUID.test(id)) throw new AppError('NOT_FOUND', 'there is no such computer')
    const query = request.query as Record<string, unknown>
    const effective = await policy.effectivePolicy(id)
    const readiness = await offers.readiness(id)
    const expert = typeof query['expert'] === 'string' ? query['expert'].trim().slice(0, 300) : ''
    const expertComputer = typeof query['expertComputer'] === 'string' ? query['expertComputer'].trim().slice(0, 300) : ''
    let offer = null
    if (expert !== '') {
      try {
        offer = { expert, expertComputer, result: await offers.check(id, expert, expertComputer === '' ? undefined : expertComputer) }
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        offer = { expert, expertComputer, result: { error: err.message } }
      }
    }
    return { page: computerPage(viewer, { computer: effective.computer, settings: effective.settings, readiness, offer }) }
  }, 'admin')
}
