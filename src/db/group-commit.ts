import type { Db } from './database.js'

/**
 * Group commit: the write transactions started during one turn of the event
 * loop share one SQLite transaction, committed once when the turn ends
 * (setImmediate). Each caller's work still runs in its own SAVEPOINT, so a
 * caller that throws rolls back only its own changes, as before.
 *
 * Measured (bench/): one commit per request cost about as much as the rest of
 * the request's SQL; many requests waiting on the disk at once now pay for one.
 *
 * Nothing is acknowledged before it is committed: the app holds every
 * response until the group open when it was sent has committed (`committed`),
 * and turns it into 503 STORAGE_UNAVAILABLE when that commit fails; live
 * streams and the outbox wait the same way, and in-process notifications go
 * out after the commit (`afterCommit`).
 */
export interface GroupCommit {
  /** Resolves when every write started so far is committed; rejects if their commit failed. */
  committed: () => Promise<void>
  /** Runs `fn` once the writes made so far are committed (at once, on a microtask, if none is pending). */
  afterCommit: (fn: () => void) => void
  /** Commits the open group now (used before closing the database). */
  flush: () => void
  /** Runs `fn` whenever a group is rolled back (what was read from it may be gone). */
  onRollback: (fn: () => void) => void
  /** Whether a group is open (writes not yet committed). */
  readonly pending: boolean
  /** A mark of this moment, for `failedSince`. */
  mark: () => number
  /**
   * Whether a group that was open at `mark` or began after it has failed to
   * commit: what a request may have read or written since then may be gone.
   */
  failedSince: (mark: number) => boolean
}

const groups = new WeakMap<Db, GroupCommit>()

export class CommitFailedError extends Error {
  constructor (override readonly cause: unknown) {
    super('the database could not commit the change')
  }
}

/** Makes top-level `db.transaction(...)` calls join the current group. Call once, after migrations. */
export function enableGroupCommit (db: Db): GroupCommit {
  const existing = groups.get(db)
  if (existing) return existing
  const original = db.transaction.bind(db)
  let open = false
  let waiters: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []
  let callbacks: Array<() => void> = []
  let settled: Promise<void> | null = null
  const rollbackListeners: Array<() => void> = []
  // Groups are numbered from 1; `generation` is the one open now, or the next one.
  let generation = 1
  let lastFailed = 0

  const flush = (): void => {
    failIfRolledBack()
    if (!open) return
    open = false
    const current = waiters
    const after = callbacks
    waiters = []
    callbacks = []
    settled = null
    const ended = generation++
    try {
      db.exec('COMMIT')
    } catch (err) {
      try { if (db.inTransaction) db.exec('ROLLBACK') } catch { /* the connection is unusable; the next BEGIN says so */ }
      lastFailed = ended
      const failure = new CommitFailedError(err)
      for (const fn of rollbackListeners) fn()
      for (const w of current) w.reject(failure)
      return
    }
    for (const w of current) w.resolve()
    for (const fn of after) fn()
  }

  const begin = (): void => {
    db.exec('BEGIN IMMEDIATE')
    open = true
    setImmediate(flush)
  }

  /** SQLite rolls a whole transaction back on some errors (disk full, I/O): the group's writes are lost, so is every answer waiting on them. */
  const failIfRolledBack = (): void => {
    if (!open || db.inTransaction) return
    open = false
    lastFailed = generation++
    const current = waiters
    waiters = []
    callbacks = []
    settled = null
    for (const fn of rollbackListeners) fn()
    for (const w of current) w.reject(new CommitFailedError(new Error('the transaction was rolled back')))
  }

  // Each caller's work in its own savepoint (statements prepared once: building a
  // better-sqlite3 transaction wrapper per call showed in the profile).
  const savepoint = db.prepare('SAVEPOINT grouped')
  const release = db.prepare('RELEASE grouped')
  const rollbackTo = db.prepare('ROLLBACK TO grouped')
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const grouped = (...args: unknown[]) => {
      failIfRolledBack()
      if (!open) {
        // Inside a transaction someone began by hand (migrations): plain nesting.
        if (db.inTransaction) return original(fn)(...args)
        begin()
      }
      savepoint.run()
      try {
        const result = fn(...args)
        release.run()
        return result
      } catch (err) {
        if (db.inTransaction) {
          rollbackTo.run()
          release.run()
        }
        throw err
      } finally {
        failIfRolledBack()
      }
    }
    return Object.assign(grouped, { default: grouped, deferred: grouped, immediate: grouped, exclusive: grouped })
  }) as Db['transaction']

  const group: GroupCommit = {
    committed: () => {
      failIfRolledBack()
      if (!open) return Promise.resolve()
      settled ??= new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }))
      return settled
    },
    afterCommit: (fn) => {
      if (open) callbacks.push(fn)
      else queueMicrotask(fn)
    },
    flush,
    onRollback: (fn) => { rollbackListeners.push(fn) },
    get pending () { return open },
    mark: () => generation,
    failedSince: (mark) => lastFailed >= mark
  }
  groups.set(db, group)
  return group
}

/**
 * Resolves when nothing uncommitted is left, so that reads made right after
 * (synchronously) see committed data only; a failed commit rolled its writes
 * back, so that is settled too.
 */
export async function settled (db: Db): Promise<void> {
  const group = groups.get(db)
  while (group?.pending) {
    try { await group.committed() } catch { /* rolled back: nothing of it is left to see */ }
  }
}

/** The group of a database, or one that never waits when group commit is off (the CLI, tools). */
export function groupOf (db: Db): Pick<GroupCommit, 'committed' | 'afterCommit' | 'onRollback'> {
  return groups.get(db) ?? { committed: () => Promise.resolve(), afterCommit: (fn) => queueMicrotask(fn), onRollback: () => {} }
}
