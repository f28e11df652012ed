import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { SqlValue } from './storage.js'

/**
 * SQLite's reads outside units of work, run on a worker thread with a
 * read-only connection of its own, beside the event loop: each read a message
 * there and its rows one back.
 *
 * Profiled under load, these reads (a redemption's invitation with its names,
 * a session's read) were 12 % of a redemption's event-loop time, run on the
 * event loop by the reading connection. SQLite sees the same file: a read sent
 * after this process committed sees the commit, and reads run in the order they
 * are sent (the directory cache reads its counter before the data it caches).
 *
 * The thread starts at the first read; it keeps the process alive only while a
 * read is pending. If it fails, the reads it held are rejected and the next
 * read starts a new thread. An eval'd CommonJS worker, so it runs the same from
 * TypeScript sources (tests) and from the build (like the checkpointer's).
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

interface Pending { resolve: (result: unknown) => void, reject: (err: Error) => void }
type Reply = { id: number, result: unknown } | { id: number, error: { name?: string, message: string, code?: string } }

export class ReaderThread {
  private worker: Worker | null = null
  private exited: Promise<void> = Promise.resolve()
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private closed = false

  /** `source`: the worker's code (tests give one that fails on purpose). */
  constructor (private readonly file: string, private readonly options: ReaderOptions, private readonly source = WORKER_SOURCE) {}

  get<T> (sql: string, params: SqlValue[]): Promise<T | undefined> {
    return this.send(sql, params, false) as Promise<T | undefined>
  }

  all<T> (sql: string, params: SqlValue[]): Promise<T[]> {
    return this.send(sql, params, true) as Promise<T[]>
  }

  /** Closes the thread's connection and waits for it to end. */
  async close (): Promise<void> {
    this.closed = true
    const worker = this.worker
    if (worker === null) return
    worker.ref()
    worker.postMessage('close')
    await this.exited
  }

  private send (sql: string, params: SqlValue[], all: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the database is closed'))
        return
      }
      const worker = this.worker ?? this.start()
      const id = this.nextId++
      this.pending.set(id, { resolve, reject })
      if (this.pending.size === 1) worker.ref()
      worker.postMessage({ id, sql, params, all })
    })
  }

  private start (): Worker {
    const worker = new Worker(this.source, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: this.file, ...this.options }
    })
    worker.unref()
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.on('message', (reply: Reply) => {
      const pending = this.pending.get(reply.id)
      if (pending === undefined) return
      this.pending.delete(reply.id)
      if (this.pending.size === 0) worker.unref()
      if ('error' in reply) pending.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name ?? 'Error', code: reply.error.code }))
      else pending.resolve(reply.result)
    })
    const fail = (err: Error) => {
      if (this.worker !== worker) return
      this.worker = null
      for (const pending of this.pending.values()) pending.reject(err)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the database's reading thread exited (${code})`)))
    this.worker = worker
    return worker
  }
}
