import cluster, { type Worker } from 'node:cluster'
import pino from 'pino'
import { AggregatorRegistry } from 'prom-client'
import type { Config } from '../config.js'
import { logDestination, logWritten, REDACTED_PATHS } from '../logging.js'
import { isPeerMessage, type MetricsJson, type PeerMessage, WORKER_INDEX_ENV } from './peers.js'

/** A worker that stops within this long of its start is restarted after a growing delay, not at once. */
const STEADY_MS = 10_000
const MAX_RESTART_DELAY_MS = 30_000
/** A worker that has not sent its metrics within this long is left out of that scrape (a stuck worker fails no scrape). */
const COLLECT_TIMEOUT_MS = 2000

/**
 * The primary process of RA_WORKERS > 1 (node:cluster): it opens no database and answers no request. It starts the
 * first worker alone (it applies the migrations and registers the first administrator token, as a single process
 * would), then the others; all of them listen on RA_PORT, and the primary hands each new connection to the next
 * worker in turn. It passes one worker's notifications (session events committed) to the others, gathers every
 * worker's metrics for GET /metrics, starts another worker when one stops unasked, and on SIGTERM or SIGINT stops
 * them all (each finishes its in-flight requests, as one process does) and exits.
 *
 * Resolves once every worker listens; rejects when a worker fails to start (it has said why on stderr), after
 * stopping the others.
 */
export async function runPrimary (config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, logDestination())
    .child({ cluster: 'primary' })
  const workers: Array<Worker | null> = new Array<Worker | null>(config.workers).fill(null)
  /** The workers that said they serve, and have not exited since. */
  const serving = new Set<Worker>()
  const quickStops = new Array<number>(config.workers).fill(0)
  let started = false
  let stopping = false

  // Metrics: every serving worker's own, merged as prom-client merges a cluster's (each metric's `aggregator`).
  const collecting = new Map<number, { pending: Set<Worker>, parts: MetricsJson[], finish: () => void }>()
  let nextCollect = 0
  const gather = async (): Promise<string> => {
    const id = nextCollect++
    const targets = [...serving].filter((w) => w.isConnected())
    const parts = await new Promise<MetricsJson[]>((resolve) => {
      const entry = {
        pending: new Set(targets),
        parts: [] as MetricsJson[],
        finish: () => {
          clearTimeout(timer)
          collecting.delete(id)
          resolve(entry.parts)
        }
      }
      const timer = setTimeout(entry.finish, COLLECT_TIMEOUT_MS)
      collecting.set(id, entry)
      for (const worker of targets) worker.send({ ra: 'collect', id } satisfies PeerMessage)
      if (targets.length === 0) entry.finish()
    })
    return AggregatorRegistry.aggregate(parts).metrics()
  }
  const answered = (from: Worker, id: number | null, metrics: MetricsJson | null) => {
    for (const [key, entry] of collecting) {
      if (id !== null && key !== id) continue
      if (!entry.pending.delete(from)) continue
      if (metrics !== null) entry.parts.push(metrics)
      if (entry.pending.size === 0) entry.finish()
    }
  }

  cluster.on('message', (from: Worker, message: unknown) => {
    if (!isPeerMessage(message)) return
    if (message.ra === 'ready') {
      serving.add(from)
      from.emit('ra-ready')
    } else if (message.ra === 'notify') {
      for (const worker of serving) if (worker !== from && worker.isConnected()) worker.send(message)
    } else if (message.ra === 'own') {
      answered(from, message.id, message.metrics)
    } else if (message.ra === 'metrics' && !('text' in message) && !('error' in message)) {
      const answer = (reply: PeerMessage) => { if (from.isConnected()) from.send(reply) }
      gather().then(
        (text) => answer({ ra: 'metrics', id: message.id, text }),
        (err: unknown) => {
          log.error({ err }, 'the workers\' metrics could not be merged')
          answer({ ra: 'metrics', id: message.id, error: 'the workers\' metrics could not be merged' })
        })
    }
  })

  /** Forks the worker for `index`; resolves with it once it serves (it says so once it listens), rejects if it exits first. */
  const fork = (index: number): Promise<Worker> => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) })
    workers[index] = worker
    const forkedAt = Date.now()
    let listening = false
    worker.once('exit', (code, signal) => {
      if (workers[index] === worker) workers[index] = null
      serving.delete(worker)
      answered(worker, null, null)
      // While the service starts, a worker that stops fails the start (below); once it serves, one is replaced.
      if (stopping || !started) return
      // A worker that stops unasked (a crash, an out-of-memory kill) is replaced; one that keeps stopping soon after
      // its start is replaced after a growing delay, so that a fault that recurs does not become a busy loop.
      quickStops[index] = Date.now() - forkedAt < STEADY_MS ? quickStops[index]! + 1 : 0
      const delayMs = quickStops[index] === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (quickStops[index]! - 1))
      log.error({ worker: index, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'a worker stopped; starting another')
      setTimeout(() => {
        if (stopping) return
        // One that stops before it serves is replaced in turn, by its own exit (above).
        fork(index).then((again) => log.info({ worker: index, pid: again.process.pid }, 'worker started again'), () => {})
      }, delayMs)
    })
    return new Promise((resolve, reject) => {
      worker.once('ra-ready', () => { listening = true; resolve(worker) })
      worker.once('exit', (code, signal) => {
        if (!listening) reject(new WorkerStartError(index, code, signal))
      })
    })
  }

  const stopAll = (signal: NodeJS.Signals): Promise<void> => {
    stopping = true
    const running = workers.filter((w): w is Worker => w !== null && !w.isDead())
    return Promise.all(running.map((worker) => new Promise<void>((resolve) => {
      worker.once('exit', () => resolve())
      worker.process.kill(signal)
    }))).then(() => {})
  }

  let exitCode = 0
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return
    log.info({ signal }, 'shutting down')
    // Each worker has RA_SHUTDOWN_TIMEOUT_MS for its requests, then exits anyway; a little more here for its exit.
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'workers did not stop in time; exiting anyway')
      logWritten().then(() => process.exit(1), () => process.exit(1))
    }, config.shutdownTimeoutMs + 5000)
    timer.unref()
    stopAll('SIGTERM').then(() => {
      log.info('stopped')
      return logWritten().then(() => process.exit(exitCode))
    }, () => process.exit(1))
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))

  try {
    await fork(0)
    await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => fork(i + 1)))
    started = true
  } catch (err) {
    // SIGTERM or SIGINT while the workers start: shutdown() stops them and exits 0; not a failed start.
    if (stopping) return
    exitCode = 1
    await stopAll('SIGTERM')
    throw err
  }
  log.info({ workers: config.workers, publicBaseUrl: config.publicBaseUrl, database: config.databaseUrl === undefined ? config.databaseFile : 'postgres' },
    'Remote Assistance ticket service ready')
}

/** A worker exited before it listened: its own stderr says why (configuration, migrations, the database). */
export class WorkerStartError extends Error {
  constructor (readonly index: number, readonly code: number | null, readonly signal: string | null) {
    super(`worker ${index} stopped before it could serve (exit code ${code ?? '-'}${signal === null ? '' : `, signal ${signal}`})`)
  }
}
