import { Peers } from '../cluster/peers.js'
import type { Config } from '../config.js'
import { migrationsDir } from '../paths.js'
import { migrate, readMigrations } from './migrate.js'
import { migratePostgres } from './migrate-postgres.js'
import { PostgresStorage } from './postgres-storage.js'
import { SqliteStorage } from './sqlite-storage.js'
import type { Storage } from './storage.js'

/**
 * Opens the configured database — PostgreSQL when RA_DATABASE_URL is set,
 * the SQLite file otherwise — and applies pending migrations.
 */
export async function openStorage (
  config: Config,
  onError: (message: string, err: unknown) => void = () => {}
): Promise<{ storage: Storage, applied: string[], migrations: number }> {
  if (config.databaseUrl !== undefined) {
    const dir = migrationsDir('postgres')
    const storage = await PostgresStorage.connect({ url: config.databaseUrl, poolSize: config.databasePoolSize, onError })
    try {
      const { applied } = await migratePostgres(storage, dir)
      return { storage, applied, migrations: readMigrations(dir).length }
    } catch (err) {
      await storage.close()
      throw err
    }
  }
  const dir = migrationsDir('sqlite')
  const storage = new SqliteStorage(config.databaseFile, { busyTimeoutMs: config.dbBusyTimeoutMs, synchronous: config.dbSynchronous }, Peers.ofThisProcess())
  try {
    return { storage, applied: migrate(storage.writer, dir).applied, migrations: readMigrations(dir).length }
  } catch (err) {
    await storage.close()
    throw err
  }
}
