import { newId, UUID_PATTERN } from '../db/ids.js'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import { actorName, type Principal } from '../domain/access.js'
import { describeTicketTime, MINUTES_PER_UNIT } from '../domain/policy.js'
import { describeSource } from '../domain/resultant-policy.js'
import { AppError, policyDenied } from '../errors.js'
import type { AccountsRepository } from '../repositories/accounts-repository.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { ComputersRepository } from '../repositories/computers-repository.js'
import type { InvitationRow, InvitationsRepository } from '../repositories/invitations-repository.js'
import type { PageOf } from '../repositories/paging.js'
import type { SessionsRepository } from '../repositories/sessions-repository.js'
import type { Computer } from '../schemas/directory.js'
import type { Check } from '../domain/decisions.js'
import type { DeliveryStatus, Invitation, InvitationCreate, InvitationListQueryType, Session } from '../schemas/invitations.js'
import type { Caller } from './context.js'
import { visibleInvitation } from './invitation-access.js'
import type { DeliveryService } from './delivery-service.js'
import type { SessionService } from './session-service.js'
import { decideInvitation } from './invitation-decision.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { auditRefusal } from './refusals.js'
import type { PolicyService } from './policy-service.js'
import { TicketService, type VerifiedTicket } from './tickets.js'

export interface InvitationRepositories {
  invitations: InvitationsRepository
  sessions: SessionsRepository
  accounts: AccountsRepository
  computers: ComputersRepository
}

/**
 * Invitations: created under the policy engine's decision (S1–S6), signed as
 * tickets, redeemed exactly once (one conditional update decides), revoked by
 * their novice. Every creation, redemption, refusal, revocation and lock is
 * audited; tickets and passwords never are.
 */
export class InvitationService {
  constructor (
    private readonly db: Db,
    private readonly repos: InvitationRepositories,
    private readonly policy: PolicyService,
    private readonly tickets: TicketService,
    private readonly audit: AuditRepository,
    private readonly deliveries: DeliveryService,
    private readonly sessionService: SessionService,
    /** Wakes the outbox worker. */
    private readonly onQueued: () => void = () => {}
  ) {}

  async create (
    input: InvitationCreate,
    caller: Caller
  ): Promise<{ invitation: Invitation, ticket: string, checks: Check[], delivery?: { delivery: DeliveryStatus, mailtoUri?: string } }> {
    try {
      const novice = this.noviceFor(input, caller.principal)
      const computer = this.computerFor(input.computer)
      const { policy, decision } = decideInvitation(this.policy, computer, novice.name)
      if (!decision.allowed) {
        throw policyDenied(`${novice.name} may not create an invitation for ${computer.name}`, decision.checks)
      }
      const max = decision.maxLifetimeMinutes!
      const lifetime = input.lifetime ? input.lifetime.value * MINUTES_PER_UNIT[input.lifetime.unit] : max
      if (lifetime > max) {
        throw new AppError(
          'TICKET_LIFETIME_EXCEEDS_POLICY',
          `lifetime: at most ${describeTicketTime(policy.maxTicketTime.value!)} (${max} minutes), ` +
            `the maximum ticket time from ${describeSource(policy.maxTicketTime.source)}`,
          { field: 'lifetime' }
        )
      }
      const deliveryPlan = input.delivery === undefined ? undefined : this.deliveries.plan(input.delivery, computer, policy)
      const passwordHash = input.password === undefined ? null : await hashPassword(input.password)
      const id = newId()
      const jti = newId()
      // Whole seconds, as in the ticket, so the ticket can be derived again from the row.
      const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000)
      const expiresAt = new Date(createdAt.getTime() + lifetime * 60_000)
      const { ticket, kid } = await this.tickets.sign({ invitationId: id, jti, issuedAt: createdAt, notBefore: createdAt, expiresAt })
      const deliveryId = this.db.transaction(() => {
        this.repos.invitations.insert({
          id,
          computer_id: computer.id,
          novice_id: novice.id,
          created_by: caller.ctx.actor,
          mode: decision.mode!,
          lifetime_minutes: lifetime,
          created_at: createdAt.toISOString(),
          expires_at: expiresAt.toISOString(),
          kid,
          jti,
          password_hash: passwordHash,
          ticket_hash: TicketService.hashOf(ticket)
        })
        this.audit.record({
          ...caller.ctx,
          action: 'invitation.create',
          target: `invitations/${id}`,
          outcome: 'success',
          details: {
            computer: computer.name,
            novice: novice.name,
            mode: decision.mode,
            lifetimeMinutes: lifetime,
            expiresAt: expiresAt.toISOString(),
            passwordProtected: passwordHash !== null,
            rules: decision.checks.map((c) => c.rule),
            kid
          }
        })
        // An inline delivery is queued in the same transaction as its invitation.
        return deliveryPlan && this.deliveries.store(id, deliveryPlan, caller.ctx)
      }).immediate()
      // Everything this unit of work wrote is read back before awaiting: by the time the await returns, its
      // commit may have failed and the rows be gone (the response then becomes 503, see plugins/storage.ts).
      const row = this.repos.invitations.get(id)!
      let delivery: { delivery: DeliveryStatus, mailtoUri?: string } | undefined
      if (deliveryId !== undefined) {
        const status = this.deliveries.status(deliveryId)
        const mailto = this.deliveries.mailtoFor(deliveryPlan!, await this.deliveries.mailContext(row, deliveryPlan!))
        delivery = { delivery: status, ...(mailto ? { mailtoUri: mailto } : {}) }
        this.onQueued()
      }
      return { invitation: toInvitation(row), ticket, checks: decision.checks, ...(delivery ? { delivery } : {}) }
    } catch (err) {
      auditRefusal(this.audit, caller.ctx, { action: 'invitation.create-refused', target: null }, err)
      throw err
    }
  }

  get (id: string, principal: Principal): Invitation {
    this.repos.invitations.expireDue(nowIso())
    return toInvitation(visibleInvitation(this.repos.invitations, id, principal))
  }

  list (query: InvitationListQueryType, principal: Principal): PageOf<Invitation> {
    this.repos.invitations.expireDue(nowIso())
    let noviceId: string | undefined
    if (principal.kind === 'user') {
      // Users see their own invitations only; the filter cannot widen that.
      noviceId = principal.accountId
    } else if (query.novice !== undefined) {
      noviceId = this.repos.accounts.findByName(query.novice)?.id ?? '-'
    }
    const page = this.repos.invitations.list({ ...query, noviceId, computerId: query.computer })
    return { items: page.items.map(toInvitation), nextCursor: page.nextCursor }
  }

  /** Revoke: by its novice, the administrator, or an integration with invitations:write. */
  revoke (id: string, caller: Caller): Invitation {
    this.repos.invitations.expireDue(nowIso())
    const row = visibleInvitation(this.repos.invitations, id, caller.principal)
    if (row.state === 'revoked') return toInvitation(row)
    if (row.state === 'redeemed') return this.revokeRedeemed(row, caller)
    return this.db.transaction(() => {
      if (!this.repos.invitations.revoke(id, nowIso())) {
        throw new AppError('INVITATION_NOT_OPEN', `the invitation is ${row.state}: only an open or locked invitation can be revoked`)
      }
      this.audit.record({ ...caller.ctx, action: 'invitation.revoke', target: `invitations/${id}`, outcome: 'success', details: { previousState: row.state } })
      // What is not yet sent is cancelled with it.
      this.deliveries.cancelUnsent()
      return toInvitation(this.repos.invitations.get(id)!)
    }).immediate()
  }

  /** Revoking a redeemed invitation ends its live session at once; without one there is nothing left to revoke. */
  private revokeRedeemed (row: InvitationRow, caller: Caller): Invitation {
    return this.db.transaction(() => {
      if (this.sessionService.terminateFor({ invitationId: row.id }, 'the novice revoked the invitation') === 0) {
        throw new AppError('INVITATION_NOT_OPEN', 'the invitation was redeemed and its session is over: there is nothing left to revoke')
      }
      this.repos.invitations.revokeRedeemed(row.id, nowIso())
      this.audit.record({
        ...caller.ctx,
        action: 'invitation.revoke',
        target: `invitations/${row.id}`,
        outcome: 'success',
        details: { previousState: row.state, endedSession: true }
      })
      return toInvitation(this.repos.invitations.get(row.id)!)
    }).immediate()
  }

  /**
   * Redeem a ticket: signature and claims, the invitation still open by the
   * server's clock, the password, and the policy decided again now (O9). One
   * conditional update decides among concurrent redemptions; the winner gets a
   * session awaiting the novice (C1).
   */
  async redeem (input: { ticket: string, password?: string | undefined }, caller: Caller): Promise<Session> {
    let invitationId: string | null = null
    try {
      const expert = caller.principal
      if (expert.kind !== 'user') throw new AppError('EXPERT_REQUIRED', 'only a directory user (the expert) can redeem a ticket')
      const ticket = await this.verifyTicket(input.ticket)
      const row = this.loadOpenInvitation(ticket, caller)
      invitationId = row.id
      if (row.novice_id === expert.accountId) throw new AppError('OWN_INVITATION', 'a novice cannot redeem their own invitation: an expert must')
      const decided = await this.decideRedemption(row, input.password, caller)
      return this.commitRedemption(row, decided, { ...caller, principal: expert })
    } catch (err) {
      auditRefusal(this.audit, caller.ctx, { action: 'invitation.redeem-refused', target: invitationId && `invitations/${invitationId}` }, err)
      throw err
    }
  }

  /**
   * Redemption, step 1: the ticket is one this service issued and may still be used.
   * One spelling per ticket, before either path: the stored-hash lookup, or full verification.
   */
  private async verifyTicket (ticket: string): Promise<{ verified: VerifiedTicket, row?: InvitationRow | undefined }> {
    TicketService.requireCanonical(ticket)
    const issued = this.findIssuedByHash(ticket)
    return issued ?? { verified: await this.tickets.verify(ticket) }
  }

  /** Redemption, step 2: its invitation, still open by the server's clock. */
  private loadOpenInvitation (ticket: { verified: VerifiedTicket, row?: InvitationRow | undefined }, caller: Caller): InvitationRow {
    // The row read to find the ticket by its hash is still current (nothing awaited since) unless this expiry changed rows.
    const expired = this.repos.invitations.expireDue(nowIso())
    const row = ticket.row !== undefined && expired === 0 ? ticket.row : this.repos.invitations.get(ticket.verified.invitationId)
    // A well-signed ticket whose invitation is gone was purged after it ended.
    if (!row || row.jti !== ticket.verified.jti) throw new AppError('TICKET_EXPIRED', 'the ticket has expired', { field: 'ticket' })
    this.requireOpen(row, caller)
    return row
  }

  /** Redemption, step 3: the password, and the policy decided again now (O9); the session gets the lesser mode. */
  private async decideRedemption (
    row: InvitationRow,
    password: string | undefined,
    caller: Caller
  ): Promise<{ permittedMode: 'view' | 'control', rules: string[] }> {
    if (row.password_hash !== null) await this.checkPassword(row, password, caller)
    const computer = this.repos.computers.get(row.computer_id)!
    const { decision } = decideInvitation(this.policy, computer, row.novice_name)
    if (!decision.allowed) throw policyDenied(`the policy of ${computer.name} no longer allows this invitation`, decision.checks)
    // Policy may have narrowed since creation.
    return { permittedMode: row.mode === 'control' && decision.mode === 'control' ? 'control' : 'view', rules: decision.checks.map((c) => c.rule) }
  }

  /** Redemption, step 4: one conditional update decides among concurrent redemptions; the winner gets a session awaiting the novice (C1). */
  private commitRedemption (
    row: InvitationRow,
    decided: { permittedMode: 'view' | 'control', rules: string[] },
    caller: Caller & { principal: Extract<Principal, { kind: 'user' }> }
  ): Session {
    const expert = caller.principal
    const sessionId = this.db.transaction(() => {
      if (!this.repos.invitations.redeem(row.id, expert.accountId, nowIso())) return null
      const id = this.sessionService.open({
        origin: 'invitation',
        invitationId: row.id,
        computerId: row.computer_id,
        noviceId: row.novice_id,
        expertId: expert.accountId,
        permittedMode: decided.permittedMode,
        expertTokenId: expert.tokenId
      }, caller.ctx)
      this.audit.record({
        ...caller.ctx,
        action: 'invitation.redeem',
        target: `invitations/${row.id}`,
        outcome: 'success',
        details: { session: id, expert: expert.name, permittedMode: decided.permittedMode, rules: decided.rules }
      })
      this.deliveries.cancelUnsent() // a redeemed ticket is spent: unsent copies are cancelled, in the same commit
      return id
    }).immediate()
    if (sessionId === null) this.requireOpen(this.repos.invitations.get(row.id)!, caller) // lost the race: say why
    return this.sessionService.view(this.repos.sessions.get(sessionId!)!)
  }

  /** A ticket this service issued, found by its stored hash (see TicketService.matchesIssued); otherwise undefined. */
  private findIssuedByHash (ticket: string): { verified: VerifiedTicket, row: InvitationRow } | undefined {
    const sub = TicketService.claimsOf(ticket)?.sub
    if (typeof sub !== 'string' || !UUID_PATTERN.test(sub)) return undefined
    const row = this.repos.invitations.get(sub)
    if (!row || !this.tickets.matchesIssued(ticket, {
      ticketHash: row.ticket_hash,
      kid: row.kid,
      notBefore: new Date(row.created_at),
      expiresAt: new Date(row.expires_at)
    })) return undefined
    return { verified: { invitationId: row.id, jti: row.jti, kid: row.kid, expiresAt: new Date(row.expires_at) }, row }
  }

  /** Throws the code for an invitation that is not open; a second redemption is also a security event on the session. */
  private requireOpen (row: InvitationRow, caller: Caller): void {
    switch (row.state) {
      case 'open': return
      case 'expired': throw new AppError('TICKET_EXPIRED', 'the ticket has expired', { field: 'ticket' })
      case 'revoked': throw new AppError('TICKET_REVOKED', 'the invitation was revoked by its novice', { field: 'ticket' })
      case 'locked': throw new AppError('INVITATION_LOCKED', 'too many wrong passwords: the invitation is locked and can only be revoked')
      case 'redeemed': {
        const sessionId = this.repos.sessions.idForInvitation(row.id)
        const { ctx } = caller
        // Recorded on the session (its novice is told, and it is audited), or audited alone.
        if (sessionId) this.sessionService.securityEvent(sessionId, 'ticket-reused', ctx, { expert: ctx.actor, invitationId: row.id })
        else this.audit.record({ ...ctx, action: 'security.ticket-reused', target: `invitations/${row.id}`, outcome: 'denied', details: { expert: ctx.actor } })
        throw new AppError('TICKET_ALREADY_REDEEMED', 'the ticket was already redeemed', { field: 'ticket' })
      }
    }
  }

  private async checkPassword (row: InvitationRow, password: string | undefined, caller: Caller): Promise<void> {
    if (password === undefined) throw new AppError('PASSWORD_REQUIRED', 'this invitation needs its password', { field: 'password' })
    if (await verifyPassword(password, row.password_hash!)) return
    const state = this.repos.invitations.recordPasswordFailure(row.id, nowIso())
    if (state === 'locked') {
      this.audit.record({
        ...caller.ctx,
        action: 'invitation.lock',
        target: `invitations/${row.id}`,
        outcome: 'success',
        details: { reason: 'too many wrong passwords' }
      })
      throw new AppError('INVITATION_LOCKED', 'wrong password: the invitation is now locked and can only be revoked', { field: 'password' })
    }
    throw new AppError('PASSWORD_INCORRECT', 'wrong password', { field: 'password' })
  }

  private noviceFor (input: InvitationCreate, principal: Principal): { id: string, name: string } {
    if (principal.kind === 'user') {
      if (input.novice !== undefined && input.novice.toUpperCase() !== principal.name.toUpperCase()) {
        throw new AppError('VALIDATION_FAILED', 'novice: a user creates invitations for themselves only; leave novice out', { field: 'novice' })
      }
      return { id: principal.accountId, name: principal.name }
    }
    if (input.novice === undefined) {
      throw new AppError('VALIDATION_FAILED', `novice is required when ${actorName(principal)} creates an invitation`, { field: 'novice' })
    }
    const account = this.repos.accounts.findByName(input.novice)
    if (!account || account.kind !== 'user') throw new AppError('UNKNOWN_REFERENCE', `novice: there is no user ${input.novice}`, { field: 'novice' })
    if (!account.enabled) throw new AppError('INVALID_REFERENCE', `novice: ${account.name} is disabled`, { field: 'novice' })
    return { id: account.id, name: account.name }
  }

  private computerFor (ref: string): Computer {
    const computer = this.repos.computers.findByRef(ref)
    if (!computer) throw new AppError('UNKNOWN_REFERENCE', `computer: there is no computer ${ref}`, { field: 'computer' })
    return computer
  }
}

function toInvitation (r: InvitationRow): Invitation {
  return {
    id: r.id,
    computer: r.computer_name,
    computerId: r.computer_id,
    novice: r.novice_name,
    state: r.state,
    mode: r.mode,
    lifetimeMinutes: r.lifetime_minutes,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    passwordProtected: r.password_hash !== null,
    failedPasswordAttempts: r.password_failures,
    redeemedAt: r.redeemed_at,
    redeemedBy: r.expert_name,
    sessionId: r.session_id,
    revokedAt: r.revoked_at,
    lockedAt: r.locked_at
  }
}
