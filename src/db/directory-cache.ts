import type { Storage } from './storage.js'

/**
 * Read-mostly data (tokens, computers, resultant policies, signing keys) kept
 * in memory while the database's directory_version counter stays the same.
 * Triggers bump the counter on any change to those tables, by any process,
 * instance or hand, so a change is seen by the very next lookup. Each lookup
 * costs one read of the counter instead of the queries it replaces
 * (profiled: token, computer and policy reads were a third of the SQL time of
 * a request).
 *
 * Only committed data is cached: lookups go through the storage's own reads
 * (never a unit of work's, whose changes may still roll back). The counter is
 * read before the data, so a value cached under a version is never older
 * than it.
 *
 * The counter is read once per turn of the event loop, not once per lookup:
 * requests that arrive together share one read (profiled: the read was 9 % of
 * an authenticated no-op). That read is dropped as soon as this process
 * commits a change that may touch a directory table (`mayChangeDirectory`), so
 * this process's own changes are still seen by the very next lookup; another
 * process's (the CLI, another instance) by the next turn.
 *
 * A request takes a mark when it arrives (`mark`) and gives it to its lookups:
 * any read of the counter sent in the turn it arrived or later then serves
 * them all, whichever turn they run in. So a request sees every change
 * committed before it arrived, and the directory as of one moment after that
 * (on PostgreSQL, where each read is a round trip: a redemption read the
 * counter 6 times, since its lookups run in different turns; bench:statements).
 *
 * Cached values are shared between requests: callers must not change them
 * (computers and policies are frozen to make that fail loudly).
 */
export class DirectoryCache {
  private version = -1
  private readonly stores: Array<Map<string, unknown>> = []
  /** The last read of the counter sent, while the process has committed no change to the directory since. */
  private latest: Read | null = null
  /** Reads of the counter sent so far; a read's `seq` is the count before it. */
  private sent = 0
  /** The `seq` of the first read sent in this turn of the event loop; null when none was (or the turn has ended). */
  private turnStart: number | null = null

  constructor (private readonly storage: Pick<Storage, 'get' | 'directoryChanges'>, private readonly maxEntries = 10_000) {}

  /** A request's mark, taken when it arrives: its lookups are served by any read of the counter sent in this turn or later. */
  mark (): Freshness {
    return this.turnStart ?? this.sent
  }

  /** A cached lookup: `load` runs on a miss; a miss that finds nothing is not remembered. `since`: the request's mark. */
  lookup<V> (): Lookup<V> {
    const store = new Map<string, V>()
    this.stores.push(store as Map<string, unknown>)
    return async (key, load, since) => {
      const version = await this.check(since)
      let value = store.get(key)
      if (value === undefined) {
        value = await load()
        // Kept only if no other lookup saw a newer version meanwhile (it cleared the stores).
        if (value !== undefined && version === this.version) {
          if (store.size >= this.maxEntries) store.clear()
          store.set(key, value)
        }
      }
      return value
    }
  }

  clear (): void {
    for (const store of this.stores) store.clear()
    this.version = -1
    this.latest = null
  }

  private check (since: Freshness | undefined): Promise<number> {
    const directoryChanges = this.storage.directoryChanges
    const latest = this.latest
    // Without a mark, a read sent in this turn serves.
    const floor = since ?? this.turnStart ?? this.sent
    if (latest !== null && latest.directoryChanges === directoryChanges && latest.seq >= floor) return latest.version
    const read: Read = { version: this.read(), seq: this.sent++, directoryChanges }
    this.latest = read
    if (this.turnStart === null) {
      this.turnStart = read.seq
      setImmediate(() => { this.turnStart = null })
    }
    // A failed read is not shared beyond the lookups already waiting on it.
    read.version.catch(() => { if (this.latest === read) this.latest = null })
    return read.version
  }

  private async read (): Promise<number> {
    const n = (await this.storage.get<{ n: number }>('SELECT n FROM directory_version WHERE id = 1'))?.n ?? -2
    if (n !== this.version) {
      for (const store of this.stores) store.clear()
      this.version = n
    }
    return n
  }
}

/** A request's mark (DirectoryCache.mark); opaque to everyone else. */
export type Freshness = number

/** A cached lookup; `since`: the mark of the request it serves (without one: a read of this turn serves). */
export type Lookup<V> = (key: string, load: () => Promise<V | undefined>, since?: Freshness) => Promise<V | undefined>

interface Read {
  version: Promise<number>
  seq: number
  /** The storage's `directoryChanges` when it was sent. */
  directoryChanges: number
}

/** A lookup through `cache`, or straight to the database when there is none (inside a unit of work). */
export function lookupIn<V> (cache: DirectoryCache | null): Lookup<V> {
  return cache === null ? (_key, load) => load() : cache.lookup<V>()
}

/** Freezes an object and the arrays and objects it holds (cached values are shared). */
export function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as object)) deepFreeze(v)
  }
  return value
}
