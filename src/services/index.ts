import type { Config } from '../config.js'
import { openDatabase, type Db } from '../db/database.js'
import { groupOf } from '../db/group-commit.js'
import type { Checkpointer } from '../db/checkpointer.js'
import { migrate, readMigrations } from '../db/migrate.js'
import { migrationsDir } from '../paths.js'
import { AccountsRepository } from '../repositories/accounts-repository.js'
import { AuditRepository } from '../repositories/audit-repository.js'
import { ComputersRepository } from '../repositories/computers-repository.js'
import { DomainsRepository } from '../repositories/domains-repository.js'
import { DeliveriesRepository } from '../repositories/deliveries-repository.js'
import { InvitationsRepository } from '../repositories/invitations-repository.js'
import { KeysRepository } from '../repositories/keys-repository.js'
import { LimitsRepository } from '../repositories/limits-repository.js'
import { PoliciesRepository } from '../repositories/policies-repository.js'
import { SessionsRepository } from '../repositories/sessions-repository.js'
import { TokensRepository } from '../repositories/tokens-repository.js'
import { DirectoryService } from './directory-service.js'
import { DeliveryService } from './delivery-service.js'
import { InvitationService } from './invitation-service.js'
import { createMailer, type Mailer } from './mailer.js'
import type { OutboxWorker } from './outbox-worker.js'
import { OfferService } from './offer-service.js'
import { PolicyService } from './policy-service.js'
import { SessionService } from './session-service.js'
import { Signals } from './signals.js'
import { TicketService } from './tickets.js'
import { TokensService } from './tokens-service.js'

/**
 * The wiring: repositories and services over one open, migrated database,
 * shared by the HTTP app (plugins/storage.ts) and the CLI.
 */
export interface Services {
  tokens: TokensService
  directory: DirectoryService
  policy: PolicyService
  tickets: TicketService
  invitations: InvitationService
  sessions: SessionService
  offers: OfferService
  signals: Signals
  deliveries: DeliveryService
  mailer: Mailer
  /** Set once the app starts its outbox worker (not in the CLI). */
  outbox: OutboxWorker | null
  audit: AuditRepository
  repos: {
    domains: DomainsRepository
    accounts: AccountsRepository
    computers: ComputersRepository
    tokens: TokensRepository
    policies: PoliciesRepository
    invitations: InvitationsRepository
    sessions: SessionsRepository
    deliveries: DeliveriesRepository
    limits: LimitsRepository
  }
  /** The WAL checkpoint worker, when the app runs one. */
  checkpoints: Checkpointer | null
  /** The connection itself: for tools and tests (fault injection); the app's code goes through repositories. */
  db: Db
  /** For /readyz: whether the database answers and every migration is applied. */
  isReady: () => boolean
}

/** Builds repositories and services over one open, migrated database. Shared by the app and the CLI; call `tickets.init()` before use. */
export function createServices (db: Db, config: Config): Services {
  const repos = {
    domains: new DomainsRepository(db),
    accounts: new AccountsRepository(db),
    computers: new ComputersRepository(db),
    tokens: new TokensRepository(db),
    policies: new PoliciesRepository(db),
    invitations: new InvitationsRepository(db),
    sessions: new SessionsRepository(db),
    deliveries: new DeliveriesRepository(db),
    limits: new LimitsRepository(db)
  }
  const audit = new AuditRepository(db)
  const tickets = new TicketService(db, new KeysRepository(db), audit, {
    issuer: config.publicBaseUrl,
    audience: `${config.publicBaseUrl}/v1/redemptions`,
    keyEncryptionSecret: config.keyEncryptionSecret,
    clockToleranceS: config.ticketClockToleranceS
  })
  const expected = readMigrations(migrationsDir).length
  const applied = db.prepare('SELECT count(*) AS n FROM schema_migrations')
  // Signals go out once the change that raised them has committed (group commit, when the app runs it).
  const signals = new Signals((fn) => groupOf(db).afterCommit(fn))
  const policy = new PolicyService(db, repos, audit, signals)
  const sessions = new SessionService(db, repos.sessions, repos.computers, policy, audit, config.sessions)
  // Changes elsewhere take effect on live sessions at once (O9).
  signals.on('policy-changed', () => sessions.enforcePolicy())
  signals.on('token-revoked', (tokenId) => sessions.terminateFor({ tokenId }, 'the expert\'s token was revoked'))
  signals.on('account-disabled', (accountId) => sessions.terminateFor({ accountId }, 'an account of this session was disabled'))
  const mailer = createMailer(config)
  const deliveries = new DeliveryService(db, repos, policy, tickets, audit, mailer, {
    publicBaseUrl: config.publicBaseUrl,
    from: config.smtp.from,
    maxAttempts: config.delivery.maxAttempts,
    retryBaseMs: config.delivery.retryBaseMs
  })
  const services: Services = {
    db,
    repos,
    audit,
    tokens: new TokensService(db, repos.tokens, repos.accounts, audit, signals),
    directory: new DirectoryService(db, repos, audit, signals),
    sessions,
    offers: new OfferService(db, repos, policy, sessions, audit, config.offers),
    signals,
    policy,
    tickets,
    deliveries,
    mailer,
    outbox: null,
    checkpoints: null,
    invitations: new InvitationService(db, repos, policy, tickets, audit, deliveries, sessions, () => services.outbox?.kick()),
    isReady: () => db.open && (applied.get() as { n: number }).n === expected
  }
  return services
}

/** Opens and migrates the database (refusing to start on a changed migration). */
export function openMigratedDatabase (config: Config): { db: Db, applied: string[] } {
  const db = openDatabase(config.databaseFile, { busyTimeoutMs: config.dbBusyTimeoutMs, synchronous: config.dbSynchronous })
  try {
    return { db, applied: migrate(db, migrationsDir).applied }
  } catch (err) {
    db.close()
    throw err
  }
}
