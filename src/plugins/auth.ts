import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { actorName, authorize, type Principal, type RouteAccess } from '../domain/access.js'
import { AppError } from '../errors.js'
import type { ActorContext } from '../services/context.js'
import { SharedLimit } from '../services/limits.js'
import { sendError } from './errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every /v1 route: who may call it. */
    access?: RouteAccess
  }
  interface FastifyRequest {
    principal: Principal | null
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
export function callerOf (request: FastifyRequest): { principal: Principal, ctx: ActorContext } {
  return { principal: principalOf(request), ctx: actorContext(request) }
}

const isApiRoute = (url: string): boolean => url === '/v1' || url.startsWith('/v1/')

/**
 * Bearer-token authentication and route-level authorization for everything
 * under /v1, before the body is even read. A /v1 route that does not declare
 * its `access` fails at startup: nothing is reachable by omission.
 */
export default fp<{ authFailuresPerMinute: number }>(async (fastify, opts) => {
  fastify.decorateRequest('principal', null)
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
    const { tokens, audit } = fastify.services
    const route = `${request.method} ${request.routeOptions.url}`
    const result = await tokens.authenticate(request.headers.authorization)
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
    const decision = authorize(result.principal, access)
    if (!decision.allowed) {
      await audit.record({
        actor: actorName(result.principal),
        actorTokenId: result.principal.tokenId,
        requestId: request.id,
        action: 'auth.denied',
        target: route,
        outcome: 'denied',
        details: { code: decision.code, scope: access.scope }
      })
      return sendError(reply, request, new AppError(decision.code, `${route}: ${decision.reason}`))
    }
    request.principal = result.principal
  })
}, { name: 'auth', dependencies: ['storage', 'errors'] })
