import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Peers } from '../cluster/peers.js'
import { ERROR_CODES } from '../errors.js'
import type { Storage } from '../db/storage.js'
import type { RecordedAudit } from '../repositories/audit-repository.js'
import type { Store } from '../repositories/index.js'
import { type MetricsRepository, OUTBOX_STATES, OUTBOXES } from '../repositories/metrics-repository.js'

/** How a session that was opened came to close: the novice's no (or no answer in time), or its end. */
export const SESSION_OUTCOMES = ['declined', 'expired', 'ended', 'terminated'] as const
export const SESSION_ORIGINS = ['invitation', 'offer'] as const
const REFUSED_OPERATIONS = { 'invitation.create-refused': 'create', 'invitation.redeem-refused': 'redeem', 'invitation.preview-refused': 'preview' } as const

/** The route label of a request that matched no route (a 404): never its URL, which the client chose. */
export const UNMATCHED_ROUTE = 'unmatched'

/** An error code from the closed set in errors.ts, or `other`: a label value never comes from outside that set. */
export function codeLabel (details: Record<string, unknown> | null | undefined): string {
  const code = details?.['code']
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) ? code : 'other'
}

const oneOf = <T extends string>(values: readonly T[], value: unknown): T | 'other' =>
  (values as readonly unknown[]).includes(value) ? value as T : 'other'

let processRegistry: Registry | undefined
/**
 * The process's own figures (event-loop lag, memory, CPU, GC, handles), one
 * set per process however many apps it runs: each set starts an event-loop
 * monitor and a GC observer that are never stopped, and tests build many apps.
 */
function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * What GET /metrics exports, in Prometheus' text format: request durations,
 * business counters driven by committed audit events (so a refused or
 * rolled-back change is never counted as done), and gauges read from the
 * database when scraped. Every label value comes from a fixed set: route
 * templates, methods, status codes, error codes, states; never an id or a name.
 * One registry per app (several apps in one process do not clash), merged with
 * the process's own figures.
 */
export class Metrics {
  readonly registry: Registry
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>
  private readonly invitationsCreated: Counter
  private readonly invitationsRedeemed: Counter
  private readonly invitationsRefused: Counter<'operation' | 'code'>
  private readonly sessionsOpened: Counter<'origin'>
  private readonly sessionsAccepted: Counter
  private readonly sessionsClosed: Counter<'outcome'>
  private readonly offersCreated: Counter
  private readonly offersRefused: Counter<'code'>
  private readonly controlGrants: Counter
  private readonly eventStreams: Gauge
  /** Where the gauges are read from at scrape time; until `watch`, they are left out. */
  private repo: MetricsRepository | null = null

  /**
   * `peers`: when this process is a worker of the service's cluster (RA_WORKERS), `text()` is every worker's figures,
   * merged by the primary: counters and histograms summed, the database's gauges taken from one worker (they read
   * the same database), the process's own figures as prom-client merges them.
   */
  constructor (onCollectError: (err: unknown) => void, private readonly peers: Peers | null = null) {
    const app = new Registry()
    const registers = [app]
    this.requestDuration = new Histogram({
      name: 'ra_http_request_duration_seconds',
      help: 'Time to answer a request, by method, route template (`unmatched` for a 404 without a route) and status code; ' +
        'an event stream counts when it closes.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.invitationsCreated = new Counter({ name: 'ra_invitations_created_total', help: 'Invitations created.', registers })
    this.invitationsRedeemed = new Counter({ name: 'ra_invitations_redeemed_total', help: 'Invitations redeemed by an expert.', registers })
    this.invitationsRefused = new Counter({
      name: 'ra_invitations_refused_total',
      help: 'Refused invitation requests, by operation (create, redeem, preview) and error code.',
      labelNames: ['operation', 'code'],
      registers
    })
    this.sessionsOpened = new Counter({
      name: 'ra_sessions_opened_total',
      help: 'Sessions opened, by origin (a redeemed invitation, or an offer).',
      labelNames: ['origin'],
      registers
    })
    this.sessionsAccepted = new Counter({ name: 'ra_sessions_accepted_total', help: 'Sessions the novice accepted.', registers })
    this.sessionsClosed = new Counter({
      name: 'ra_sessions_closed_total',
      help: 'Sessions closed, by outcome: declined or expired (the novice said no, or did not answer in time), ' +
        'ended (by a party or the administrator) or terminated (by the service: policy, a revoked token, a disabled account).',
      labelNames: ['outcome'],
      registers
    })
    this.offersCreated = new Counter({ name: 'ra_offers_created_total', help: 'Offers of Remote Assistance made (each opens a session).', registers })
    this.offersRefused = new Counter({ name: 'ra_offers_refused_total', help: 'Offers refused, by error code.', labelNames: ['code'], registers })
    this.controlGrants = new Counter({ name: 'ra_control_grants_total', help: 'Control requests the novice granted.', registers })
    for (const origin of SESSION_ORIGINS) this.sessionsOpened.inc({ origin }, 0)
    for (const outcome of SESSION_OUTCOMES) this.sessionsClosed.inc({ outcome }, 0)

    this.eventStreams = new Gauge({ name: 'ra_event_streams_open', help: 'Session event streams open on this instance.', registers })
    // Read from the database when scraped. A failed read leaves the gauge out of that scrape rather than failing it.
    const collected = (fn: (repo: MetricsRepository) => Promise<void>) => {
      const repoOf = (): MetricsRepository | null => this.repo
      return async function (this: Gauge<string>): Promise<void> {
        try {
          const repo = repoOf()
          if (repo === null) this.reset()
          else await fn(repo)
        } catch (err) {
          this.reset()
          onCollectError(err)
        }
      }
    }
    const depth = new Gauge({
      name: 'ra_outbox_depth',
      aggregator: 'first',
      help: 'Deliveries in an outbox (email: one per recipient; webhook), by state: queued, sending, retrying, failed (given up).',
      labelNames: ['outbox', 'state'],
      registers,
      collect: collected(async (repo) => {
        for (const outbox of OUTBOXES) {
          const rows = await repo.outboxDepth(outbox)
          for (const state of OUTBOX_STATES) depth.set({ outbox, state }, rows.find((r) => r.state === state)?.n ?? 0)
        }
      })
    })
    const oldest = new Gauge({
      name: 'ra_outbox_oldest_pending_age_seconds',
      aggregator: 'first',
      help: 'Age of the oldest delivery still waiting in an outbox (queued, sending or retrying); 0 when none waits.',
      labelNames: ['outbox'],
      registers,
      collect: collected(async (repo) => {
        for (const outbox of OUTBOXES) {
          const at = await repo.oldestPending(outbox)
          oldest.set({ outbox }, at === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(at)) / 1000))
        }
      })
    })
    const size = new Gauge({
      name: 'ra_database_size_bytes',
      aggregator: 'first',
      help: 'Size of the database: SQLite pages in use, or PostgreSQL\'s pg_database_size.',
      registers,
      collect: collected(async (repo) => { size.set(await repo.databaseBytes()) })
    })
    this.registry = Registry.merge([processMetrics(), app])
    peers?.shareMetrics(this.registry)
  }

  /**
   * Counts the store's committed audit events from now on, and reads the gauges from `repo`. Also exports how the
   * storage meets other processes: on SQLite, how this process uses the file's write lock (`writeLock`), which says
   * how far more processes would scale; on PostgreSQL, the work rolled back in a conflict (`conflicts`).
   */
  watch (store: Store, repo: MetricsRepository, storage: Pick<Storage, 'writeLock' | 'conflicts'> = {}): void {
    this.repo = repo
    store.observeAudit((event) => this.observeAudit(event))
    const { writeLock, conflicts } = storage
    if (conflicts !== undefined) {
      this.registry.registerMetric(new Counter({
        name: 'ra_postgres_conflict_retries_total',
        help: 'PostgreSQL: units of work and statements the server rolled back in a conflict with another transaction (a deadlock\'s ' +
          'victim, a serialisation failure), by what came of it: run again from the start, or failed after the last attempt.',
        labelNames: ['outcome'] as const,
        registers: [],
        collect () {
          this.reset()
          this.inc({ outcome: 'retried' }, conflicts.retried)
          this.inc({ outcome: 'failed' }, conflicts.failed)
        }
      }))
    }
    if (writeLock === undefined) return
    const registers = [this.registry]
    const counter = (name: string, help: string, read: () => number) => new Counter({
      name,
      help,
      registers,
      collect () { this.reset(); this.inc(read()) }
    })
    counter('ra_sqlite_write_lock_held_seconds_total', 'SQLite: time this process held the database file\'s write lock (its group commits).',
      () => writeLock.heldSeconds)
    counter('ra_sqlite_write_lock_wait_seconds_total', 'SQLite: time this process waited for the write lock while another process held it.',
      () => writeLock.waitedSeconds)
    counter('ra_sqlite_write_lock_waits_total', 'SQLite: group commits that found the write lock held by another process and waited.',
      () => writeLock.waits)
  }

  /** The content type of `text()`: Prometheus' text format 0.0.4. */
  get contentType (): string {
    return this.registry.contentType
  }

  /** Everything, in Prometheus' text format (the database gauges are read now); in a cluster, every worker's. */
  async text (): Promise<string> {
    if (this.peers !== null) return await this.peers.metrics()
    return this.registry.metrics()
  }

  /** One answered request. `route` is the route's template, never its URL. */
  observeRequest (method: string, route: string, status: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status }, seconds)
  }

  /** An event stream opened; the returned function says it closed (once, however often it is called). */
  streamOpened (): () => void {
    this.eventStreams.inc()
    let open = true
    return () => {
      if (!open) return
      open = false
      this.eventStreams.dec()
    }
  }

  /** Counts what a committed audit event records (Store.observeAudit: never an event of a unit that rolled back). */
  observeAudit (event: Pick<RecordedAudit, 'action' | 'details'>): void {
    const { action, details } = event
    switch (action) {
      case 'invitation.create': this.invitationsCreated.inc(); return
      case 'invitation.redeem': this.invitationsRedeemed.inc(); return
      case 'invitation.create-refused':
      case 'invitation.redeem-refused':
      case 'invitation.preview-refused':
        this.invitationsRefused.inc({ operation: REFUSED_OPERATIONS[action], code: codeLabel(details) })
        return
      case 'session.created': this.sessionsOpened.inc({ origin: oneOf(SESSION_ORIGINS, details?.['origin']) }); return
      case 'session.accepted': this.sessionsAccepted.inc(); return
      case 'session.declined':
      case 'session.expired':
      case 'session.ended':
      case 'session.terminated':
        this.sessionsClosed.inc({ outcome: action.slice('session.'.length) })
        return
      case 'control.granted': this.controlGrants.inc(); return
      case 'offer.create': this.offersCreated.inc(); return
      case 'offer.refused': this.offersRefused.inc({ code: codeLabel(details) })
    }
  }
}
