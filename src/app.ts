import { randomUUID } from 'node:crypto'
import cookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv, type Options as AjvOptions } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import type { Server } from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import { loggingOptions } from './logging.js'
import auth from './plugins/auth.js'
import bootstrapAdmin from './plugins/bootstrap-admin.js'
import connections, { connectionOptions } from './plugins/connections.js'
import errors from './plugins/errors.js'
import metrics from './plugins/metrics.js'
import pathRefs from './plugins/path-refs.js'
import rateLimit from './plugins/rate-limit.js'
import security from './plugins/security.js'
import { sessionCookie } from './plugins/session-cookie.js'
import storage from './plugins/storage.js'
import swagger from './plugins/swagger.js'
import audit from './routes/audit.js'
import directory from './routes/directory.js'
import health from './routes/health.js'
import invitations from './routes/invitations.js'
import metricsRoute from './routes/metrics.js'
import offers from './routes/offers.js'
import policies from './routes/policies.js'
import sessions from './routes/sessions.js'
import tokens from './routes/tokens.js'
import webhooks from './routes/webhooks.js'
import web from './web/index.js'

export interface AppOptions {
  config: Config
}

/** Options that must be given when the fastify instance is created. */
export function serverOptions (config: Config): FastifyHttpOptions<Server> {
  return {
    ...loggingOptions(config.logLevel),
    bodyLimit: config.bodyLimit,
    genReqId: () => randomUUID(),
    // Do not adopt a client-chosen request id: it ends up in logs and the audit trail.
    requestIdHeader: false,
    return503OnClosing: true,
    // fastify accepts a hop count too; its types only list the other forms.
    trustProxy: config.trustProxy as boolean | string,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { ignoreTrailingSlash: true },
    ...connectionOptions(config)
  }
}

/**
 * Body validation never coerces types or drops unknown fields: a wrong type
 * or an unknown field is a 400. Query strings and path parameters arrive as
 * strings, so there numbers and booleans are coerced.
 */
function validators (): { body: Ajv, other: Ajv } {
  const base: AjvOptions = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false, verbose: true }
  const body = new Ajv({ ...base, coerceTypes: false })
  const other = new Ajv({ ...base, coerceTypes: 'array' })
  addFormats.default(body)
  addFormats.default(other)
  return { body, other }
}

/**
 * The whole service as one plugin: external plugins, then storage and services, then routes.
 * Wrapped with fastify-plugin so its decorators (services, swagger) are visible to whoever registers it.
 */
export const app = fp<AppOptions>(async (fastify, { config }) => {
  const ajv = validators()
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.other).compile(schema))

  // A JSON API: any other body type is 415, not a string that fails validation later.
  fastify.removeContentTypeParser('text/plain')
  // An empty body is no body: many HTTP clients send `content-type: application/json` with none on
  // body-less commands (decline, end…). Anything else goes to fastify's own parser (prototype poisoning refused).
  const json = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined)
    return json(request, String(body), done)
  })

  // Every response names its request id, so a caller can quote it and an operator find the log lines.
  // Callback-style, like every hook that runs on each request: an async one costs a promise and a turn of the microtask queue.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  // First: its request timing must reach every route and the 404 handler.
  await fastify.register(metrics, { config })
  await fastify.register(errors)
  await fastify.register(connections, { maxConnections: config.connections.max })
  await fastify.register(security, { config })
  await fastify.register(swagger)
  await fastify.register(storage, { config })
  await fastify.register(bootstrapAdmin, { config })
  await fastify.register(cookie)
  await fastify.register(auth, { authFailuresPerMinute: config.limits.authFailuresPerMinute, sessionCookie: sessionCookie(config.publicBaseUrl) })
  await fastify.register(rateLimit, { perMinute: config.limits.perMinute })
  await fastify.register(pathRefs)

  await fastify.register(health)
  await fastify.register(tokens)
  await fastify.register(webhooks)
  await fastify.register(directory, { importBodyLimit: config.importBodyLimit })
  await fastify.register(policies, { importBodyLimit: config.policyImportBodyLimit })
  await fastify.register(invitations, {
    redemptionsPerMinute: config.limits.redemptionsPerMinute,
    redemptionsPerAddressPerMinute: config.limits.redemptionsPerAddressPerMinute
  })
  await fastify.register(sessions, { heartbeatMs: config.sessions.heartbeatMs })
  await fastify.register(offers)
  await fastify.register(audit)
  if (config.metricsPort === undefined) await fastify.register(metricsRoute)
  await fastify.register(web, { config })
}, { name: 'ra-ticket-service' })

/** A ready-to-use instance of the service (not listening). */
export async function buildApp (config: Config, overrides: Partial<FastifyServerOptions> = {}): Promise<FastifyInstance> {
  const fastify = Fastify({ ...serverOptions(config), ...overrides }).withTypeProvider<TypeBoxTypeProvider>()
  await fastify.register(app, { config })
  await fastify.ready()
  return fastify
}
