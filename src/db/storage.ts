/**
 * The one storage interface the repositories are written against, with an
 * implementation per engine: SQLite (the embedded default, sqlite-storage.ts)
 * and PostgreSQL (several instances, postgres-storage.ts).
 *
 * SQL is written once, with `?` placeholders, in the dialect both engines
 * share (RETURNING, ON CONFLICT, row values, partial indexes); timestamps are
 * ISO 8601 text, flags 0/1 integers and JSON text on both, so rows read the
 * same. What differs is behind `Sql.engine` (row locks, SKIP LOCKED) and the
 * unit of work's `lock` and `notify`; `?` placeholders become `$n` in
 * postgres-storage.ts.
 */

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | Buffer | null

export type Engine = 'sqlite' | 'postgres'

/** What repositories run SQL with: the storage itself, or a unit of work. */
export interface Sql {
  readonly engine: Engine
  /** The first row, or undefined. */
  get: <T>(sql: string, ...params: SqlValue[]) => Promise<T | undefined>
  all: <T>(sql: string, ...params: SqlValue[]) => Promise<T[]>
  /** Runs a change; resolves to the number of rows changed. Outside a unit of work, it is a unit of its own. */
  run: (sql: string, ...params: SqlValue[]) => Promise<number>
  /**
   * Runs an INSERT of one row into a table keyed by an integer `id`, and
   * resolves to the new row's id: on SQLite the connection's last inserted
   * rowid (`RETURNING id` costs SQLite a materialization, measured at 7 of a
   * session event's 10 µs); on PostgreSQL, `RETURNING id` is added.
   */
  insert: (sql: string, ...params: SqlValue[]) => Promise<number>
  /**
   * An INSERT whose result no one needs and that no later statement of the
   * unit depends on seeing first, other than by reading it (an audit event, a
   * session event, a consent link). In a unit of work on PostgreSQL it is
   * held, and the unit's held inserts go to the server as one statement
   * (data-modifying `WITH` clauses) before the unit's next statement or its
   * commit: one round trip for several rows of several tables; a unit of
   * held inserts alone is that one statement, without BEGIN and COMMIT. A
   * failure fails that next statement, or the commit, and the unit rolls
   * back. On SQLite, and outside a unit, it runs at once.
   */
  defer: (sql: string, ...params: SqlValue[]) => Promise<void>
}

/** The statements of one unit of work: they commit together or not at all. */
export interface Tx extends Sql {
  /** Runs `fn` once the unit has committed; never, if it rolls back. */
  afterCommit: (fn: () => void) => void
  /**
   * Tells every other instance on the database, once the unit commits, that
   * something changed (`listen`): PostgreSQL's NOTIFY; on SQLite, the other
   * workers of this service's cluster (RA_WORKERS), through its primary.
   */
  notify: (channel: string, payload: string) => Promise<void>
  /**
   * Waits until no other unit of work holds `name`, and holds it until this
   * unit ends: check-then-insert decisions (one bootstrap token, one generated
   * administrator token) made once across instances. PostgreSQL: a
   * transaction advisory lock; SQLite: nothing to do, its units already run
   * one at a time.
   */
  lock: (name: string) => Promise<void>
}

/** Time a process held a database file's write lock, and spent waiting for it while another process held it. */
export interface WriteLockUse {
  heldSeconds: number
  waitedSeconds: number
  /** Group commits that found the lock held by another process and waited. */
  waits: number
}

/**
 * PostgreSQL: work the server rolled back for a conflict with another transaction (a deadlock's victim, or a
 * serialisation failure) and that ran again from the start, or that failed after its last attempt.
 */
export interface ConflictRetries {
  retried: number
  failed: number
}

export interface Storage extends Sql {
  /**
   * How many changes this process has committed so far (units of work, and
   * statements that may write outside one).
   */
  readonly commits: number
  /**
   * How many of those may have changed the directory (`mayChangeDirectory`):
   * whatever was read of directory_version before the count moved may be stale
   * after it (DirectoryCache).
   */
  readonly directoryChanges: number
  /** SQLite: how this process has used the file's one write lock so far (for /metrics); absent on PostgreSQL. */
  readonly writeLock?: WriteLockUse
  /** PostgreSQL: units of work and single statements rolled back in a conflict, run again or failed (for /metrics); absent on SQLite. */
  readonly conflicts?: ConflictRetries
  /**
   * Runs `fn` as one unit of work and resolves once it has committed (or
   * rejects: with `fn`'s error, rolled back; with StorageUnavailableError when
   * the database could not commit it). Reads through the storage itself see
   * committed data only, so whatever a unit wrote is read back after it.
   *
   * `fn` awaits only its own statements: on SQLite, units run one at a time on
   * the one writer connection, so anything else awaited there (a hash, a
   * network call) holds up every other write.
   */
  unitOfWork: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>
  /** Whether the database answers and has `migrations` applied. */
  isReady: (migrations: number) => Promise<boolean>
  /**
   * Runs `fn` if no other instance is running it (PostgreSQL: a session advisory
   * lock named `name`; SQLite: always in a single process, and on the first
   * worker alone in a cluster). Resolves to whether it ran.
   */
  exclusively: (name: string, fn: () => Promise<void>) => Promise<boolean>
  /** Calls `fn` with the payload of each `notify` on `channel` by any instance (PostgreSQL), or by another worker of the cluster (SQLite). */
  listen: (channel: string, fn: (payload: string) => void) => Promise<void>
  /** Finishes what is pending and closes every connection. */
  close: () => Promise<void>
}

/**
 * The database could not do what was asked (unreachable, a failed commit, the
 * file locked past the busy timeout): answered 503 STORAGE_UNAVAILABLE, and
 * nothing of the unit of work is kept.
 */
/** A statement that cannot change anything (SELECT, SHOW): outside a unit of work, the others count as commits. */
export const READ_ONLY = /^\s*(?:SELECT|SHOW)\b/i

/** Refuses what `Sql.defer` cannot take: anything but a plain INSERT (on PostgreSQL it becomes a data-modifying WITH clause). */
export function requireDeferrable (sql: string): void {
  if (!/^\s*INSERT\s+INTO\b/i.test(sql)) throw new Error(`only an INSERT can be deferred, not: ${sql.slice(0, 60)}`)
}

export class StorageUnavailableError extends Error {
  constructor (message: string, override readonly cause?: unknown) {
    super(message)
    this.name = 'StorageUnavailableError'
  }
}

/** A failed commit: nothing of the unit of work (or its commit group) was kept. */
export class CommitFailedError extends StorageUnavailableError {
  constructor (cause: unknown) {
    super('the database could not commit the change', cause)
    this.name = 'CommitFailedError'
  }
}

/** The configured database cannot be used at start (unreachable, too old): the operator's to fix; the message says what, without secrets. */
export class DatabaseStartError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DatabaseStartError'
  }
}
