import type { Check } from '../domain/decisions.js'
import { nameKey, splitQualifiedName } from '../domain/names.js'
import { offerDecision, type OfferFacts } from '../domain/offer-decision.js'
import { readinessChecks } from '../domain/readiness.js'
import { AppError, notFound, policyDenied } from '../errors.js'
import type { Store, Unit } from '../repositories/index.js'
import type { Computer } from '../schemas/directory.js'
import type { Session } from '../schemas/invitations.js'
import type { Caller } from './context.js'
import { auditRefusal } from './refusals.js'
import type { PolicyService } from './policy-service.js'
import type { SessionService } from './session-service.js'
import { rulesOf, sessionEventData } from './webhook-events.js'

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
    private readonly store: Store,
    private readonly policy: PolicyService,
    private readonly sessions: SessionService,
    private readonly limits: OfferLimits
  ) {}

  /** GET /v1/computers/{id}/offer-check */
  async check (computerId: string, expert: string, expertComputer?: string): Promise<OfferResult> {
    const computer = await this.store.repos.computers.get(computerId)
    if (!computer) throw notFound('computer', computerId)
    return offerDecision(await this.facts(computer, expert, expertComputer))
  }

  /** GET /v1/computers/{id}/readiness */
  async readiness (computerId: string): Promise<{
    computer: { id: string, name: string, platform: string | null }
    ready: boolean
    checks: Check[]
    warnings: string[]
  }> {
    const computer = await this.store.repos.computers.get(computerId)
    if (!computer) throw notFound('computer', computerId)
    const { checks, warnings } = readinessChecks(computer)
    return { computer: { id: computer.id, name: computer.name, platform: computer.platform }, ready: checks.every((c) => c.passed), checks, warnings }
  }

  /** POST /v1/offers by an expert. */
  async offer (
    input: { computer: string, novice?: string | undefined, expertComputer?: string | undefined, externalRef?: string | undefined },
    caller: Caller
  ): Promise<Session> {
    const p = caller.principal
    if (p.kind !== 'user') throw new AppError('EXPERT_REQUIRED', 'only a directory user (the expert) can offer help')
    const computer = await this.store.repos.computers.findByRef(input.computer)
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
      const decision = offerDecision(await this.facts(computer, p.name, input.expertComputer))
      if (!decision.allowed) {
        throw policyDenied(`${p.name} may not offer help to ${computer.name}`, decision.checks)
      }
      const novice = await this.noviceFor(computer, input.novice)
      // Timeouts first (a unit of their own), so that offers no longer waiting do not count.
      await this.sessions.sweep()
      const session = await this.store.work(async (u) => {
        // Counted in the unit that adds the offer, so that offers made at once cannot both slip under a limit.
        await this.rateLimit(u, computer, p.accountId)
        const session = await this.sessions.open(u, {
          origin: 'offer',
          invitationId: null,
          computerId: computer.id,
          noviceId: novice.id,
          expertId: p.accountId,
          permittedMode: decision.permission!,
          expertTokenId: p.tokenId,
          externalRef: input.externalRef ?? null,
          names: { computer: computer.name, novice: novice.name, expert: p.name }
        }, caller.ctx)
        const id = session.id
        await u.audit.record({
          ...caller.ctx,
          action: 'offer.create',
          target: `sessions/${id}`,
          outcome: 'success',
          details: {
            computer: computer.name,
            novice: novice.name,
            permission: decision.permission,
            rules: decision.checks.map((c) => c.rule),
            ...(input.externalRef !== undefined ? { externalRef: input.externalRef } : {})
          }
        })
        await u.webhooks.publish('offer.created', sessionEventData(session, caller.ctx.actor, { rules: rulesOf(decision.checks) }))
        return session
      })
      // Answered from what was written: nothing is read back.
      return await this.sessions.viewOpened(session, caller.principal)
    } catch (err) {
      const target = computer ? `computers/${computer.id}` : null
      if (err instanceof AppError) {
        // The refusal's audit event and its webhook event together, in a unit of their own (the offer's rolled back).
        await this.store.work(async (u) => {
          await auditRefusal(u.audit, caller.ctx, { action: 'offer.refused', target, details: { computer: computer?.name ?? input.computer } }, err)
          await u.webhooks.publish('offer.refused', {
            actor: caller.ctx.actor,
            invitationId: null,
            sessionId: null,
            computer: computer?.name ?? input.computer,
            novice: null,
            expert: p.name,
            externalRef: input.externalRef ?? null,
            rules: rulesOf(err.checks),
            code: err.code
          })
        })
      }
      throw err
    }
  }

  private async facts (computer: Computer, expertName: string, expertComputerName?: string): Promise<OfferFacts> {
    const { repos } = this.store
    const account = await repos.accounts.findByName(expertName)
    const user = account?.kind === 'user' ? account : undefined
    const domain = (await repos.domains.get((await repos.domains.findByName(computer.domain))!.id))!
    let expertComputer: OfferFacts['expertComputer']
    if (expertComputerName !== undefined) {
      const c = await repos.computers.findByRef(expertComputerName)
      expertComputer = c ? { name: c.name, platform: c.platform } : null
    }
    const groups = user ? (await repos.accounts.transitiveGroupsOf(user.id)).map((g) => g.name) : []
    const { policy } = await this.policy.resultantFor(computer)
    return {
      computer,
      trustedDomains: domain.trusts,
      expertName,
      expert: user
        ? {
            name: user.name,
            domain: splitQualifiedName(user.name).domain,
            enabled: user.enabled,
            groups
          }
        : null,
      ...(expertComputer !== undefined ? { expertComputer } : {}),
      policy
    }
  }

  /** Against flooding: a few pending offers per computer, and a budget per expert per hour (429 with Retry-After); counted in unit `u`. */
  private async rateLimit (u: Unit, computer: Computer, expertId: string): Promise<void> {
    const pending = await u.sessions.pendingOffers(computer.id)
    if (pending.count >= this.limits.maxPendingPerComputer) {
      throw new AppError(
        'OFFER_RATE_LIMITED',
        `${computer.name} already has ${pending.count} offers waiting for its user`,
        { retryAfterS: (Date.parse(pending.firstDeadline!) - Date.now()) / 1000 }
      )
    }
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString()
    const recent = await u.sessions.offersSince(expertId, hourAgo)
    if (recent.count >= this.limits.maxPerExpertPerHour) {
      throw new AppError(
        'OFFER_RATE_LIMITED',
        `at most ${this.limits.maxPerExpertPerHour} offers an hour`,
        { retryAfterS: (Date.parse(recent.oldest!) + 3_600_000 - Date.now()) / 1000 }
      )
    }
  }

  /** Who is asked to accept: the named user, or the one user who sits at the computer. */
  private async noviceFor (computer: Computer, named: string | undefined): Promise<{ id: string, name: string }> {
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
    const account = (await this.store.repos.accounts.findByName(pick))!
    if (!account.enabled) throw new AppError('INVALID_REFERENCE', `novice: ${account.name} is disabled`, { field: 'novice' })
    return { id: account.id, name: account.name }
  }
}
