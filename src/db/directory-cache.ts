import type { Sql } from './storage.js'

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
 * Cached values are shared between requests: callers must not change them
 * (computers and policies are frozen to make that fail loudly).
 */
export class DirectoryCache {
  private version = -1
  private readonly stores: Array<Map<string, unknown>> = []

  constructor (private readonly sql: Sql, private readonly maxEntries = 10_000) {}

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
  }

  private async check (): Promise<number> {
    const n = (await this.sql.get<{ n: number }>('SELECT n FROM directory_version WHERE id = 1'))?.n ?? -2
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
