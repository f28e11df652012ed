import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

export type Db = Database.Database

export interface OpenOptions {
  busyTimeoutMs: number
  /** NORMAL survives a process crash; FULL also power loss (see RA_DB_SYNCHRONOUS). */
  synchronous?: 'NORMAL' | 'FULL'
}

/** SQLite's page cache per connection: 64 MiB (negative: in KiB). */
export const CACHE_SIZE = -65536

/**
 * Opens (creating if needed) the SQLite file with the settings the service
 * relies on: WAL so readers never block the writer, foreign keys enforced,
 * and a busy timeout so a second process (the CLI) waits instead of failing.
 */
export function openDatabase (file: string, options: OpenOptions): Db {
  mkdirSync(path.dirname(file), { recursive: true })
  const db: Db = new StatementCachingDatabase(file, { timeout: options.busyTimeoutMs })
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
  db.pragma('foreign_keys = ON')
  // A 64 MiB page cache (SQLite's default is 2 MiB): the hot index pages of a large database stay in
  // memory (bench:scale, a million invitations stored). No mmap: it shows the file as the process's memory.
  db.pragma(`cache_size = ${CACHE_SIZE}`)
  // A unit of work runs in a SAVEPOINT, whose journal (the pages it changed, as they were) SQLite spills to a
  // temporary file past 64 KiB: a redemption's unit passed that, and paid system calls for every page it wrote
  // (measured: its SQL 267-278 µs with the file, 203-220 µs in memory). In memory, so are temporary tables and
  // sort indices: the service's units and queries are bounded (purges and imports work in batches).
  db.pragma('temp_store = MEMORY')
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`)
  return db
}

/**
 * better-sqlite3, with each distinct SQL text compiled once and reused.
 * Repositories write their SQL where it is used; preparing it again on every
 * call was the largest single cost of a request (profiled: 14 % of creating an
 * invitation). Safe because no statement is iterated (only get/all/run), so
 * none is in use twice at once. Dynamic SQL (IN lists) makes more texts: the
 * cache is bounded.
 */
class StatementCachingDatabase extends Database {
  private readonly statements = new Map<string, Database.Statement>()

  override prepare<BindParameters extends unknown[] | {} = unknown[], Result = unknown> (source: string): Database.Statement<BindParameters, Result> {
    let statement = this.statements.get(source)
    if (statement === undefined) {
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear()
      statement = super.prepare(source)
      this.statements.set(source, statement)
    }
    return statement as never
  }
}

export const STATEMENT_CACHE_LIMIT = 2000

/** UTC timestamp as stored and returned everywhere: ISO 8601 with milliseconds. */
export function nowIso (): string {
  return new Date().toISOString()
}
