import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { openDatabase, type Db } from '../db/database.js'
import { migrate, readMigrations } from '../db/migrate.js'
import { migrationsDir } from '../paths.js'
import { AccountsRepository } from '../repositories/accounts-repository.js'
import { AuditRepository } from '../repositories/audit-repository.js'
import { ComputersRepository } from '../repositories/computers-repository.js'
import { DomainsRepository } from '../repositories/domains-repository.js'
import { PoliciesRepository } from '../repositories/policies-repository.js'
import { TokensRepository } from '../repositories/tokens-repository.js'
import { DirectoryService } from '../services/directory-service.js'
import { PolicyService } from '../services/policy-service.js'
import { TokensService } from '../services/tokens-service.js'

export interface Services {
  tokens: TokensService
  directory: DirectoryService
  policy: PolicyService
  audit: AuditRepository
  repos: {
    domains: DomainsRepository
    accounts: AccountsRepository
    computers: ComputersRepository
    tokens: TokensRepository
    policies: PoliciesRepository
  }
  /** For /readyz: whether the database answers and every migration is applied. */
  isReady: () => boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

/** Builds repositories and services over one open, migrated database. Shared by the app and the CLI. */
export function createServices (db: Db): Services {
  const repos = {
    domains: new DomainsRepository(db),
    accounts: new AccountsRepository(db),
    computers: new ComputersRepository(db),
    tokens: new TokensRepository(db),
    policies: new PoliciesRepository(db)
  }
  const audit = new AuditRepository(db)
  const expected = readMigrations(migrationsDir).length
  const applied = db.prepare('SELECT count(*) AS n FROM schema_migrations')
  return {
    repos,
    audit,
    tokens: new TokensService(db, repos.tokens, repos.accounts, audit),
    directory: new DirectoryService(db, repos, audit),
    policy: new PolicyService(db, repos, audit),
    isReady: () => db.open && (applied.get() as { n: number }).n === expected
  }
}

/** Opens and migrates the database (refusing to start on a changed migration). */
export function openMigratedDatabase (config: Config): { db: Db, applied: string[] } {
  const db = openDatabase(config.databaseFile, { busyTimeoutMs: config.dbBusyTimeoutMs })
  try {
    return { db, applied: migrate(db, migrationsDir).applied }
  } catch (err) {
    db.close()
    throw err
  }
}

export default fp<{ config: Config }>(async (fastify, { config }) => {
  const { db, applied } = openMigratedDatabase(config)
  if (applied.length > 0) fastify.log.info({ migrations: applied }, 'database migrated')
  fastify.decorate('services', createServices(db))
  // Last hook to run on close: in-flight requests have finished by then.
  fastify.addHook('onClose', async () => { db.close() })
}, { name: 'storage' })
