import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import pino from 'pino'

/** Header and body fields that may carry secrets: never logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'req.headers["last-event-id"]',
  '*.password', '*.ticket', '*.token', '*.RA_SMTP_URL', '*.RA_BOOTSTRAP_ADMIN_TOKEN', '*.RA_KEY_ENCRYPTION_SECRET'
]

/**
 * One log line per request, when it completes, with method, URL, client,
 * status and time; fastify's "incoming request" line is left out (profiled:
 * the two lines cost about a tenth of a cheap authenticated call).
 *
 * The line of a request that completed holds those fields alone (fastify's
 * request and reply serializers pick them: no header, no body), none of which
 * can hold a secret the redaction would remove, so it is written through a
 * child logger without redaction. Redaction's wildcard paths walk and copy
 * every value of a line: measured at 11 of the line's 13 µs, on every request.
 * A line with an error goes through the redacting logger, as every other line.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest (): void {}
  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
      return
    }
    const log = unredacted(request.server.log)
    if (!log.isLevelEnabled('info')) return
    log.info({ reqId: request.id, req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}

const plainChildren = new WeakMap<FastifyBaseLogger, pino.Logger>()

/** The app's logger (pino's, as fastify made it) without redaction: same destination, level and bindings; made once per logger. */
function unredacted (log: FastifyBaseLogger): pino.Logger {
  let plain = plainChildren.get(log)
  if (plain === undefined) {
    plain = (log as pino.Logger).child({}, { redact: { paths: [] } })
    plainChildren.set(log, plain)
  }
  return plain
}

type Destination = ReturnType<typeof pino.destination>

let destination: Destination | undefined

/**
 * Standard output, written without blocking the event loop: a line is queued
 * and written by libuv's thread pool, with every line queued meanwhile going
 * out in the next write (profiled at 17 % of an authenticated no-op when each
 * line was written synchronously). One per process, whatever the number of app
 * instances built in it. pino writes what is queued on a normal exit;
 * `exitOnCrash` does on a crash, where Node runs no exit handlers.
 */
export function logDestination (): Destination {
  destination ??= pino.destination({ dest: 1, sync: false })
  return destination
}

type LoggingOptions = Required<Pick<FastifyServerOptions, 'logController'>> & { logger: pino.LoggerOptions & { stream: pino.DestinationStream } }

/** The service's logging: level, redaction, the asynchronous destination, one line per request. */
export function loggingOptions (level: string): LoggingOptions {
  return {
    logger: { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, stream: logDestination() },
    logController: new OneLinePerRequest()
  }
}

/** How long an exit waits for the log's write under way (a stalled collector must not keep a process from ending). */
const EXIT_LOG_DEADLINE_MS = 3000

/**
 * Resolves once the log's write under way in the thread pool (if any) is done,
 * or after `deadlineMs`. On exit pino writes whatever is still queued
 * synchronously; waiting first means it never races a write under way, so
 * lines come out whole and in order.
 */
export function logWritten (deadlineMs = EXIT_LOG_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs
  return new Promise((resolve) => {
    const check = () => {
      if (destination === undefined || !writing(destination) || Date.now() >= deadline) resolve()
      else setTimeout(check, 5)
    }
    check()
  })
}

/** Whether the destination has a write under way (sonic-boom keeps it in a field of its own, which the crash test pins). */
const writing = (stream: Destination): boolean => (stream as unknown as { _writing?: boolean })._writing === true

/**
 * A crash (an exception or rejection nothing handled) is logged as the last
 * line, at level fatal (pino then writes it and everything queued before it
 * synchronously), and the process exits 1: an orchestrator restarts it, and
 * the operator reads why.
 */
export function exitOnCrash (log: () => FastifyBaseLogger | undefined): void {
  let crashed = false
  process.on('uncaughtException', (err, origin) => {
    // A second failure while the log drains (a request still being answered) changes nothing.
    if (crashed) return
    crashed = true
    logWritten().then(() => {
      try {
        const logger = log()
        if (logger) logger.fatal({ err, origin }, 'the service crashed')
        else process.stderr.write(`ra-ticket-service: crashed: ${err instanceof Error ? err.stack : String(err)}\n`)
      } finally {
        process.exit(1)
      }
    }, () => process.exit(1))
  })
}
