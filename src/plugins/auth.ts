import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Freshness } from '../db/directory-cache.js'
import { actorName, authorize, type Principal, type RouteAccess } from '../domain/access.js'
import { AppError } from '../errors.js'
import type { ActorContext, Caller } from '../services/context.js'
import { SharedLimit } from '../services/limits.js'
import { SignInService, type BrowserSession } from '../services/sign-in-service.js'
import { sendError } from './errors.js'
import { CSRF_HEADER, SAFE_METHODS, sessionCookieOptions, type SessionCookie } from './session-cookie.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every /v1 route: who may call it. */
    access?: RouteAccess
  }
  interface FastifyRequest {
    principal: Principal | null
    /** Set when the caller is a page, signed in with the session cookie instead of a Bearer token. */
    browserSession: BrowserSession | null
    /** The request's mark for the directory cache, taken as it is authenticated (DirectoryCache.mark). */
    freshness: Freshness | undefined
  }
}

/** The authenticated caller; only call from /v1 handlers, which cannot run without one. */
export function principalOf (request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('no principal on an authenticated route')
  return request.principal
}

export function actorContext (request: FastifyRequest): ActorContext {
  const principal = principalOf(request)
  return { actor: actorName(principal), actorTokenId: principal.tokenId, requestId: request.id }
}

/** The principal and audit context together, for services that decide per principal (O11). */
export function callerOf (request: FastifyRequest): Caller {
  return { principal: principalOf(request), ctx: actorContext(request), since: request.freshness }
}

/** Everything under /v1, and /metrics on the main port (with RA_METRICS_PORT set, it is served on that port instead, without a token). */
const isApiRoute = (url: string): boolean => url === '/v1' || url.startsWith('/v1/') || url === '/metrics'

/**
 * Bearer-token authentication and route-level authorization for everything
 * under /v1, before the body is even read. A /v1 route that does not declare
 * its `access` fails at startup: nothing is reachable by omission.
 *
 * The pages call the same API signed in with their session cookie instead:
 * only when no Authorization header is sent, and a request that changes
 * something must then carry the page's CSRF token.
 */
export default fp<{ authFailuresPerMinute: number, sessionCookie: SessionCookie }>(async (fastify, opts) => {
  fastify.decorateRequest('principal', null)
  fastify.decorateRequest('browserSession', null)
  fastify.decorateRequest('freshness', undefined)
  // Failed authentications per client address, counted in the database so that the budget holds across every
  // instance: past it, every failing attempt from the address gets 429 for the rest of the minute.
  const failures = new SharedLimit(fastify.services.store, 'auth-failure', opts.authFailuresPerMinute)

  fastify.addHook('onRoute', (route) => {
    if (isApiRoute(route.url) && !route.config?.access) {
      throw new Error(`route ${String(route.method)} ${route.url} does not declare config.access`)
    }
  })

  fastify.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access
    if (!access || !isApiRoute(request.routeOptions.url ?? '')) return
    const { tokens, audit, store } = fastify.services
    // Every cached lookup of this request (its token, computers, policies, keys) reads the directory as of now or later.
    const since = store.repos.cache?.mark()
    request.freshness = since
    const route = `${request.method} ${request.routeOptions.url}`
    const cookie = request.headers.authorization === undefined ? request.cookies[opts.sessionCookie.name] : undefined
    if (cookie !== undefined) {
      const browser = await fastify.services.signIn.authenticate(cookie)
      if (!browser.ok) {
        reply.clearCookie(opts.sessionCookie.name, sessionCookieOptions(opts.sessionCookie))
        // Counted like a failed token: made-up cookies are no way around the address's budget.
        const wait = await failures.take(request.ip)
        if (wait > 0) {
          return sendError(reply, request,
            new AppError('AUTH_RATE_LIMITED', `too many failed authentications from this address; retry in ${wait} s`, { retryAfterS: wait }))
        }
        return sendError(reply, request, browser.error)
      }
      if (!SAFE_METHODS.has(request.method) && !SignInService.csrfTokenMatches(cookie, headerValue(request.headers[CSRF_HEADER]))) {
        await audit.record({
          actor: actorName(browser.session.principal),
          actorTokenId: browser.session.id,
          requestId: request.id,
          action: 'auth.csrf-refused',
          target: route,
          outcome: 'denied',
          details: { ip: request.ip, origin: headerValue(request.headers.origin) ?? null }
        })
        return sendError(reply, request, new AppError('CSRF_TOKEN_INVALID',
          `${route}: a signed-in page must send its CSRF token in the ${CSRF_HEADER} header; reload the page`))
      }
      return authorizeAs(browser.session.principal, browser.session)
    }
    const result = await tokens.authenticate(request.headers.authorization, since)
    if (!result.ok) {
      // Failures are throttled, not credentials: past the budget an address's failed attempts get 429 (and are
      // not audited one by one), but a valid token from the same address (a NAT, a proxy) still authenticates.
      // One counting statement decides, so concurrent failures on several instances are each counted once.
      const wait = await failures.take(request.ip)
      if (wait > 0) {
        return sendError(reply, request, new AppError(
          'AUTH_RATE_LIMITED',
          `too many failed authentications from this address; retry in ${wait} s`,
          { retryAfterS: wait }
        ))
      }
      await audit.record({
        actor: 'anonymous',
        actorTokenId: result.tokenId ?? null,
        requestId: request.id,
        action: 'auth.failure',
        target: route,
        outcome: 'failure',
        details: { code: result.error.code, ip: request.ip }
      })
      reply.header('www-authenticate', `Bearer realm="ra", error="${result.error.code === 'AUTH_REQUIRED' ? 'invalid_request' : 'invalid_token'}"`)
      return sendError(reply, request, result.error)
    }
    return authorizeAs(result.principal, null)

    async function authorizeAs (principal: Principal, browserSession: BrowserSession | null): Promise<unknown> {
      const decision = authorize(principal, access!)
      if (!decision.allowed) {
        await audit.record({
          actor: actorName(principal),
          actorTokenId: principal.tokenId,
          requestId: request.id,
          action: 'auth.denied',
          target: route,
          outcome: 'denied',
          details: { code: decision.code, scope: access!.scope }
        })
        return sendError(reply, request, new AppError(decision.code, `${route}: ${decision.reason}`))
      }
      request.principal = principal
      request.browserSession = browserSession
    }
  })
}, { name: 'auth', dependencies: ['storage', 'errors', '@fastify/cookie'] })

const headerValue = (value: string | string[] | undefined): string | undefined => Array.isArray(value) ? value[0] : value
