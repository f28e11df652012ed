import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import { Peers } from '../cluster/peers.js'
import type { Config } from '../config.js'
import { MetricsRepository } from '../repositories/metrics-repository.js'
import { Metrics, UNMATCHED_ROUTE } from '../services/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
    /** The listener of RA_METRICS_PORT once the app is ready (its address() gives the port); null without one. */
    metricsServer: Server | null
  }
}

/**
 * The app's metrics (services/metrics.ts) and what feeds them. Registered
 * before every other plugin: fastify gives a route (and the 404 handler) the
 * hooks that exist when the plugin declaring it has loaded, and every answer
 * is timed. The storage comes later, so the audit events and the gauges are
 * wired when the app is ready.
 *
 * With RA_METRICS_PORT, GET /metrics is served on a listener of its own on
 * RA_HOST, without authentication (a port that need not be public), and not on
 * the main port; otherwise routes/metrics.ts serves it there, authenticated.
 */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  const metrics = new Metrics((err) => fastify.log.warn({ err }, 'a metric could not be read from the database'), Peers.ofThisProcess())
  fastify.decorate('metrics', metrics)
  fastify.decorate('metricsServer', null)

  // Cheap on purpose: one observation per answer, labelled with the route's template, never the URL.
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })

  fastify.addHook('onReady', async () => {
    metrics.watch(fastify.services.store, new MetricsRepository(fastify.services.storage), fastify.services.storage)
    if (config.metricsPort === undefined) return
    const server = metricsListener(metrics, config, fastify.log)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.metricsPort, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => fastify.log.error({ err }, 'the metrics listener failed'))
    fastify.metricsServer = server
    fastify.log.info({ address: server.address() }, 'metrics are served on RA_METRICS_PORT')
  })
  fastify.addHook('onClose', async () => {
    const server = fastify.metricsServer
    if (server === null) return
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  })
}, { name: 'metrics' })

/** A small HTTP server for GET /metrics alone, with the main port's deadlines. */
function metricsListener (metrics: Metrics, config: Config, log: { error: (obj: object, msg: string) => void }): Server {
  const { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs } = config.connections
  const server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: headersTimeoutMs, keepAliveTimeout: keepAliveTimeoutMs },
    (request: IncomingMessage, response: ServerResponse) => {
      const path = (request.url ?? '/').split('?')[0]
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found: only GET /metrics is served here\n')
        return
      }
      metrics.text().then((text) => {
        response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      }, (err: unknown) => {
        log.error({ err }, 'metrics could not be collected')
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n')
      })
    })
  // A wedged scraper holds no socket for long.
  server.maxConnections = 32
  return server
}
