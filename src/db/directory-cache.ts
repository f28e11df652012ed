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
 * commits anything, so this process's own changes are still seen by the very
 * next lookup; another process's (the CLI, another instance) by the next turn.
 *
 * Cached values are shared between requests: callers must not change them
 * (computers and policies are frozen to make that fail loudly).
 */
export class DirectoryCache {
  private version = -1
  private readonly stores: Array<Map<string, unknown>> = []
  /** This turn's read of the counter, while the process has committed nothing since. */
  private current: { version: Promise<number>, commits: number } | null = null

  constructor (private readonly storage: Pick<Storage, 'get' | 'commits'>, private readonly maxEntries = 10_000) {}

  /** A cached lookup: `load` runs on a miss; a miss that finds nothing is not remembered. */
  lookup<V> (): (key: string, load: () => Promise<V | undefined>) => Promise<V | undefined> {
    const store = new Map<string, V>()
    this.stores.push(store as Map<string, unknown>)
    return async (key, load) => {
      const version = await this.check()
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
    this.current = null
  }

  private check (): Promise<number> {
    const commits = this.storage.commits
    if (this.current !== null && this.current.commits === commits) return this.current.version
    const current = { version: this.read(), commits }
    this.current = current
    setImmediate(() => { if (this.current === current) this.current = null })
    // A failed read is not shared beyond the lookups already waiting on it.
    current.version.catch(() => { if (this.current === current) this.current = null })
    return current.version
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

/** A lookup through `cache`, or straight to the database when there is none (inside a unit of work). */
export function lookupIn<V> (cache: DirectoryCache | null): (key: string, load: () => Promise<V | undefined>) => Promise<V | undefined> {
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
