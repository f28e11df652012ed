import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

export type Db = Database.Database

export interface OpenOptions {
  busyTimeoutMs: number
  /** NORMAL survives a process crash; FULL also power loss (see RA_DB_SYNCHRONOUS). */
  synchronous?: 'NORMAL' | 'FULL'
}

/**
 * Opens (creating if needed) the SQLite file with the settings the service
 * relies on: WAL so readers never block the writer, foreign keys enforced,
 * and a busy timeout so a second process (the CLI) waits instead of failing.
 */
export function openDatabase (file: string, options: OpenOptions): Db {
  mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file, { timeout: options.busyTimeoutMs })
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
  db.pragma('foreign_keys = ON')
  // A 64 MiB page cache (SQLite's default is 2 MiB): the hot index pages of a large database stay in
  // memory (bench:scale, a million invitations stored). No mmap: it shows the file as the process's memory.
  db.pragma('cache_size = -65536')
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`)
  cachePreparedStatements(db)
  return db
}

/**
 * Repositories write their SQL where it is used; preparing it again on every
 * call was the largest single cost of a request (profiled: 14 % of creating an
 * invitation). A statement is compiled once per distinct SQL text and reused.
 * Safe because no statement is iterated (only get/all/run), so none is in use
 * twice at once. Dynamic SQL (IN lists) makes more texts: the cache is bounded.
 */
function cachePreparedStatements (db: Db, limit = 2000): void {
  const prepare = db.prepare.bind(db)
  const cache = new Map<string, Database.Statement>()
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      if (cache.size >= limit) cache.clear()
      statement = prepare(sql)
      cache.set(sql, statement)
    }
    return statement
  }) as Db['prepare']
}

/** UTC timestamp as stored and returned everywhere: ISO 8601 with milliseconds. */
export function nowIso (): string {
  return new Date().toISOString()
}
