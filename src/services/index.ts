import type { Config } from '../config.js'
import type { Checkpointer } from '../db/checkpointer.js'
import { openStorage } from '../db/open-storage.js'
import type { Storage } from '../db/storage.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import { type Repositories, Store } from '../repositories/index.js'
import { DirectoryService } from './directory-service.js'
import { DeliveryService } from './delivery-service.js'
import { InvitationService } from './invitation-service.js'
import { createMailer, type Mailer } from './mailer.js'
import type { OutboxWorker } from './outbox-worker.js'
import { OfferService } from './offer-service.js'
import { PolicyService } from './policy-service.js'
import { SessionService } from './session-service.js'
import { SessionStreams } from './session-streams.js'
import { ServiceKey } from './service-key.js'
import { ShortCodes } from './short-codes.js'
import { SignInService } from './sign-in-service.js'
import { Signals } from './signals.js'
import { TicketService } from './tickets.js'
import { TokensService } from './tokens-service.js'
import { WebhookSender } from './webhook-sender.js'
import { WebhookService } from './webhook-service.js'

/**
 * The wiring: repositories and services over one open, migrated storage,
 * shared by the HTTP app (plugins/storage.ts) and the CLI.
 */
export interface Services {
  tokens: TokensService
  signIn: SignInService
  directory: DirectoryService
  policy: PolicyService
  tickets: TicketService
  invitations: InvitationService
  sessions: SessionService
  /** This process's live session event streams. */
  streams: SessionStreams
  offers: OfferService
  signals: Signals
  deliveries: DeliveryService
  mailer: Mailer
  /** Set once the app starts its outbox worker (not in the CLI). */
  outbox: OutboxWorker | null
  webhooks: WebhookService
  /** Set once the app starts its webhook worker (not in the CLI). */
  webhookWorker: OutboxWorker | null
  /** The retention purge, run at start and hourly in the background; set by the app (not in the CLI). */
  purges: OutboxWorker | null
  audit: AuditRepository
  /** Reads of committed data; changes go through `store.work`. */
  repos: Repositories
  store: Store
  /** The database itself: for tools and tests (fault injection); the app's code goes through repositories. */
  storage: Storage
  /** The WAL checkpoint worker, when the app runs one (SQLite). */
  checkpoints: Checkpointer | null
  /** For /readyz: whether the database answers and every migration is applied. */
  isReady: () => Promise<boolean>
  /** Resolves once the work signals started (ending sessions after a revocation…) has finished. */
  drain: () => Promise<void>
}

/** Builds repositories and services over one open, migrated storage. Shared by the app and the CLI; call `tickets.init()` before use. */
export function createServices (storage: Storage, config: Config, migrations: number, onBackgroundError: (err: unknown) => void = () => {}): Services {
  const store = new Store(storage)
  const tickets = new TicketService(store, {
    issuer: config.publicBaseUrl,
    audience: `${config.publicBaseUrl}/v1/redemptions`,
    keyEncryptionSecret: config.keyEncryptionSecret,
    clockToleranceS: config.ticketClockToleranceS
  })
  const signals = new Signals(onBackgroundError)
  const policy = new PolicyService(store, signals)
  const sessions = new SessionService(store, policy, config.sessions, {
    verification: new ServiceKey(store, 'session-verification', config.keyEncryptionSecret),
    signReceipt: (typ, claims) => tickets.signDocument(typ, claims)
  })
  const streams = new SessionStreams(sessions, onBackgroundError, config.sessions.streamPollMs)
  sessions.notifier.on('event', (sessionId: string) => { streams.notify(sessionId) })
  // Changes elsewhere take effect on live sessions at once (O9), in units of work of their own after the change
  // that raised them has committed; the request that made the change waits for them (Signals.settled).
  signals.on('policy-changed', () => sessions.enforcePolicy())
  signals.on('token-revoked', (tokenId) => sessions.terminateFor({ tokenId }, 'the expert\'s token was revoked'))
  signals.on('account-disabled', (accountId) => sessions.terminateFor({ accountId }, 'an account of this session was disabled'))
  const mailer = createMailer(config)
  const deliveries = new DeliveryService(store, policy, tickets, mailer, {
    publicBaseUrl: config.publicBaseUrl,
    from: config.smtp.from,
    maxAttempts: config.delivery.maxAttempts,
    pollMs: config.delivery.pollMs,
    retryBaseMs: config.delivery.retryBaseMs
  })
  const tokens = new TokensService(store, signals)
  const services: Services = {
    storage,
    store,
    repos: store.repos,
    audit: store.repos.audit,
    tokens,
    signIn: new SignInService(store, tokens, signals, { publicBaseUrl: config.publicBaseUrl, ...config.signIn }),
    directory: new DirectoryService(store, signals),
    sessions,
    streams,
    offers: new OfferService(store, policy, sessions, config.offers),
    signals,
    policy,
    tickets,
    deliveries,
    mailer,
    outbox: null,
    webhooks: new WebhookService(store, new WebhookSender({ timeoutMs: config.webhooks.timeoutMs, allowLoopback: config.webhooks.allowHttp }), {
      ...config.webhooks,
      keyEncryptionSecret: config.keyEncryptionSecret
    }),
    webhookWorker: null,
    purges: null,
    checkpoints: null,
    invitations: new InvitationService(store, policy, tickets, deliveries, sessions, new ShortCodes(store, config.codes, config.keyEncryptionSecret),
      () => services.outbox?.kick()),
    isReady: () => storage.isReady(migrations),
    drain: () => signals.settled()
  }
  return services
}

/** Opens and migrates the configured database, and builds the services over it. */
export async function openServices (config: Config, onBackgroundError?: (err: unknown) => void): Promise<{ services: Services, applied: string[] }> {
  const { storage, applied, migrations } = await openStorage(config)
  return { services: createServices(storage, config, migrations, onBackgroundError), applied }
}
