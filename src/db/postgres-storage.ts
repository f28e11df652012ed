import pg from 'pg'
import { mayChangeDirectory } from './directory-tables.js'
import {
  CommitFailedError, type ConflictRetries, DatabaseStartError, READ_ONLY, requireDeferrable, type SqlValue, type Storage, StorageUnavailableError, type Tx
} from './storage.js'

export interface PostgresOptions {
  /** RA_DATABASE_URL: a secret (it holds the password); never logged, see `redactUrl`. */
  url: string
  /** Connections in the pool; at least 2 (units of work leave one for reads). */
  poolSize: number
  /** How long a request waits for a connection before the database counts as unavailable. */
  connectTimeoutMs?: number
  /** Errors with no request to answer (an idle connection dropped, the listener lost): logged by the app. */
  onError?: (message: string, err: unknown) => void
}

/**
 * Storage on PostgreSQL (14 or later), for several instances on one database.
 * A unit of work is one transaction on one pooled connection (READ COMMITTED:
 * the SQL decides races itself, with conditional updates, row locks and
 * `ON CONFLICT`), begun at its first statement; a unit of held inserts alone
 * (`defer`) is one statement, which commits on its own. Reads outside a unit
 * go to any other connection and see committed data only. At most
 * poolSize − 1 units run at once, so a read made while a unit is open always
 * finds a connection: a unit never waits on a pool that only its own kind
 * holds.
 *
 * One further connection, outside the pool, listens for notifications
 * (`listen`) and holds advisory locks (`exclusively`): both end with it, so a
 * dead instance holds nothing.
 */
export class PostgresStorage implements Storage {
  readonly engine = 'postgres' as const
  readonly pool: pg.Pool
  private readonly units: Semaphore
  private control: pg.Client | null = null
  private controlConnecting: Promise<pg.Client> | null = null
  private readonly listeners = new Map<string, Array<(payload: string) => void>>()
  private closed = false
  commits = 0
  readonly conflicts: ConflictRetries = { retried: 0, failed: 0 }
  directoryChanges = 0

  private constructor (private readonly options: PostgresOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      types: { getTypeParser: typeParser },
      application_name: 'ra-ticket-service'
    })
    // An idle connection the server dropped: the pool replaces it; without a listener it would end the process.
    this.pool.on('error', (err) => this.options.onError?.('an idle database connection failed', err))
    this.units = new Semaphore(Math.max(1, options.poolSize - 1))
  }

  /** Connects (checking the server's version) or fails with an error that names RA_DATABASE_URL without its password. */
  static async connect (options: PostgresOptions): Promise<PostgresStorage> {
    if (options.poolSize < 2) throw new DatabaseStartError('RA_DATABASE_POOL_SIZE must be at least 2')
    const storage = new PostgresStorage(options)
    try {
      const row = await storage.get<{ server_version_num: string }>('SHOW server_version_num')
      const version = Number(row?.server_version_num)
      if (!(version >= 140000)) {
        throw new DatabaseStartError(`PostgreSQL 14 or later is required; the server in RA_DATABASE_URL (${redactUrl(options.url)}) is ${version}`)
      }
    } catch (err) {
      await storage.pool.end().catch(() => {})
      if (err instanceof DatabaseStartError) throw err
      if (err instanceof StorageUnavailableError) {
        throw new DatabaseStartError(`cannot reach the PostgreSQL server in RA_DATABASE_URL (${redactUrl(options.url)}): ${describe(err.cause)}`)
      }
      // Refused by the server (wrong password, no such database…): its message names no secret.
      throw new DatabaseStartError(`the PostgreSQL server in RA_DATABASE_URL (${redactUrl(options.url)}) refused: ${describe(err)}`)
    }
    return storage
  }

  async get<T> (sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return (await this.single(sql, params)).rows[0] as T | undefined
  }

  async all<T> (sql: string, ...params: SqlValue[]): Promise<T[]> {
    return (await this.single(sql, params)).rows as T[]
  }

  async run (sql: string, ...params: SqlValue[]): Promise<number> {
    return (await this.single(sql, params)).rowCount ?? 0
  }

  async insert (sql: string, ...params: SqlValue[]): Promise<number> {
    return Number((await this.single(`${sql} RETURNING id`, params)).rows[0].id)
  }

  /** Outside a unit of work there is nothing to send it with: at once. */
  async defer (sql: string, ...params: SqlValue[]): Promise<void> {
    requireDeferrable(sql)
    await this.run(sql, ...params)
  }

  /**
   * One statement outside a unit of work, committed on its own: counted as a commit unless it only reads. Chosen as
   * a deadlock's victim, or failing to serialise, it was rolled back whole and changed nothing: it runs again, as a
   * unit does (its locks are a unit's too: a multi-row upsert, or a purge, against another instance's unit).
   */
  private async single (sql: string, params: SqlValue[]): Promise<pg.QueryResult> {
    try {
      return await this.retrying(() => this.query(this.pool, sql, params))
    } finally {
      if (!READ_ONLY.test(sql)) this.commits++
      if (mayChangeDirectory(sql)) this.directoryChanges++
    }
  }

  /**
   * Runs `work` until it is not rolled back for a conflict (a deadlock's victim, a serialisation failure): the server
   * rolled all of it back, so it runs again from the start, up to three tries in all; counted in `conflicts`. Each
   * retry waits a little first (a few ms, more each time, at random): run again at once, it could take its first row
   * back before the other transaction, woken by the rollback, takes it, and deadlock with it again.
   */
  private async retrying<T> (work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work()
      } catch (err) {
        if (!isRetryable(err)) throw err
        if (attempt >= 3) {
          this.conflicts.failed++
          throw err
        }
        this.conflicts.retried++
        await new Promise((resolve) => setTimeout(resolve, attempt * (10 + Math.random() * 20)))
      }
    }
  }

  async unitOfWork<T> (fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageUnavailableError('the database is closed')
    await this.units.acquire()
    try {
      // Two units that deadlocked, or a serialisation failure: one of them is rolled back by the server; it runs
      // again from the start (its statements decide again on what is now committed).
      return await this.retrying(() => this.attempt(fn))
    } finally {
      this.units.release()
    }
  }

  private async attempt<T> (fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw unavailable(err)
    }
    const tx = new PgTx(this, client)
    let broken: unknown = null
    const rollBack = async (): Promise<void> => {
      if (tx.begun) await client.query('ROLLBACK').catch((rollbackErr: unknown) => { broken = rollbackErr })
    }
    try {
      let result: T
      try {
        result = await fn(tx)
      } catch (err) {
        tx.done = true
        await rollBack()
        throw err
      }
      tx.done = true
      if (!tx.begun) {
        // Held inserts alone (a creation: the invitation and its audit event): one statement is the whole unit,
        // and it commits on its own, or keeps nothing. No BEGIN and no COMMIT: two round trips fewer.
        try {
          await tx.sendDeferred()
        } catch (err) {
          broken = err
          throw err instanceof StorageUnavailableError || isRetryable(err) ? err : new CommitFailedError(err)
        }
      } else {
        try {
          await tx.sendDeferred()
        } catch (err) {
          await rollBack()
          throw err
        }
        try {
          await client.query('COMMIT')
        } catch (err) {
          broken = err
          throw new CommitFailedError(err)
        }
      }
      this.commits++
      if (tx.changesDirectory) this.directoryChanges++
      for (const [channel, payload] of tx.notifications) this.publish(channel, payload)
      for (const callback of tx.callbacks) callback()
      return result
    } catch (err) {
      if (isConnectionError(err)) broken = err
      throw err instanceof StorageUnavailableError ? err : translate(err)
    } finally {
      // A connection that failed mid-unit is not given to the next one.
      client.release(broken !== null && isConnectionError(broken) ? (broken as Error) : undefined)
    }
  }

  /** Runs a statement, `?` placeholders turned into `$n`; a lost or refused connection is StorageUnavailableError. */
  async query (on: pg.Pool | pg.PoolClient, sql: string, params: SqlValue[]): Promise<pg.QueryResult> {
    const statement = prepared(sql)
    try {
      return await on.query({ ...statement, values: params })
    } catch (err) {
      throw translate(err)
    }
  }

  private pending: Array<[channel: string, payload: string]> = []

  /**
   * Queues a notification for the other instances; what is queued in one turn
   * of the event loop goes out in one statement. Lost if this process dies
   * first: listeners poll as well.
   */
  private publish (channel: string, payload: string): void {
    if (this.pending.length === 0) setImmediate(() => { this.sendPending() })
    this.pending.push([channel, payload])
  }

  private sendPending (): void {
    const batch = this.pending
    this.pending = []
    if (batch.length === 0 || this.closed) return
    this.query(this.pool, 'SELECT pg_notify(n.channel, n.payload) FROM unnest(?::text[], ?::text[]) AS n (channel, payload)',
      [toPgArray(batch.map(([c]) => c)), toPgArray(batch.map(([, p]) => p))])
      .catch((err: unknown) => this.options.onError?.('could not notify the other instances (their streams poll)', err))
  }

  async isReady (migrations: number): Promise<boolean> {
    const row = await this.get<{ n: number }>('SELECT count(*) AS n FROM schema_migrations')
    return row?.n === migrations
  }

  async exclusively (name: string, fn: () => Promise<void>): Promise<boolean> {
    const control = await this.controlClient()
    const key = lockKey(name)
    const { rows } = await control.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key])
    if (rows[0]?.locked !== true) return false
    try {
      await fn()
    } finally {
      await control.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => { /* the connection ended: so did the lock */ })
    }
    return true
  }

  /** Calls `fn` with each notification's payload on `channel` (from every instance), from the next LISTEN on. */
  async listen (channel: string, fn: (payload: string) => void): Promise<void> {
    const known = this.listeners.get(channel)
    if (known) { known.push(fn); return }
    this.listeners.set(channel, [fn])
    const control = await this.controlClient()
    await control.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const control = this.control
    this.control = null
    await control?.end().catch(() => {})
    await this.pool.end()
  }

  /** The listening, lock-holding connection; made again (and LISTENs again) after it is lost. */
  private controlClient (): Promise<pg.Client> {
    if (this.control !== null) return Promise.resolve(this.control)
    this.controlConnecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000 })
      client.on('notification', (message) => {
        for (const fn of this.listeners.get(message.channel) ?? []) fn(message.payload ?? '')
      })
      const lost = (err?: unknown): void => {
        if (this.control !== client) return
        this.control = null
        if (!this.closed) this.options.onError?.('the database listener connection was lost; reconnecting', err)
        this.reconnectSoon()
      }
      client.on('error', lost)
      client.on('end', () => lost())
      try {
        await client.connect()
        for (const channel of this.listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      } catch (err) {
        await client.end().catch(() => {})
        throw translate(err)
      }
      this.control = client
      return client
    })().finally(() => { this.controlConnecting = null })
    return this.controlConnecting
  }

  private reconnectSoon (): void {
    if (this.closed || this.listeners.size === 0) return
    const timer = setTimeout(() => {
      this.controlClient().catch((err: unknown) => {
        this.options.onError?.('the database listener could not reconnect; retrying', err)
        this.reconnectSoon()
      })
    }, 1000)
    timer.unref()
  }
}

class PgTx implements Tx {
  readonly engine = 'postgres' as const
  readonly callbacks: Array<() => void> = []
  readonly notifications: Array<[channel: string, payload: string]> = []
  done = false
  /** Whether a statement that may change the directory ran (`mayChangeDirectory`). */
  changesDirectory = false
  /** Inserts held until the next statement or the commit (`defer`). */
  private deferred: Array<[sql: string, params: SqlValue[]]> = []
  /** Whether BEGIN was sent: at the unit's first statement other than a held insert. */
  begun = false

  constructor (private readonly storage: PostgresStorage, private readonly client: pg.PoolClient) {}

  async get<T> (sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined
  }

  async all<T> (sql: string, ...params: SqlValue[]): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[]
  }

  async run (sql: string, ...params: SqlValue[]): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0
  }

  async insert (sql: string, ...params: SqlValue[]): Promise<number> {
    return Number((await this.query(`${sql} RETURNING id`, params)).rows[0].id)
  }

  /** Held until the unit's next statement or its commit (`sendDeferred`). */
  async defer (sql: string, ...params: SqlValue[]): Promise<void> {
    requireDeferrable(sql)
    this.open(sql)
    this.deferred.push([sql, params])
  }

  /**
   * The held inserts as one statement: `WITH d0 AS (INSERT …), d1 AS (INSERT …) INSERT …`. Each runs once, to
   * completion, whether or not anything reads its output. They share one snapshot, so none sees another's rows,
   * which an `INSERT … VALUES` never reads; foreign keys are checked at the statement's end, against every row it
   * wrote. The `?` placeholders stay in order, so the parameters follow one another.
   */
  async sendDeferred (): Promise<void> {
    const held = this.deferred
    if (held.length === 0) return
    this.deferred = []
    const last = held.length - 1
    const sql = held.length === 1
      ? held[0]![0]
      : 'WITH ' + held.slice(0, last).map(([text], i) => `d${i} AS (${text})`).join(', ') + ' ' + held[last]![0]
    await this.storage.query(this.client, sql, held.flatMap(([, params]) => params))
  }

  /** A statement of the unit: the transaction begins before the first one, and the inserts it holds go before it. */
  private async query (sql: string, params: SqlValue[]): Promise<pg.QueryResult> {
    const client = this.open(sql)
    if (!this.begun) {
      this.begun = true
      await this.storage.query(client, 'BEGIN', [])
    }
    await this.sendDeferred()
    return await this.storage.query(client, sql, params)
  }

  afterCommit (fn: () => void): void {
    this.callbacks.push(fn)
  }

  /**
   * Sent after the commit, in a batch of its own (`PostgresStorage.publish`): a
   * transaction that NOTIFYs commits under a database-wide lock, one at a time,
   * which measured as a third of the redemption rate (bench/results.md).
   */
  async notify (channel: string, payload: string): Promise<void> {
    this.open()
    this.notifications.push([channel, payload])
  }

  async lock (name: string): Promise<void> {
    await this.query('SELECT pg_advisory_xact_lock(?)', [lockKey(name)])
  }

  private open (sql?: string): pg.PoolClient {
    if (this.done) throw new Error('this unit of work has ended: its statements ran after it')
    if (sql !== undefined && !this.changesDirectory && mayChangeDirectory(sql)) this.changesDirectory = true
    return this.client
  }
}

/** A counting semaphore: at most `n` holders; the others wait in order. */
class Semaphore {
  private readonly waiting: Array<() => void> = []
  constructor (private available: number) {}

  acquire (): Promise<void> {
    if (this.available > 0) {
      this.available--
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  release (): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.available++
  }
}

const statements = new Map<string, { name?: string, text: string }>()
const NAMED_STATEMENTS = 1000

/**
 * The statement for SQL written with `?` placeholders: `$1, $2…` outside
 * quoted text, and a name (prepared once per connection) for the first
 * thousand distinct texts; dynamic texts past that run unnamed.
 */
export function prepared (sql: string): { name?: string, text: string } {
  let statement = statements.get(sql)
  if (statement === undefined) {
    let n = 0
    let quoted = false
    let text = ''
    for (const ch of sql) {
      if (ch === '\'') quoted = !quoted
      text += ch === '?' && !quoted ? `$${++n}` : ch
    }
    statement = statements.size < NAMED_STATEMENTS ? { name: `ra${statements.size}`, text } : { text }
    if (statements.size < NAMED_STATEMENTS * 4) statements.set(sql, statement)
  }
  return statement
}

/** Counts and ids come back as numbers, as from SQLite (bigint counts fit: they are row counts and ms timestamps). */
function typeParser (oid: number, format?: unknown): (value: string) => unknown {
  if (oid === 20 || oid === 1700) return Number
  return pg.types.getTypeParser(oid, format as 'text')
}

/** The URL with its password (and any query parameter that may hold one) hidden, for messages. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) u.searchParams.set(key, '***')
    }
    return u.toString()
  } catch {
    return '(not a URL)'
  }
}

/** A text[] literal (the driver sends parameters as text). */
function toPgArray (values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`
}

/** 2^31-bounded key of an advisory lock, from its name (stable across instances). */
function lockKey (name: string): number {
  let h = 0
  for (const ch of `ra:${name}`) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0
  return h
}

/** Network failures, and the server shutting down, refusing or out of connections (SQLSTATE 57P0x, 53300; class 08 below). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300'
])

function isConnectionError (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : ''
  if (CONNECTION_CODES.has(code) || code.startsWith('08')) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i.test(message)
}

function isRetryable (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === '40001' || code === '40P01'
}

function unavailable (err: unknown): StorageUnavailableError {
  return new StorageUnavailableError('the database is unavailable', err)
}

function translate (err: unknown): unknown {
  return isConnectionError(err) ? unavailable(err) : err
}

function describe (err: unknown): string {
  const e = err as { code?: unknown, message?: unknown } | null
  return [e?.code, e?.message].filter((x) => typeof x === 'string' && x !== '').join(' ') || 'unknown error'
}
