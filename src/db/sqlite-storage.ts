import type { Peers } from '../cluster/peers.js'
import { CACHE_SIZE, openDatabase, STATEMENT_CACHE_LIMIT, type Db, type OpenOptions } from './database.js'
import { mayChangeDirectory } from './directory-tables.js'
import { ReaderThread } from './reader-thread.js'
import { CommitFailedError, requireDeferrable, type SqlValue, type Storage, StorageUnavailableError, type Tx, type WriteLockUse } from './storage.js'

/**
 * Storage on one SQLite file: a writer connection for units of work and a
 * reading connection (query_only) for everything else, so reads outside a unit
 * see committed data only, as on PostgreSQL. The reads run on a thread of their
 * own (ReaderThread); the event loop's reading connection only tells whether a
 * statement reads.
 *
 * Group commit: the units of work that start during one turn of the event loop
 * share one SQLite transaction, run together when the turn ends (setImmediate)
 * and committed once the last is done; each unit runs in its own SAVEPOINT, so
 * a unit that throws rolls back only its own changes. Units run one at a time
 * (SQLite has one writer); each resolves only once its group has committed, and its
 * `afterCommit` callbacks run then. A failed commit rejects every unit of the
 * group with CommitFailedError (503 STORAGE_UNAVAILABLE).
 *
 * Measured (bench/): one commit per request cost about as much as the rest of
 * the request's SQL; many requests waiting on the disk at once now pay for one.
 */
export class SqliteStorage implements Storage {
  readonly engine = 'sqlite' as const
  /** For SQLite-only tools (the checkpointer, fault injection in tests); repositories go through `Sql`. */
  readonly writer: Db
  readonly reader: Db
  private readonly reads: ReaderThread
  private locked = false
  private readonly waiting: Array<() => void> = []
  private group: Group | null = null
  private closed = false
  commits = 0
  directoryChanges = 0
  readonly writeLock: WriteLockUse = { heldSeconds: 0, waitedSeconds: 0, waits: 0 }
  /** When the write lock was taken (performance.now()), while a group is open. */
  private heldSince = 0
  private waitsOnTimer = false
  private readonly busyTimeoutMs: number

  /**
   * `peers`: the other workers of this service's cluster (RA_WORKERS), when this process is one. SQLite tells no
   * one of a commit, so they are told of this process's notifications through the cluster's primary (`listen`,
   * `notify`), and the background work that must run once runs on the first worker alone (`exclusively`).
   */
  constructor (readonly file: string, options: OpenOptions, private readonly peers: Peers | null = null) {
    this.busyTimeoutMs = options.busyTimeoutMs
    this.writer = openDatabase(file, options)
    try {
      this.reader = openDatabase(file, options)
      this.reader.pragma('query_only = ON')
    } catch (err) {
      this.writer.close()
      throw err
    }
    this.reads = new ReaderThread(file, { busyTimeoutMs: options.busyTimeoutMs, cacheSize: CACHE_SIZE, statementCacheLimit: STATEMENT_CACHE_LIMIT })
  }

  /** A read; a statement that writes (`INSERT … RETURNING`) is a unit of its own, as on PostgreSQL. */
  async get<T> (sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    const statement = this.reader.prepare(sql)
    if (!statement.readonly) return this.unitOfWork((tx) => tx.get<T>(sql, ...params))
    return await this.reads.get<T>(sql, params)
  }

  async all<T> (sql: string, ...params: SqlValue[]): Promise<T[]> {
    const statement = this.reader.prepare(sql)
    if (!statement.readonly) return this.unitOfWork((tx) => tx.all<T>(sql, ...params))
    return await this.reads.all<T>(sql, params)
  }

  run (sql: string, ...params: SqlValue[]): Promise<number> {
    return this.unitOfWork((tx) => tx.run(sql, ...params))
  }

  insert (sql: string, ...params: SqlValue[]): Promise<number> {
    return this.unitOfWork((tx) => tx.insert(sql, ...params))
  }

  async defer (sql: string, ...params: SqlValue[]): Promise<void> {
    requireDeferrable(sql)
    await this.run(sql, ...params)
  }

  async unitOfWork<T> (fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageUnavailableError('the database is closed')
    if (this.locked) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.locked = true
    const tx = new SqliteTx(this.writer)
    let group: Group
    let result: T
    try {
      group = await this.join()
      this.writer.exec('SAVEPOINT unit')
      try {
        result = await fn(tx)
        this.writer.exec('RELEASE unit')
        if (tx.changesDirectory) group.changesDirectory = true
      } catch (err) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK TO unit; RELEASE unit')
        throw err
      } finally {
        tx.done = true
        this.failIfRolledBack()
      }
    } catch (err) {
      throw storageError(err)
    } finally {
      this.unlock()
    }
    await group.committed
    for (const callback of tx.callbacks) callback()
    for (const [channel, payload] of tx.notifications) this.peers?.publish(channel, payload)
    return result
  }

  async isReady (migrations: number): Promise<boolean> {
    if (!this.reader.open) return false
    const row = this.reader.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }
    return row.n === migrations
  }

  /** Another worker's notifications on `channel` (a single process has no one to hear from: its own are told in process). */
  async listen (channel: string, fn: (payload: string) => void): Promise<void> {
    this.peers?.subscribe(channel, fn)
  }

  /** Runs `fn`, unless this process is a cluster worker other than the first: then the first runs it. */
  async exclusively (_name: string, fn: () => Promise<void>): Promise<boolean> {
    if (this.peers !== null && this.peers.index !== 0) return false
    await fn()
    return true
  }

  /** Commits the open group now. */
  flush (): void {
    this.failIfRolledBack()
    const group = this.group
    if (group === null) return
    this.group = null
    try {
      this.writer.exec('COMMIT')
    } catch (err) {
      try { if (this.writer.inTransaction) this.writer.exec('ROLLBACK') } catch { /* the connection is unusable; the next BEGIN says so */ }
      this.released()
      group.reject(new CommitFailedError(err))
      return
    }
    this.released()
    this.commits++
    if (group.changesDirectory) this.directoryChanges++
    group.resolve()
  }

  /** Whether a group is open (units done, not yet committed). */
  get pending (): boolean {
    return this.group !== null
  }

  async close (): Promise<void> {
    if (this.closed) return
    if (this.locked) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.locked = true
    this.closed = true
    this.flush()
    // The reads already sent are answered first; the thread's connection closes before the others, so the WAL can go.
    await this.reads.close()
    this.reader.close()
    this.writer.close()
  }

  /**
   * The open group, or a new one. A new group begins when this turn of the
   * event loop ends (setImmediate): the units that start during the turn wait
   * for it, then run one after another, and the group commits as soon as the
   * last of them is done. So the write lock is held while the units' statements
   * run, not for the whole turn: another process on the file (node:cluster
   * workers, a second instance) writes while this one parses, validates, signs
   * and answers (bench: two processes on one file).
   */
  private async join (): Promise<Group> {
    this.failIfRolledBack()
    if (this.group !== null) return this.group
    await new Promise((resolve) => setImmediate(resolve))
    await this.begin()
    const group = newGroup()
    this.group = group
    return group
  }

  /**
   * BEGIN IMMEDIATE, waiting for another process's write lock (another service
   * process on this file, the CLI, a checkpoint) without blocking the event
   * loop: SQLite's busy handler sleeps in the calling thread, and while one
   * process held the lock the other answered nothing at all, not even a read
   * (bench: two processes on one file, p99 of 246 ms for creations and 753 ms
   * for redemptions). Here the attempt is repeated on a timer until the busy
   * timeout has passed, then fails as before (503 STORAGE_UNAVAILABLE).
   * The writer's own busy timeout is set to 0 at the first unit of work, after
   * the migrations (which still wait in SQLite's handler).
   */
  private async begin (): Promise<void> {
    if (!this.waitsOnTimer) {
      this.writer.pragma('busy_timeout = 0')
      this.waitsOnTimer = true
    }
    const deadline = Date.now() + this.busyTimeoutMs
    const started = performance.now()
    for (let attempt = 0; ; attempt++) {
      try {
        this.writer.exec('BEGIN IMMEDIATE')
        this.heldSince = performance.now()
        if (attempt > 0) this.writeLock.waitedSeconds += (this.heldSince - started) / 1000
        return
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) {
          if (attempt > 0) this.writeLock.waitedSeconds += (performance.now() - started) / 1000
          throw err
        }
      }
      if (attempt === 0) this.writeLock.waits++
      // Every millisecond at first (the other process holds the lock for a turn of its event loop), then less often.
      await new Promise((resolve) => setTimeout(resolve, Math.min(1 + (attempt >> 4), 10)))
    }
  }

  /** The next unit waiting goes on in the open group; when none is waiting, the group commits. */
  private unlock (): void {
    const next = this.waiting.shift()
    if (next) return next()
    this.locked = false
    this.flush()
  }

  /** SQLite rolls a whole transaction back on some errors (disk full, I/O): the group's writes are lost, so is every unit waiting on them. */
  private failIfRolledBack (): void {
    if (this.group === null || this.writer.inTransaction) return
    const group = this.group
    this.group = null
    this.released()
    group.reject(new CommitFailedError(new Error('the transaction was rolled back')))
  }

  private released (): void {
    this.writeLock.heldSeconds += (performance.now() - this.heldSince) / 1000
  }
}

interface Group {
  /** Whether a unit of the group ran a statement that may change the directory (`mayChangeDirectory`). */
  changesDirectory: boolean
  committed: Promise<void>
  resolve: () => void
  reject: (err: unknown) => void
}

function newGroup (): Group {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const committed = new Promise<void>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  // Units await it; a group that fails after its units were rolled back has no one waiting.
  committed.catch(() => {})
  return { changesDirectory: false, committed, resolve, reject }
}

class SqliteTx implements Tx {
  readonly engine = 'sqlite' as const
  readonly callbacks: Array<() => void> = []
  /** For the other workers of a cluster, once the unit has committed. */
  readonly notifications: Array<[channel: string, payload: string]> = []
  done = false
  /** Whether a statement that may change the directory ran (`mayChangeDirectory`). */
  changesDirectory = false

  constructor (private readonly db: Db) {}

  async get<T> (sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return this.open(sql).prepare(sql).get(...params) as T | undefined
  }

  async all<T> (sql: string, ...params: SqlValue[]): Promise<T[]> {
    return this.open(sql).prepare(sql).all(...params) as T[]
  }

  async run (sql: string, ...params: SqlValue[]): Promise<number> {
    return this.open(sql).prepare(sql).run(...params).changes
  }

  async insert (sql: string, ...params: SqlValue[]): Promise<number> {
    return Number(this.open(sql).prepare(sql).run(...params).lastInsertRowid)
  }

  /** At once: SQLite has no round trip to save. */
  async defer (sql: string, ...params: SqlValue[]): Promise<void> {
    requireDeferrable(sql)
    this.open(sql).prepare(sql).run(...params)
  }

  afterCommit (fn: () => void): void {
    this.callbacks.push(fn)
  }

  async notify (channel: string, payload: string): Promise<void> {
    this.open()
    this.notifications.push([channel, payload])
  }

  async lock (): Promise<void> {}

  private open (sql?: string): Db {
    if (this.done) throw new Error('this unit of work has ended: its statements ran after it')
    if (sql !== undefined && !this.changesDirectory && mayChangeDirectory(sql)) this.changesDirectory = true
    return this.db
  }
}

/** SQLite's "the file is locked" (past the busy timeout) or I/O failures are the database being unavailable, not a defect. */
function storageError (err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(code)) {
    return new StorageUnavailableError(`the database is unavailable (${code})`, err)
  }
  return err
}
