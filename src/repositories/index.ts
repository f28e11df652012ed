import { DirectoryCache } from '../db/directory-cache.js'
import type { Sql, Storage, Tx } from '../db/storage.js'
import { AccountsRepository } from './accounts-repository.js'
import { type AuditObservers, AuditRepository, type RecordedAudit } from './audit-repository.js'
import { ComputersRepository } from './computers-repository.js'
import { DeliveriesRepository } from './deliveries-repository.js'
import { DomainsRepository } from './domains-repository.js'
import { InvitationsRepository } from './invitations-repository.js'
import { KeysRepository } from './keys-repository.js'
import { LimitsRepository } from './limits-repository.js'
import { PoliciesRepository } from './policies-repository.js'
import { SecretsRepository } from './secrets-repository.js'
import { SessionsRepository } from './sessions-repository.js'
import { SignInRepository } from './sign-in-repository.js'
import { TokensRepository } from './tokens-repository.js'
import { WebhooksRepository } from './webhooks-repository.js'

/** What the store tells this process's observers once a unit of work has committed. */
export interface StoreHooks {
  /** Each audit event (metrics count them). */
  audit: AuditObservers
  /** Webhook deliveries were queued (the worker wakes). */
  webhookQueued: Set<() => void>
}

const newHooks = (): StoreHooks => ({ audit: new Set(), webhookQueued: new Set() })

/**
 * Every repository over one `Sql`: the storage itself (committed data, with
 * the directory cache) or one unit of work (its own changes, no cache).
 */
export class Repositories {
  readonly domains: DomainsRepository
  readonly accounts: AccountsRepository
  readonly computers: ComputersRepository
  readonly tokens: TokensRepository
  readonly policies: PoliciesRepository
  readonly invitations: InvitationsRepository
  readonly sessions: SessionsRepository
  readonly deliveries: DeliveriesRepository
  readonly limits: LimitsRepository
  readonly keys: KeysRepository
  readonly signIn: SignInRepository
  readonly audit: AuditRepository
  readonly webhooks: WebhooksRepository
  readonly secrets: SecretsRepository

  constructor (readonly sql: Sql, readonly cache: DirectoryCache | null, hooks: StoreHooks = newHooks(), afterCommit?: (fn: () => void) => void) {
    this.domains = new DomainsRepository(sql)
    this.accounts = new AccountsRepository(sql)
    this.computers = new ComputersRepository(sql, cache)
    this.tokens = new TokensRepository(sql, cache)
    this.policies = new PoliciesRepository(sql)
    this.invitations = new InvitationsRepository(sql)
    this.sessions = new SessionsRepository(sql)
    this.deliveries = new DeliveriesRepository(sql)
    this.limits = new LimitsRepository(sql)
    this.keys = new KeysRepository(sql, cache)
    this.signIn = new SignInRepository(sql)
    this.audit = new AuditRepository(sql, hooks.audit, afterCommit)
    this.secrets = new SecretsRepository(sql)
    this.webhooks = new WebhooksRepository(sql, afterCommit && (() => afterCommit(() => { for (const fn of hooks.webhookQueued) fn() })), cache)
  }
}

/** The repositories of one unit of work: what they change commits together, or not at all. */
export class Unit extends Repositories {
  /** Work to run once this unit has committed, that the unit's caller waits for (see `thenRun`). */
  readonly followUps: Array<() => Promise<void>> = []

  constructor (private readonly tx: Tx, hooks: StoreHooks) {
    super(tx, null, hooks, (fn) => tx.afterCommit(fn))
  }

  /**
   * Runs `fn` once this unit has committed, before `Store.work` resolves: the
   * caller's answer waits for it (a policy change's effect on live sessions).
   * Never runs if the unit rolls back; its failure is `fn`'s to handle.
   */
  thenRun (fn: () => Promise<void>): void {
    this.followUps.push(fn)
  }

  /** Runs `fn` once this unit has committed (signals, notifications); never if it rolls back. */
  afterCommit (fn: () => void): void {
    this.tx.afterCommit(fn)
  }

  /** Holds `name` until this unit ends, waiting for any other unit holding it (see Tx.lock). */
  lock (name: string): Promise<void> {
    return this.tx.lock(name)
  }

  /** Tells the other instances, once this unit commits (PostgreSQL NOTIFY; nothing on SQLite). */
  notify (channel: string, payload: string): Promise<void> {
    return this.tx.notify(channel, payload)
  }
}

/** The storage and its repositories, as services use them. */
export class Store {
  /** Reads of committed data (and single-statement changes, each its own unit). */
  readonly repos: Repositories
  private readonly hooks = newHooks()

  constructor (readonly storage: Storage) {
    this.repos = new Repositories(storage, new DirectoryCache(storage), this.hooks)
  }

  /** Calls `fn` with each audit event once it has committed, in this process; never for a unit that rolled back. */
  observeAudit (fn: (event: RecordedAudit) => void): void {
    this.hooks.audit.add(fn)
  }

  /** Calls `fn` once a unit of work that queued webhook deliveries has committed, in this process. */
  onWebhookQueued (fn: () => void): void {
    this.hooks.webhookQueued.add(fn)
  }

  /** Runs `fn` as one unit of work; resolves once it has committed (see Storage.unitOfWork). */
  async work<T> (fn: (unit: Unit) => Promise<T>): Promise<T> {
    let unit: Unit | undefined
    // A new Unit per attempt: PostgreSQL may run `fn` again after a deadlock, and only the last attempt committed.
    const result = await this.storage.unitOfWork(async (tx) => {
      unit = new Unit(tx, this.hooks)
      const value = await fn(unit)
      await unit.audit.flush() // the unit's audit events, written together (AuditRepository.record)
      return value
    })
    for (const followUp of unit?.followUps ?? []) await followUp()
    return result
  }
}
