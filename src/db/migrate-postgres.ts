import { nowIso } from './database.js'
import { type MigrationResult, pendingMigrations, readMigrations, SCHEMA_MIGRATIONS_DDL } from './migrate.js'
import type { PostgresStorage } from './postgres-storage.js'

/** The advisory lock every instance takes to migrate: one migrates, the others wait and then find nothing to do. */
const MIGRATION_LOCK = 0x52416d67 // 'RAmg'

/**
 * Applies pending migrations to PostgreSQL in one transaction, under an
 * advisory lock, so that instances starting together migrate once (the same
 * checks as on SQLite: see pendingMigrations).
 */
export async function migratePostgres (storage: PostgresStorage, dir: string): Promise<MigrationResult> {
  const files = readMigrations(dir)
  const client = await storage.pool.connect()
  let broken: Error | undefined
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await client.query('BEGIN')
      try {
        await client.query(SCHEMA_MIGRATIONS_DDL)
        const { rows } = await client.query<{ version: number, name: string, checksum: string }>(
          'SELECT version, name, checksum FROM schema_migrations ORDER BY version')
        const pending = pendingMigrations(files, rows, dir)
        for (const m of pending) {
          await client.query(m.sql)
          await client.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
            [m.version, m.name, m.checksum, nowIso()])
        }
        await client.query('COMMIT')
        return { applied: pending.map((m) => m.file), current: files.length }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch((err: unknown) => { broken = err as Error })
    }
  } finally {
    client.release(broken)
  }
}
