import type { Db } from '../db/database.js'
import type { Check } from '../domain/decisions.js'
import { transitiveGroups } from '../domain/groups.js'
import { nameKey, splitQualifiedName } from '../domain/names.js'
import { offerDecision, type OfferFacts } from '../domain/offer-decision.js'
import { readinessChecks } from '../domain/readiness.js'
import { AppError, notFound, policyDenied } from '../errors.js'
import type { AccountsRepository } from '../repositories/accounts-repository.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { ComputersRepository } from '../repositories/computers-repository.js'
import type { DomainsRepository } from '../repositories/domains-repository.js'
import type { SessionsRepository } from '../repositories/sessions-repository.js'
import type { Computer } from '../schemas/directory.js'
import type { Session } from '../schemas/invitations.js'
import type { Caller } from './context.js'
import { auditRefusal } from './refusals.js'
import type { PolicyService } from './policy-service.js'
import type { SessionService } from './session-service.js'

export interface OfferRepositories {
  accounts: AccountsRepository
  computers: ComputersRepository
  domains: DomainsRepository
  sessions: SessionsRepository
}

export interface OfferLimits {
  maxPendingPerComputer: number
  maxPerExpertPerHour: number
}

export type OfferResult = { allowed: boolean, checks: Check[], permission: 'view' | 'control' | null }

/**
 * Offer Remote Assistance (SPEC.md O1–O8, F4): one decision, used alike by
 * the offer-check (nothing created) and by POST /v1/offers (a session awaiting
 * the novice, mode capped by O3), so the two always agree.
 */
export class OfferService {
  constructor (
    private readonly db: Db,
    private readonly repos: OfferRepositories,
    private readonly policy: PolicyService,
    private readonly sessions: SessionService,
    private readonly audit: AuditRepository,
    private readonly limits: OfferLimits
  ) {}

  /** GET /v1/computers/{id}/offer-check */
  check (computerId: string, expert: string, expertComputer?: string): OfferResult {
    const computer = this.repos.computers.get(computerId)
    if (!computer) throw notFound('computer', computerId)
    return offerDecision(this.facts(computer, expert, expertComputer))
  }

  /** GET /v1/computers/{id}/readiness */
  readiness (computerId: string): { computer: { id: string, name: string, platform: string | null }, ready: boolean, checks: Check[], warnings: string[] } {
    const computer = this.repos.computers.get(computerId)
    if (!computer) throw notFound('computer', computerId)
    const { checks, warnings } = readinessChecks(computer)
    return { computer: { id: computer.id, name: computer.name, platform: computer.platform }, ready: checks.every((c) => c.passed), checks, warnings }
  }

  /** POST /v1/offers by an expert. */
  offer (input: { computer: string, novice?: string | undefined, expertComputer?: string | undefined }, caller: Caller): Session {
    const p = caller.principal
    if (p.kind !== 'user') throw new AppError('EXPERT_REQUIRED', 'only a directory user (the expert) can offer help')
    const computer = this.repos.computers.findByRef(input.computer)
    try {
      if (!computer) {
        throw policyDenied(`${p.name} may not offer help to ${input.computer}`, [{
          rule: 'O6',
          passed: false,
          detail: `${input.computer} is not in the directory`,
          remedy: 'Add the computer to the directory'
        }])
      }
      // Decide first: a refusal is a 403 with its checks, and tells nothing of the offers waiting there.
      // Only an allowed offer counts against, or is stopped by, the flood limits.
      const decision = offerDecision(this.facts(computer, p.name, input.expertComputer))
      if (!decision.allowed) {
        throw policyDenied(`${p.name} may not offer help to ${computer.name}`, decision.checks)
      }
      const novice = this.noviceFor(computer, input.novice)
      this.rateLimit(computer, p.accountId)
      return this.db.transaction(() => {
        const id = this.sessions.open({
          origin: 'offer',
          invitationId: null,
          computerId: computer.id,
          noviceId: novice.id,
          expertId: p.accountId,
          permittedMode: decision.permission!,
          expertTokenId: p.tokenId
        }, caller.ctx)
        this.audit.record({
          ...caller.ctx,
          action: 'offer.create',
          target: `sessions/${id}`,
          outcome: 'success',
          details: { computer: computer.name, novice: novice.name, permission: decision.permission, rules: decision.checks.map((c) => c.rule) }
        })
        return this.sessions.view(this.repos.sessions.get(id)!)
      }).immediate()
    } catch (err) {
      const target = computer ? `computers/${computer.id}` : null
      auditRefusal(this.audit, caller.ctx, { action: 'offer.refused', target, details: { computer: computer?.name ?? input.computer } }, err)
      throw err
    }
  }

  private facts (computer: Computer, expertName: string, expertComputerName?: string): OfferFacts {
    const account = this.repos.accounts.findByName(expertName)
    const user = account?.kind === 'user' ? account : undefined
    const domain = this.repos.domains.get(this.repos.domains.findByName(computer.domain)!.id)!
    let expertComputer: OfferFacts['expertComputer']
    if (expertComputerName !== undefined) {
      const c = this.repos.computers.findByRef(expertComputerName)
      expertComputer = c ? { name: c.name, platform: c.platform } : null
    }
    return {
      computer,
      trustedDomains: domain.trusts,
      expertName,
      expert: user
        ? {
            name: user.name,
            domain: splitQualifiedName(user.name).domain,
            enabled: user.enabled,
            groups: transitiveGroups(user.id, (id) => this.repos.accounts.parentGroupsOf(id)).map((g) => g.name)
          }
        : null,
      ...(expertComputer !== undefined ? { expertComputer } : {}),
      policy: this.policy.resultantFor(computer).policy
    }
  }

  /** Against flooding: a few pending offers per computer, and a budget per expert per hour (429 with Retry-After). */
  private rateLimit (computer: Computer, expertId: string): void {
    this.sessions.sweep()
    const pending = this.repos.sessions.pendingOffers(computer.id)
    if (pending.count >= this.limits.maxPendingPerComputer) {
      throw new AppError(
        'OFFER_RATE_LIMITED',
        `${computer.name} already has ${pending.count} offers waiting for its user`,
        { retryAfterS: (Date.parse(pending.firstDeadline!) - Date.now()) / 1000 }
      )
    }
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString()
    const recent = this.repos.sessions.offersSince(expertId, hourAgo)
    if (recent.count >= this.limits.maxPerExpertPerHour) {
      throw new AppError(
        'OFFER_RATE_LIMITED',
        `at most ${this.limits.maxPerExpertPerHour} offers an hour`,
        { retryAfterS: (Date.parse(recent.oldest!) + 3_600_000 - Date.now()) / 1000 }
      )
    }
  }

  /** Who is asked to accept: the named user, or the one user who sits at the computer. */
  private noviceFor (computer: Computer, named: string | undefined): { id: string, name: string } {
    const users = computer.users
    const pick = named ?? (users.length === 1 ? users[0] : undefined)
    if (pick === undefined) {
      throw users.length === 0
        ? policyDenied('nobody can accept the offer', [{
          rule: 'C1',
          passed: false,
          detail: `no user sits at ${computer.name}`,
          remedy: `Add the computer's user to ${computer.name} in the directory`
        }])
        : new AppError('VALIDATION_FAILED', `novice: several users sit at ${computer.name}; name the one to ask`, { field: 'novice' })
    }
    if (!users.some((u) => nameKey(u) === nameKey(pick))) {
      throw new AppError('INVALID_REFERENCE', `novice: ${pick} does not sit at ${computer.name}`, { field: 'novice' })
    }
    const account = this.repos.accounts.findByName(pick)!
    if (!account.enabled) throw new AppError('INVALID_REFERENCE', `novice: ${account.name} is disabled`, { field: 'novice' })
    return { id: account.id, name: account.name }
  }
}
