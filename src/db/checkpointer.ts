import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from './database.js'

/**
 * WAL checkpoints on a worker thread with its own connection, instead of
 * inline on the request path: SQLite's automatic checkpoint runs inside the
 * commit that crosses the threshold, and measured here it took more than half
 * of an insert-heavy endpoint's time (copying pages and an fsync, about 20 ms
 * each). The worker runs a PASSIVE checkpoint every `intervalMs`, which never
 * blocks writers; the request path keeps an automatic checkpoint only as a
 * backstop, at a threshold it does not reach while the worker keeps up.
 *
 * An eval'd CommonJS worker, so it runs the same from TypeScript sources
 * (tests) and from the build.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs })
let timer
const run = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)')
    parentPort.postMessage({ ok: true, busy: result.busy, log: result.log, checkpointed: result.checkpointed })
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) })
  }
  timer = setTimeout(run, workerData.intervalMs)
}
timer = setTimeout(run, workerData.intervalMs)
parentPort.on('message', (message) => {
  if (message !== 'stop') return
  clearTimeout(timer)
  db.close()
  parentPort.close()
})
`

/** WAL pages after which the request path checkpoints itself, if the worker falls behind (SQLite's default is 1000). */
export const BACKSTOP_PAGES = 10_000

export interface CheckpointResult { ok: boolean, busy?: number, log?: number, checkpointed?: number, error?: string }

export class Checkpointer {
  private readonly worker: Worker
  private readonly waiting: Array<(r: CheckpointResult) => void> = []
  private stopped = false
  private readonly exited: Promise<void>
  /** Checkpoints completed so far (for tests and diagnostics). */
  runs = 0

  constructor (db: Db, file: string, options: { intervalMs: number, busyTimeoutMs: number, onError: (message: string) => void }) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`)
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file,
        intervalMs: options.intervalMs,
        busyTimeoutMs: options.busyTimeoutMs
      }
    })
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.worker.on('message', (r: CheckpointResult) => {
      this.runs++
      if (!r.ok) options.onError(r.error ?? 'unknown error')
      for (const resolve of this.waiting.splice(0)) resolve(r)
      if (!this.stopped) this.worker.unref()
    })
    this.worker.on('error', (err) => {
      // Without the worker, SQLite's own inline checkpoints take over again.
      db.pragma('wal_autocheckpoint = 1000')
      options.onError(err.message)
    })
    // After the listeners: adding a 'message' listener references the worker again.
    this.worker.unref()
  }

  /** The next checkpoint's result (the worker keeps the process alive until it comes). */
  next (): Promise<CheckpointResult> {
    this.worker.ref()
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  /** Stops the worker and closes its connection (before the main one closes, so the WAL can be removed). */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // Unreferenced so it never keeps the process alive; referenced again so the wait for its exit does.
    this.worker.ref()
    this.worker.postMessage('stop')
    await this.exited
  }
}
