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
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`)
  return db
}

/** UTC timestamp as stored and returned everywhere: ISO 8601 with milliseconds. */
export function nowIso (): string {
  return new Date().toISOString()
}
