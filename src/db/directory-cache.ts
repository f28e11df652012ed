import type { Db } from './database.js'
import { groupOf } from './group-commit.js'

/**
 * Read-mostly data (tokens, computers, resultant policies, signing keys) kept
 * in memory while the database's directory_version counter stays the same.
 * Triggers bump the counter on any change to those tables, by any process or
 * hand, so a change is seen by the very next lookup; a rolled-back group
 * empties the cache too. Each lookup costs one read of the counter instead of
 * the queries it replaces (profiled: token, computer and policy reads were a
 * third of the SQL time of a request).
 *
 * Cached values are shared between requests: callers must not change them
 * (computers and policies are frozen to make that fail loudly).
 */
export class DirectoryCache {
  private version = -1
  private readonly stores: Array<Map<string, unknown>> = []
  private readonly readVersion

  constructor (db: Db, private readonly maxEntries = 10_000) {
    this.readVersion = db.prepare('SELECT n FROM directory_version WHERE id = 1')
    groupOf(db).onRollback(() => this.clear())
  }

  /** A cached lookup: `load` runs on a miss; a miss that finds nothing is not remembered. */
  lookup<V> (): (key: string, load: () => V | undefined) => V | undefined {
    const store = new Map<string, V>()
    this.stores.push(store as Map<string, unknown>)
    return (key, load) => {
      this.check()
      let value = store.get(key)
      if (value === undefined) {
        value = load()
        if (value !== undefined) {
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

  private check (): void {
    const n = (this.readVersion.get() as { n: number } | undefined)?.n ?? -2
    if (n !== this.version) {
      for (const store of this.stores) store.clear()
      this.version = n
    }
  }
}

const caches = new WeakMap<Db, DirectoryCache>()

/** The database's one cache (shared by its repositories and services). */
export function directoryCache (db: Db): DirectoryCache {
  let cache = caches.get(db)
  if (!cache) {
    cache = new DirectoryCache(db)
    caches.set(db, cache)
  }
  return cache
}

/** Freezes an object and the arrays and objects it holds (cached values are shared). */
export function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as object)) deepFreeze(v)
  }
  return value
}
