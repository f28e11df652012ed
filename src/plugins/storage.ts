import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { openDatabase, type Db } from '../db/database.js'
import { Checkpointer } from '../db/checkpointer.js'
import { enableGroupCommit } from '../db/group-commit.js'
import { migrate, readMigrations } from '../db/migrate.js'
import { migrationsDir } from '../paths.js'
import { AccountsRepository } from '../repositories/accounts-repository.js'
import { AuditRepository } from '../repositories/audit-repository.js'
import { ComputersRepository } from '../repositories/computers-repository.js'
import { DomainsRepository } from '../repositories/domains-repository.js'
import { DeliveriesRepository } from '../repositories/deliveries-repository.js'
import { InvitationsRepository } from '../repositories/invitations-repository.js'
import { KeysRepository } from '../repositories/keys-repository.js'
import { PoliciesRepository } from '../repositories/policies-repository.js'
import { SessionsRepository } from '../repositories/sessions-repository.js'
import { TokensRepository } from '../repositories/tokens-repository.js'
import { DirectoryService } from '../services/directory-service.js'
import { DeliveryService } from '../services/delivery-service.js'
import { InvitationService } from '../services/invitation-service.js'
import { createMailer, type Mailer } from '../services/mailer.js'
import { OutboxWorker } from '../services/outbox-worker.js'
import { OfferService } from '../services/offer-service.js'
import { PolicyService } from '../services/policy-service.js'
import { SessionService } from '../services/session-service.js'
import { Signals } from '../services/signals.js'
import { TicketService } from '../services/tickets.js'
import { TokensService } from '../services/tokens-service.js'

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
  }
  /** The WAL checkpoint worker, when the app runs one. */
  checkpoints: Checkpointer | null
  /** The connection itself: for tools and tests (fault injection); the app's code goes through repositories. */
  db: Db
  /** For /readyz: whether the database answers and every migration is applied. */
  isReady: () => boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
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
    deliveries: new DeliveriesRepository(db)
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
  const signals = new Signals()
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

export default fp<{ config: Config }>(async (fastify, { config }) => {
  const { db, applied } = openMigratedDatabase(config)
  if (applied.length > 0) fastify.log.info({ migrations: applied }, 'database migrated')
  const group = enableGroupCommit(db)
  // Nothing is acknowledged before it is committed: a response waits for the group it may have seen.
  fastify.addHook('onSend', async (_request, reply, payload) => {
    if (!group.pending) return payload
    try {
      await group.committed()
    } catch (err) {
      // An error answer claimed no change; a success must not stand when its change was lost.
      if (reply.statusCode < 400) throw err
    }
    return payload
  })
  const services = createServices(db, config)
  try {
    const keys = await services.tickets.init()
    if (keys.generated) fastify.log.info('generated a ticket-signing key')
    if (keys.encryptedNow > 0) fastify.log.info({ keys: keys.encryptedNow }, 'encrypted stored signing keys with RA_KEY_ENCRYPTION_SECRET')
  } catch (err) {
    db.close()
    throw err
  }
  if (config.keyEncryptionSecret === undefined) fastify.log.warn('RA_KEY_ENCRYPTION_SECRET is not set: ticket-signing keys are stored in clear in the database')
  const checkpoints = config.dbCheckpointIntervalMs > 0
    ? new Checkpointer(db, config.databaseFile, { intervalMs: config.dbCheckpointIntervalMs, busyTimeoutMs: config.dbBusyTimeoutMs, onError: (message) => fastify.log.warn({ error: message }, 'WAL checkpoint failed') })
    : null
  services.checkpoints = checkpoints
  fastify.decorate('services', services)

  // Invitations that ended unredeemed are purged after the retention period; their audit events stay.
  const purge = () => {
    const before = new Date(Date.now() - config.invitationRetentionDays * 86_400_000).toISOString()
    const purged = services.repos.invitations.purge(before)
    if (purged > 0) fastify.log.info({ purged }, 'purged ended invitations past retention')
  }
  purge()
  const timer = setInterval(purge, 3_600_000)
  timer.unref()
  // Timeouts take effect (and reach live streams) without anyone asking.
  const sweeper = setInterval(() => {
    try { services.sessions.sweep() } catch (err) { fastify.log.error({ err }, 'session sweep failed') }
  }, 1000)
  sweeper.unref()
  services.outbox = new OutboxWorker(() => services.deliveries.runDue(), config.delivery.pollMs, fastify.log)
  fastify.addHook('onReady', async () => { services.outbox?.start() })
  if (services.mailer.kind === 'smtp') fastify.log.info('invitation e-mail goes to the SMTP server in RA_SMTP_URL')
  else fastify.log.info({ mailDir: config.mailDir }, 'no RA_SMTP_URL: invitation e-mail is written as .eml files')
  // Last hook to run on close: in-flight requests have finished by then; the send in progress is recorded.
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    clearInterval(sweeper)
    await services.outbox?.stop()
    services.mailer.close()
    group.flush()
    await checkpoints?.stop()
    db.close()
  })
}, { name: 'storage' })
