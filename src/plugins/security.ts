import { hash } from 'node:crypto'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import helmet, { type HelmetOptions } from 'helmet'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'
import pressure from './pressure.js'

/**
 * The request's rate-limit identity: its bearer token (hashed, never kept in
 * clear) when it has one, or its browser session, otherwise its client address. `request.ip` honours
 * X-Forwarded-For only when RA_TRUST_PROXY says so, so a forged header changes
 * nothing by default.
 */
function rateKey (request: FastifyRequest): string {
  const header = request.headers.authorization
  if (typeof header === 'string' && /^Bearer /i.test(header)) return 't:' + hash('sha256', header.slice(7), 'base64url').slice(0, 22)
  // A page signed in with its session cookie counts as that session, not as everyone behind its address.
  const session = SESSION_COOKIE.exec(request.headers.cookie ?? '')?.[1]
  if (session !== undefined) return 's:' + hash('sha256', session, 'base64url').slice(0, 22)
  return 'ip:' + request.ip
}

const SESSION_COOKIE = /(?:^|;\s*)(?:__Host-)?ra_session=([^;\s]{1,200})/

const HELMET: HelmetOptions = {
  // The API answers JSON; the strict default policy is fine for it and for the docs page.
  contentSecurityPolicy: {
    directives: {
      'default-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'style-src': ["'self'", "'unsafe-inline'"],
      'script-src': ["'self'"]
    }
  },
  crossOriginResourcePolicy: { policy: 'same-origin' }
}

/**
 * Helmet's headers, computed once: they do not depend on the request, and
 * @fastify/helmet rebuilt them (parsing the CSP) on every request, measured at
 * 7 % of a cheap authenticated call. Helmet runs once, as the Node middleware
 * it is, on a real (unsent) http.ServerResponse, and the headers it set are kept.
 */
export function securityHeaders (options: HelmetOptions = HELMET): Record<string, string> {
  const request = new IncomingMessage(new Socket())
  const response = new ServerResponse(request)
  helmet(options)(request, response, (err?: unknown) => { if (err) throw err })
  return Object.fromEntries(Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]))
}

/** Security headers on every response, rate limits, and 503 under pressure. */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const headers = securityHeaders()
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })

  await fastify.register(rateLimit, {
    global: true,
    max: config.limits.perMinute,
    timeWindow: 60_000,
    keyGenerator: rateKey,
    // Health, docs and JWKS stay reachable; everything under /v1 is limited.
    allowList: (request) => !request.url.startsWith('/v1'),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    errorResponseBuilder: (_request, context) =>
      new AppError(
        'RATE_LIMITED',
        `too many requests: at most ${context.max} a minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
        { retryAfterS: context.ttl / 1000 }
      )
  })

  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = config.limits
  await fastify.register(pressure, { limits: { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } })
}, { name: 'security', dependencies: ['errors'] })
