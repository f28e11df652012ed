import cluster from 'node:cluster'
import { hostname } from 'node:os'
import { buildApp } from './app.js'
import { Peers } from './cluster/peers.js'
import { runPrimary, WorkerStartError } from './cluster/primary.js'
import { ConfigError, loadConfig } from './config.js'
import { MigrationError } from './db/migrate.js'
import { DatabaseStartError } from './db/storage.js'
import { exitOnCrash, loggingOptions, logWritten } from './logging.js'
import { ConfigurationError } from './services/tickets.js'
import type { FastifyInstance } from 'fastify'

let app: FastifyInstance | undefined
exitOnCrash(() => app?.log)

/**
 * Starts the service and stops it cleanly: on SIGTERM or SIGINT it stops
 * accepting connections, lets in-flight requests finish (up to
 * RA_SHUTDOWN_TIMEOUT_MS), closes the database, and exits. With RA_WORKERS > 1
 * this process is the cluster's primary (cluster/primary.ts) and each worker
 * runs this same function.
 */
async function main (): Promise<void> {
  const config = loadConfig()
  if (cluster.isPrimary && config.workers > 1) return runPrimary(config)
  const peers = Peers.ofThisProcess()
  // A worker's every line says which worker it is (pino's base bindings, written once per logger, not per line).
  const built = await buildApp(config, peers === null
    ? {}
    : { logger: { ...loggingOptions(config.logLevel).logger, base: { pid: process.pid, hostname: hostname(), worker: peers.index } } })
  app = built
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    built.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      built.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; exiting anyway')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    timer.unref()
    built.close().then(() => {
      built.log.info('stopped')
      return logWritten().then(() => process.exit(0))
    }, (err: unknown) => {
      built.log.error({ err }, 'error while shutting down')
      return logWritten().then(() => process.exit(1))
    })
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  // A worker whose primary is gone (killed outright) stops too: nothing would restart it or stop it any more.
  if (peers !== null) process.once('disconnect', () => shutdown('the cluster\'s primary process is gone'))
  await built.listen({ host: config.host, port: config.port })
  if (peers === null) {
    built.log.info({ publicBaseUrl: config.publicBaseUrl, database: config.databaseFile }, 'Remote Assistance ticket service ready')
  } else {
    built.log.info('worker ready')
    peers.ready()
  }
}

main().catch((err: unknown) => {
  // Configuration and migration problems are the operator's to fix: say what, without a stack.
  if (err instanceof ConfigError || err instanceof MigrationError || err instanceof ConfigurationError || err instanceof DatabaseStartError ||
    err instanceof WorkerStartError) {
    process.stderr.write(`ra-ticket-service: ${err.message}\n`)
  } else {
    process.stderr.write(`ra-ticket-service: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  }
  process.exit(1)
})
