import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { MigrationError } from './db/migrate.js'
import { DatabaseStartError } from './db/storage.js'
import { exitOnCrash, logWritten } from './logging.js'
import { ConfigurationError } from './services/tickets.js'
import type { FastifyInstance } from 'fastify'

let app: FastifyInstance | undefined
exitOnCrash(() => app?.log)

/**
 * Starts the service and stops it cleanly: on SIGTERM or SIGINT it stops
 * accepting connections, lets in-flight requests finish (up to
 * RA_SHUTDOWN_TIMEOUT_MS), closes the database, and exits.
 */
async function main (): Promise<void> {
  const config = loadConfig()
  const built = await buildApp(config)
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
  await built.listen({ host: config.host, port: config.port })
  built.log.info({ publicBaseUrl: config.publicBaseUrl, database: config.databaseFile }, 'Remote Assistance ticket service ready')
}

main().catch((err: unknown) => {
  // Configuration and migration problems are the operator's to fix: say what, without a stack.
  if (err instanceof ConfigError || err instanceof MigrationError || err instanceof ConfigurationError || err instanceof DatabaseStartError) {
    process.stderr.write(`ra-ticket-service: ${err.message}\n`)
  } else {
    process.stderr.write(`ra-ticket-service: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  }
  process.exit(1)
})
