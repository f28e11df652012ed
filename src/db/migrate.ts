import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Db } from './database.js'
import { nowIso } from './database.js'

const FILE_PATTERN = /^(\d{3,})\.do\.([a-z0-9-]+)\.sql$/

export interface MigrationFile {
  version: number
  name: string
  file: string
  sql: string
  checksum: string
}

export class MigrationError extends Error {
  readonly code = 'MIGRATION_REFUSED'
  constructor (message: string) {
    super(message)
    this.name = 'MigrationError'
  }
}

/** sha256 of the file with line endings normalised, so a CRLF checkout is not "changed". */
export function checksumOf (sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex')
}

export function readMigrations (dir: string): MigrationFile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
  const migrations: MigrationFile[] = []
  for (const file of files) {
    const match = FILE_PATTERN.exec(file)
    if (!match) throw new MigrationError(`migration file ${file} is not named NNN.do.some-name.sql`)
    const sql = readFileSync(path.join(dir, file), 'utf8')
    migrations.push({ version: Number(match[1]), name: match[2]!, file, sql, checksum: checksumOf(sql) })
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`migration ${m.file} is out of sequence: expected version ${i + 1}`)
  })
  return migrations
}

export interface MigrationResult {
  applied: string[]
  current: number
}

/**
 * The migrations still to apply, after checking that every migration already
 * applied is byte-for-byte the file it was (by checksum). A changed or missing
 * applied migration stops the service: the schema it describes is no longer
 * the schema in the database.
 */
export function pendingMigrations (
  files: MigrationFile[],
  applied: ReadonlyArray<{ version: number, name: string, checksum: string }>,
  dir: string
): MigrationFile[] {
  for (const row of applied) {
    const file = files[row.version - 1]
    if (!file) {
      throw new MigrationError(`the database has migration ${row.version} (${row.name}) applied, but there is no such file in ${dir}: ` +
        'this database belongs to a newer version of the service')
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(`migration ${file.file} was changed after it was applied ` +
        `(checksum ${file.checksum.slice(0, 12)}…, applied ${row.checksum.slice(0, 12)}…): ` +
        'restore the original file and put the change in a new migration')
    }
  }
  return files.slice(applied.length)
}

export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`

/** Applies pending migrations to a SQLite database, all in one transaction (see pendingMigrations). */
export function migrate (db: Db, dir: string): MigrationResult {
  db.exec(SCHEMA_MIGRATIONS_DDL)
  const files = readMigrations(dir)
  const run = db.transaction(() => {
    const applied = db.prepare('SELECT version, name, checksum FROM schema_migrations ORDER BY version')
      .all() as Array<{ version: number, name: string, checksum: string }>
    const pending = pendingMigrations(files, applied, dir)
    const record = db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)')
    for (const m of pending) {
      db.exec(m.sql)
      record.run(m.version, m.name, m.checksum, nowIso())
    }
    return { applied: pending.map((m) => m.file), current: files.length }
  })
  return run.immediate()
}
