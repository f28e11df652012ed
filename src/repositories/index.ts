import { DirectoryCache } from '../db/directory-cache.js'
import type { Sql, Storage, Tx } from '../db/storage.js'
import { AccountsRepository } from './accounts-repository.js'
import { AuditRepository } from './audit-repository.js'
import { ComputersRepository } from './computers-repository.js'
import { DeliveriesRepository } from './deliveries-repository.js'
import { DomainsRepository } from './domains-repository.js'
import { InvitationsRepository } from './invitations-repository.js'
import { KeysRepository } from './keys-repository.js'
import { LimitsRepository } from './limits-repository.js'
import { PoliciesRepository } from './policies-repository.js'
import { SessionsRepository } from './sessions-repository.js'
import { TokensRepository } from './tokens-repository.js'

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
  readonly audit: AuditRepository

  constructor (readonly sql: Sql, readonly cache: DirectoryCache | null) {
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
    this.audit = new AuditRepository(sql)
  }
}

/** The repositories of one unit of work: what they change commits together, or not at all. */
export class Unit extends Repositories {
  constructor (private readonly tx: Tx) {
    super(tx, null)
  }

  /** Runs `fn` once this unit has committed (signals, notifications); never if it rolls back. */
  afterCommit (fn: () => void): void {
    this.tx.afterCommit(fn)
  }
}

/** The storage and its repositories, as services use them. */
export class Store {
  /** Reads of committed data (and single-statement changes, each its own unit). */
  readonly repos: Repositories

  constructor (readonly storage: Storage) {
    this.repos = new Repositories(storage, new DirectoryCache(storage))
  }

  /** Runs `fn` as one unit of work; resolves once it has committed (see Storage.unitOfWork). */
  work<T> (fn: (unit: Unit) => Promise<T>): Promise<T> {
    return this.storage.unitOfWork((tx) => fn(new Unit(tx)))
  }
}
