import { createRequire } from 'node:module'
import { RequestThread } from '../request-thread.js'
import type { SqlValue } from './storage.js'

/**
 * SQLite's reads outside units of work, run on a worker thread with a
 * read-only connection of its own, beside the event loop: each read a message
 * there and its rows one back (RequestThread).
 *
 * Profiled under load, these reads (a redemption's invitation with its names,
 * a session's read) were 12 % of a redemption's event-loop time, run on the
 * event loop by the reading connection. The thread reads the same file: a read
 * sent after this process committed sees the commit, and reads are answered in
 * the order they are sent (the directory cache reads its counter before the
 * data it caches).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true })
db.pragma('cache_size = ' + workerData.cacheSize)
db.pragma('temp_store = MEMORY')
db.pragma('query_only = ON')
const statements = new Map()
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    parentPort.close()
    return
  }
  try {
    let statement = statements.get(m.sql)
    if (statement === undefined) {
      if (statements.size >= workerData.statementCacheLimit) statements.clear()
      statement = db.prepare(m.sql)
      statements.set(m.sql, statement)
    }
    parentPort.postMessage({ id: m.id, result: m.all ? statement.all(...m.params) : statement.get(...m.params) })
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { name: err && err.name, message: String(err && err.message), code: err && err.code } })
  }
})
`

export interface ReaderOptions { busyTimeoutMs: number, cacheSize: number, statementCacheLimit: number }

export class ReaderThread {
  private readonly thread: RequestThread

  /** `source`: the worker's code (tests give one that fails on purpose). */
  constructor (readonly file: string, readonly options: ReaderOptions, source = WORKER_SOURCE) {
    this.thread = new RequestThread(source, 'the database\'s reading thread', {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      file,
      ...options
    })
  }

  get<T> (sql: string, params: SqlValue[]): Promise<T | undefined> {
    return this.thread.request({ sql, params, all: false })
  }

  all<T> (sql: string, params: SqlValue[]): Promise<T[]> {
    return this.thread.request({ sql, params, all: true })
  }

  /** Closes the thread's connection, once the reads sent before are answered, and waits for the thread to end. */
  close (): Promise<void> {
    return this.thread.close()
  }
}
