import { newId, UUID_PATTERN } from '../db/ids.js'
import { nowIso } from '../db/database.js'
import type { Freshness } from '../db/directory-cache.js'
import { actorName, type Principal } from '../domain/access.js'
import {
  connectionString2, encryptLhTicket, generatePassStub, parseNoviceAddress, rcTicketAddresses, type NoviceConnection
} from '../domain/invitation-file.js'
import { platformFamily } from '../domain/platforms.js'
import { describeTicketTime, MINUTES_PER_UNIT } from '../domain/policy.js'
import { describeSource } from '../domain/resultant-policy.js'
import { AppError, policyDenied } from '../errors.js'
import { boundHelperCheck } from '../domain/bound-helper.js'
import { formatShortCode, generateShortCode, shortCodeMinutes } from '../domain/short-code.js'
import type { Store, Unit } from '../repositories/index.js'
import type { InvitationRow } from '../repositories/invitations-repository.js'
import type { PageOf } from '../repositories/paging.js'
import type { Computer } from '../schemas/directory.js'
import type { Check } from '../domain/decisions.js'
import type { DeliveryStatus, Invitation, InvitationCreate, InvitationListQueryType, InvitationPreview, Me, Session } from '../schemas/invitations.js'
import type { Caller } from './context.js'
import { visibleInvitation } from './invitation-access.js'
import type { DeliveryService } from './delivery-service.js'
import type { SessionService } from './session-service.js'
import { decideInvitation } from './invitation-decision.js'
import { expireInvitations } from './invitation-expiry.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { auditRefusal } from './refusals.js'
import type { PolicyService } from './policy-service.js'
import type { ShortCodes } from './short-codes.js'
import { TicketService, type VerifiedTicket } from './tickets.js'
import { invitationEventData, rulesOf } from './webhook-events.js'

/**
 * Invitations: created under the policy engine's decision (S1–S6), signed as
 * tickets, redeemed exactly once (one conditional update decides), revoked by
 * their novice. Every creation, redemption, refusal, revocation and lock is
 * audited; tickets and passwords never are.
 */
export class InvitationService {
  constructor (
    private readonly store: Store,
    private readonly policy: PolicyService,
    private readonly tickets: TicketService,
    private readonly deliveries: DeliveryService,
    private readonly sessionService: SessionService,
    private readonly codes: ShortCodes,
    /** Wakes the outbox worker. */
    private readonly onQueued: () => void = () => {}
  ) {}

  async create (
    input: InvitationCreate,
    caller: Caller
  ): Promise<{
    invitation: Invitation
    ticket: string
    shortCode?: { code: string, expiresAt: string }
    checks: Check[]
    delivery?: { delivery: DeliveryStatus, mailtoUri?: string }
  }> {
    try {
      const novice = await this.noviceFor(input, caller.principal)
      const computer = await this.computerFor(input.computer, caller.since)
      const { policy, decision } = await decideInvitation(this.policy, computer, novice.name, caller.since)
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
      const file = input.connection === undefined ? null : fileConnection(input.connection, computer, input.password)
      const helper = input.helper === undefined ? null : await this.helperFor(input.helper, novice)
      const code = input.shortCode === true ? generateShortCode() : null
      const codeHash = code === null ? null : await this.codes.hash(code)
      const passwordHash = input.password === undefined ? null : await hashPassword(input.password)
      const id = newId()
      const jti = newId()
      // Whole seconds, as in the ticket, so the ticket can be derived again from the row.
      const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000)
      const expiresAt = new Date(createdAt.getTime() + lifetime * 60_000)
      const codeExpiresAt = code === null ? null : new Date(createdAt.getTime() + shortCodeMinutes(lifetime) * 60_000).toISOString()
      // Before signing, which may record the key's use (a change to a directory table, after which a lookup reads the version again).
      const subscribers = await this.store.repos.webhooks.subscribers('invitation.created', caller.since)
      const { ticket, kid } = await this.tickets.sign({ invitationId: id, jti, issuedAt: createdAt, notBefore: createdAt, expiresAt }, { since: caller.since })
      // The row as stored: inserted, and answered from these values instead of being read back.
      const row: InvitationRow = {
        id,
        computer_id: computer.id,
        novice_id: novice.id,
        created_by: caller.ctx.actor,
        state: 'open',
        mode: decision.mode!,
        lifetime_minutes: lifetime,
        created_at: createdAt.toISOString(),
        expires_at: expiresAt.toISOString(),
        kid,
        jti,
        password_hash: passwordHash,
        ticket_hash: TicketService.hashOf(ticket),
        password_failures: 0,
        delivery: null,
        connection: file && JSON.stringify(file.connection),
        pass_stub: file?.passStub ?? null,
        lh_ticket: file?.lhTicket ?? null,
        external_ref: input.externalRef ?? null,
        helper_id: helper?.id ?? null,
        helper_name: helper?.name ?? null,
        code_hash: codeHash,
        code_expires_at: codeExpiresAt,
        redeemed_at: null,
        redeemed_by: null,
        revoked_at: null,
        locked_at: null,
        ended_at: null,
        computer_name: computer.name,
        novice_name: novice.name,
        expert_name: null,
        session_id: null
      }
      // Hashed and signed above, and its webhook subscribers looked up: the unit of work awaits nothing but its own statements.
      const deliveryId = await this.store.work(async (u) => {
        await u.invitations.insert(row)
        await u.audit.record({
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
            ...(input.externalRef !== undefined ? { externalRef: input.externalRef } : {}),
            ...(helper ? { helper: helper.name } : {}),
            ...(codeExpiresAt ? { shortCodeExpiresAt: codeExpiresAt } : {}),
            rules: decision.checks.map((c) => c.rule),
            kid
          }
        })
        await u.webhooks.publish('invitation.created', {
          actor: caller.ctx.actor,
          invitationId: id,
          sessionId: null,
          computer: computer.name,
          novice: novice.name,
          expert: null,
          externalRef: input.externalRef ?? null,
          rules: rulesOf(decision.checks),
          state: 'open',
          mode: decision.mode,
          createdAt: createdAt.toISOString(),
          expiresAt: expiresAt.toISOString(),
          passwordProtected: passwordHash !== null,
          helper: helper?.name ?? null
        }, subscribers)
        // An inline delivery is queued in the same unit of work as its invitation.
        return deliveryPlan === undefined ? undefined : await this.deliveries.store(u, id, deliveryPlan, caller.ctx)
      })
      let delivery: { delivery: DeliveryStatus, mailtoUri?: string } | undefined
      if (deliveryId !== undefined) {
        const status = await this.deliveries.status(deliveryId)
        const mailto = this.deliveries.mailtoFor(deliveryPlan!, await this.deliveries.mailContext(row, deliveryPlan!))
        delivery = { delivery: status, ...(mailto ? { mailtoUri: mailto } : {}) }
        this.onQueued()
      }
      return {
        invitation: toInvitation(row),
        ticket,
        ...(code !== null ? { shortCode: { code: formatShortCode(code), expiresAt: codeExpiresAt! } } : {}),
        checks: decision.checks,
        ...(delivery ? { delivery } : {})
      }
    } catch (err) {
      await auditRefusal(this.store.repos.audit, caller.ctx, { action: 'invitation.create-refused', target: null }, err)
      throw err
    }
  }

  /** Records the expiry of invitations whose time is up (the sweep: their webhook events go out on time). */
  async sweep (): Promise<void> {
    await this.expireDue()
  }

  /**
   * Records the expiry of invitations whose time is up: one read when none is (nearly always), a unit of work of
   * its own when some are. Returns how many expired.
   */
  private async expireDue (): Promise<number> {
    return await this.store.repos.invitations.anyDue(nowIso()) ? await this.store.work(expireInvitations) : 0
  }

  async get (id: string, principal: Principal): Promise<Invitation> {
    await this.expireDue()
    return toInvitation(await visibleInvitation(this.store.repos.invitations, id, principal))
  }

  async list (query: InvitationListQueryType, principal: Principal): Promise<PageOf<Invitation>> {
    await this.expireDue()
    let noviceId: string | undefined
    if (principal.kind === 'user') {
      // Users see their own invitations only; the filter cannot widen that.
      noviceId = principal.accountId
    } else if (query.novice !== undefined) {
      noviceId = (await this.store.repos.accounts.findByName(query.novice))?.id ?? '-'
    }
    const page = await this.store.repos.invitations.list({ ...query, noviceId, computerId: query.computer })
    return { items: page.items.map(toInvitation), nextCursor: page.nextCursor }
  }

  /** Revoke: by its novice, the administrator, or an integration with invitations:write. */
  async revoke (id: string, caller: Caller): Promise<Invitation> {
    // One unit of work: the state decided on is the one read there.
    return toInvitation(await this.store.work(async (u) => {
      await expireInvitations(u)
      const row = await visibleInvitation(u.invitations, id, caller.principal)
      if (row.state === 'revoked') return row
      if (row.state === 'redeemed') return await this.revokeRedeemed(u, row, caller)
      if (!await u.invitations.revoke(id, nowIso())) {
        throw new AppError('INVITATION_NOT_OPEN', `the invitation is ${row.state}: only an open or locked invitation can be revoked`)
      }
      await u.audit.record({
        ...caller.ctx,
        action: 'invitation.revoke',
        target: `invitations/${id}`,
        outcome: 'success',
        details: { previousState: row.state }
      })
      await u.webhooks.publish('invitation.revoked', invitationEventData((await u.invitations.get(id))!, caller.ctx.actor, { previousState: row.state }))
      // What is not yet sent is cancelled with it.
      await this.deliveries.cancelUnsent(u, id)
      return (await u.invitations.get(id))!
    }))
  }

  /** Revoking a redeemed invitation ends its live session at once; without one there is nothing left to revoke. In the caller's unit `u`. */
  private async revokeRedeemed (u: Unit, row: InvitationRow, caller: Caller): Promise<InvitationRow> {
    if (await this.sessionService.terminateIn(u, { invitationId: row.id }, 'the novice revoked the invitation') === 0) {
      throw new AppError('INVITATION_NOT_OPEN', 'the invitation was redeemed and its session is over: there is nothing left to revoke')
    }
    await u.invitations.revokeRedeemed(row.id, nowIso())
    await u.audit.record({
      ...caller.ctx,
      action: 'invitation.revoke',
      target: `invitations/${row.id}`,
      outcome: 'success',
      details: { previousState: row.state, endedSession: true }
    })
    const after = (await u.invitations.get(row.id))!
    await u.webhooks.publish('invitation.revoked', invitationEventData(after, caller.ctx.actor, { previousState: row.state, endedSession: true }))
    return after
  }

  /**
   * Redeem a ticket: signature and claims, the invitation still open by the
   * server's clock, the password, and the policy decided again now (O9). One
   * conditional update decides among concurrent redemptions; the winner gets a
   * session awaiting the novice (C1).
   */
  async redeem (
    input: { ticket?: string | undefined, code?: string | undefined, password?: string | undefined, address?: string | undefined },
    caller: Caller
  ): Promise<Session> {
    let invitationId: string | null = null
    try {
      const expert = caller.principal
      if (expert.kind !== 'user') throw new AppError('EXPERT_REQUIRED', 'only a directory user (the expert) can redeem a ticket')
      const ticket = await this.ticketOrCode(input, { expertId: expert.accountId, address: input.address ?? 'unknown' }, caller.since)
      const row = await this.loadOpenInvitation(ticket, caller)
      invitationId = row.id
      if (row.novice_id === expert.accountId) throw new AppError('OWN_INVITATION', 'a novice cannot redeem their own invitation: an expert must')
      // Before the password: someone the invitation is not for cannot spend its password attempts (and lock it).
      await this.requireBoundHelper(row, expert)
      const decided = await this.decideRedemption(row, input.password, caller)
      return await this.commitRedemption(row, decided, { ...caller, principal: expert })
    } catch (err) {
      const target = invitationId && `invitations/${invitationId}`
      await auditRefusal(this.store.repos.audit, caller.ctx, { action: 'invitation.redeem-refused', target }, err)
      throw err
    }
  }

  /** Who the caller is and, for a user, the computers they sit at with what asking for help from each would give (S1–S4). */
  async me (principal: Principal): Promise<Me> {
    if (principal.kind !== 'user') return { kind: principal.kind, name: actorName(principal), displayName: null, computers: [] }
    const repos = this.store.repos
    const user = await repos.accounts.getUser(principal.accountId)
    const computers: Me['computers'] = []
    for (const id of await repos.computers.idsWhereUser(principal.accountId)) {
      const computer = await repos.computers.get(id)
      if (!computer) continue
      const { policy, decision } = await decideInvitation(this.policy, computer, principal.name)
      computers.push({
        computerId: computer.id,
        computer: computer.name,
        allowed: decision.allowed,
        maxLifetimeMinutes: decision.maxLifetimeMinutes,
        maxLifetimeSource: decision.allowed ? describeSource(policy.maxTicketTime.source) : null,
        mode: decision.mode,
        emailMethod: decision.allowed ? policy.emailMethod.value : null,
        checks: decision.checks
      })
    }
    return { kind: 'user', name: principal.name, displayName: user?.displayName ?? null, computers }
  }

  /**
   * What the holder of a ticket or short code is about to redeem: who asked for help, from which computer, until
   * when, and whether a password is needed. Refused exactly as redemption would be before the password (a forged,
   * expired, revoked, locked or already redeemed ticket; a wrong code, counted against the same guessing budget, or
   * an expired one; one's own invitation); a replayed ticket is a security event here too. Nothing is spent: the
   * code, like the ticket, still redeems afterwards.
   */
  async preview (
    input: { ticket?: string | undefined, code?: string | undefined, address?: string | undefined },
    caller: Caller
  ): Promise<InvitationPreview> {
    let invitationId: string | null = null
    try {
      const expert = caller.principal
      if (expert.kind !== 'user') throw new AppError('EXPERT_REQUIRED', 'only a directory user (the expert) can redeem a ticket')
      const ticket = await this.ticketOrCode(input, { expertId: expert.accountId, address: input.address ?? 'unknown' }, caller.since)
      const row = await this.loadOpenInvitation(ticket, caller)
      invitationId = row.id
      if (row.novice_id === expert.accountId) throw new AppError('OWN_INVITATION', 'a novice cannot redeem their own invitation: an expert must')
      await this.requireBoundHelper(row, expert)
      const novice = await this.store.repos.accounts.getUser(row.novice_id)
      return {
        invitationId: row.id,
        novice: { name: row.novice_name, displayName: novice?.displayName ?? null },
        computer: row.computer_name,
        mode: row.mode,
        expiresAt: row.expires_at,
        passwordProtected: row.password_hash !== null,
        externalRef: row.external_ref
      }
    } catch (err) {
      const target = invitationId && `invitations/${invitationId}`
      await auditRefusal(this.store.repos.audit, caller.ctx, { action: 'invitation.preview-refused', target }, err)
      throw err
    }
  }

  /**
   * Redemption (and its preview), step 1, by ticket or by short code (exactly one). A code is looked up by its
   * keyed hash within the guessing budgets; a wrong one counts against them (CODE_INVALID), and one past its
   * 30 minutes is CODE_EXPIRED while the invitation itself may still be open.
   */
  private async ticketOrCode (
    input: { ticket?: string | undefined, code?: string | undefined },
    who: { expertId: string, address: string },
    since: Freshness | undefined
  ): Promise<{ verified: VerifiedTicket, row?: InvitationRow | undefined }> {
    if ((input.ticket === undefined) === (input.code === undefined)) {
      throw new AppError('VALIDATION_FAILED', 'give either ticket or code, not both and not neither', { field: input.ticket === undefined ? 'ticket' : 'code' })
    }
    if (input.ticket !== undefined) return await this.verifyTicket(input.ticket, since)
    const row = await this.store.repos.invitations.getByCodeHash(await this.codes.lookupHash(input.code!, who))
    if (!row) {
      await this.codes.wrong(who)
      throw new AppError('CODE_INVALID', 'code: no invitation has this code (check it with the person who read it to you)', { field: 'code' })
    }
    if (row.state === 'open' && row.code_expires_at !== null && row.code_expires_at <= nowIso()) {
      throw new AppError('CODE_EXPIRED', 'the code has expired (a code lives 30 minutes at most): use the invitation\'s link or file, or ask for a new one',
        { field: 'code' })
    }
    return { verified: { invitationId: row.id, jti: row.jti, kid: row.kid, expiresAt: new Date(row.expires_at) }, row }
  }

  /**
   * Redemption, step 1: the ticket is one this service issued and may still be used.
   * One spelling per ticket, before either path: the stored-hash lookup, or full verification.
   */
  private async verifyTicket (ticket: string, since: Freshness | undefined): Promise<{ verified: VerifiedTicket, row?: InvitationRow | undefined }> {
    TicketService.requireCanonical(ticket)
    const issued = await this.findIssuedByHash(ticket, since)
    return issued ?? { verified: await this.tickets.verify(ticket, since) }
  }

  /** Redemption, step 2: its invitation, still open by the server's clock. */
  private async loadOpenInvitation (ticket: { verified: VerifiedTicket, row?: InvitationRow | undefined }, caller: Caller): Promise<InvitationRow> {
    // The row read to find the ticket by its hash serves unless this expiry changed rows (it is not read twice);
    // whatever else changed it since is caught where it matters, by the conditional update that decides (step 4).
    // With that row at hand, expiries are recorded here only when it is itself due (the sweep records the others
    // on time): the check for any due invitation was a tenth of a redemption's SQL (SQLite: 10 of 267 µs).
    const due = ticket.row === undefined || (ticket.row.state === 'open' && ticket.row.expires_at <= nowIso())
    const expired = due ? await this.expireDue() : 0
    const row = ticket.row !== undefined && expired === 0 ? ticket.row : await this.store.repos.invitations.get(ticket.verified.invitationId)
    // A well-signed ticket whose invitation is gone was purged after it ended.
    if (!row || row.jti !== ticket.verified.jti) throw new AppError('TICKET_EXPIRED', 'the ticket has expired', { field: 'ticket' })
    await this.requireOpen(row, caller)
    return row
  }

  /** Redemption, step 3: the password, and the policy decided again now (O9); the session gets the lesser mode. */
  private async decideRedemption (
    row: InvitationRow,
    password: string | undefined,
    caller: Caller
  ): Promise<{ permittedMode: 'view' | 'control', rules: string[] }> {
    if (row.password_hash !== null) await this.checkPassword(row, password, caller)
    const computer = (await this.store.repos.computers.get(row.computer_id, caller.since))!
    const { decision } = await decideInvitation(this.policy, computer, row.novice_name, caller.since)
    if (!decision.allowed) throw policyDenied(`the policy of ${computer.name} no longer allows this invitation`, decision.checks)
    // Policy may have narrowed since creation.
    return { permittedMode: row.mode === 'control' && decision.mode === 'control' ? 'control' : 'view', rules: decision.checks.map((c) => c.rule) }
  }

  /** Redemption, step 4: one conditional update decides among concurrent redemptions; the winner gets a session awaiting the novice (C1). */
  private async commitRedemption (
    row: InvitationRow,
    decided: { permittedMode: 'view' | 'control', rules: string[] },
    caller: Caller & { principal: Extract<Principal, { kind: 'user' }> }
  ): Promise<Session> {
    const expert = caller.principal
    const subscribers = await this.store.repos.webhooks.subscribers('invitation.redeemed', caller.since)
    const session = await this.store.work(async (u) => {
      const redeemed = await u.invitations.redeem(row.id, expert.accountId, nowIso())
      if (redeemed === null) return null
      const session = await this.sessionService.open(u, {
        origin: 'invitation',
        invitationId: row.id,
        computerId: row.computer_id,
        noviceId: row.novice_id,
        expertId: expert.accountId,
        permittedMode: decided.permittedMode,
        expertTokenId: expert.tokenId,
        externalRef: row.external_ref,
        boundHelper: row.helper_name,
        names: { computer: row.computer_name, novice: row.novice_name, expert: expert.name }
      }, caller.ctx)
      const id = session.id
      await u.audit.record({
        ...caller.ctx,
        action: 'invitation.redeem',
        target: `invitations/${row.id}`,
        outcome: 'success',
        details: {
          session: id,
          expert: expert.name,
          permittedMode: decided.permittedMode,
          rules: decided.rules,
          ...(row.external_ref !== null ? { externalRef: row.external_ref } : {})
        }
      })
      await u.webhooks.publish('invitation.redeemed', invitationEventData(row, caller.ctx.actor, {
        sessionId: id, expert: expert.name, state: 'redeemed', rules: decided.rules, permittedMode: decided.permittedMode
      }), subscribers)
      // A redeemed ticket is spent: unsent copies are cancelled, in the same commit.
      await this.deliveries.cancelUnsent(u, row.id, redeemed.mailWaiting)
      return session
    })
    if (session === null) {
      await this.requireOpen((await this.store.repos.invitations.get(row.id))!, caller) // lost the race: say why
      // Still open, so not redeemed: its time ran out between the check and the update.
      throw new AppError('TICKET_EXPIRED', 'the ticket has expired', { field: 'ticket' })
    }
    // Answered from what was written: nothing is read back.
    return await this.sessionService.viewOpened(session, caller.principal, caller.since)
  }

  /** A ticket this service issued, found by its stored hash (see TicketService.matchesIssued); otherwise undefined. */
  private async findIssuedByHash (ticket: string, since: Freshness | undefined): Promise<{ verified: VerifiedTicket, row: InvitationRow } | undefined> {
    const sub = TicketService.claimsOf(ticket)?.sub
    if (typeof sub !== 'string' || !UUID_PATTERN.test(sub)) return undefined
    const row = await this.store.repos.invitations.get(sub)
    if (!row || !await this.tickets.matchesIssued(ticket, {
      ticketHash: row.ticket_hash,
      kid: row.kid,
      notBefore: new Date(row.created_at),
      expiresAt: new Date(row.expires_at)
    }, since)) return undefined
    return { verified: { invitationId: row.id, jti: row.jti, kid: row.kid, expiresAt: new Date(row.expires_at) }, row }
  }

  /** Throws the code for an invitation that is not open; a second redemption is also a security event on the session. */
  private async requireOpen (row: InvitationRow, caller: Caller): Promise<void> {
    switch (row.state) {
      case 'open': return
      case 'expired': throw new AppError('TICKET_EXPIRED', 'the ticket has expired', { field: 'ticket' })
      case 'revoked': throw new AppError('TICKET_REVOKED', 'the invitation was revoked by its novice', { field: 'ticket' })
      case 'locked': throw new AppError('INVITATION_LOCKED', 'too many wrong passwords: the invitation is locked and can only be revoked')
      case 'redeemed': {
        const sessionId = await this.store.repos.sessions.idForInvitation(row.id)
        const { ctx } = caller
        // Recorded on the session (its novice is told, and it is audited), or audited alone.
        if (sessionId) await this.sessionService.securityEvent(sessionId, 'ticket-reused', ctx, { expert: ctx.actor, invitationId: row.id })
        else {
          await this.store.work(async (u) => {
            await u.audit.record({
              ...ctx, action: 'security.ticket-reused', target: `invitations/${row.id}`, outcome: 'denied', details: { expert: ctx.actor }
            })
            await u.webhooks.publish('security.ticket-reused', invitationEventData(row, ctx.actor, { presentedBy: ctx.actor }))
          })
        }
        throw new AppError('TICKET_ALREADY_REDEEMED', 'the ticket was already redeemed', { field: 'ticket' })
      }
    }
  }

  private async checkPassword (row: InvitationRow, password: string | undefined, caller: Caller): Promise<void> {
    if (password === undefined) throw new AppError('PASSWORD_REQUIRED', 'this invitation needs its password', { field: 'password' })
    if (await verifyPassword(password, row.password_hash!)) return
    // The count, the lock it may bring and its audit event: one unit of work, after the (slow) verification.
    const state = await this.store.work(async (u) => {
      const state = await u.invitations.recordPasswordFailure(row.id, nowIso())
      if (state === 'locked') {
        await u.audit.record({
          ...caller.ctx,
          action: 'invitation.lock',
          target: `invitations/${row.id}`,
          outcome: 'success',
          details: { reason: 'too many wrong passwords' }
        })
        await u.webhooks.publish('invitation.locked', invitationEventData(row, caller.ctx.actor, { state: 'locked', reason: 'too many wrong passwords' }))
      }
      return state
    })
    if (state === 'locked') {
      throw new AppError('INVITATION_LOCKED', 'wrong password: the invitation is now locked and can only be revoked', { field: 'password' })
    }
    throw new AppError('PASSWORD_INCORRECT', 'wrong password', { field: 'password' })
  }

  private async noviceFor (input: InvitationCreate, principal: Principal): Promise<{ id: string, name: string }> {
    if (principal.kind === 'user') {
      if (input.novice !== undefined && input.novice.toUpperCase() !== principal.name.toUpperCase()) {
        throw new AppError('VALIDATION_FAILED', 'novice: a user creates invitations for themselves only; leave novice out', { field: 'novice' })
      }
      return { id: principal.accountId, name: principal.name }
    }
    if (input.novice === undefined) {
      throw new AppError('VALIDATION_FAILED', `novice is required when ${actorName(principal)} creates an invitation`, { field: 'novice' })
    }
    const account = await this.store.repos.accounts.findByName(input.novice)
    if (!account || account.kind !== 'user') throw new AppError('UNKNOWN_REFERENCE', `novice: there is no user ${input.novice}`, { field: 'novice' })
    if (!account.enabled) throw new AppError('INVALID_REFERENCE', `novice: ${account.name} is disabled`, { field: 'novice' })
    return { id: account.id, name: account.name }
  }

  /** The helper an invitation is bound to: a user (enabled, not the novice) or a group of the directory. */
  private async helperFor (name: string, novice: { id: string }): Promise<{ id: string, name: string }> {
    const account = await this.store.repos.accounts.findByName(name)
    if (!account) throw new AppError('UNKNOWN_REFERENCE', `helper: there is no user or group ${name}`, { field: 'helper' })
    if (account.kind === 'user' && !account.enabled) throw new AppError('INVALID_REFERENCE', `helper: ${account.name} is disabled`, { field: 'helper' })
    if (account.id === novice.id) throw new AppError('INVALID_REFERENCE', 'helper: the novice cannot be their own helper', { field: 'helper' })
    return { id: account.id, name: account.name }
  }

  /** BOUND_HELPER: an invitation bound to a helper is redeemed by that user, or a member (nested) of that group, only. */
  private async requireBoundHelper (row: InvitationRow, expert: Extract<Principal, { kind: 'user' }>): Promise<void> {
    if (row.helper_id === null) return
    const groups = await this.store.repos.accounts.transitiveGroupsOf(expert.accountId)
    const helper = { id: row.helper_id, name: row.helper_name ?? row.helper_id }
    const { matched, check } = boundHelperCheck(helper, { id: expert.accountId, name: expert.name, groups })
    if (!matched) throw new AppError('NOT_BOUND_HELPER', `${expert.name} may not redeem this invitation: ${check.detail}`, { checks: [check] })
  }

  private async computerFor (ref: string, since: Freshness | undefined): Promise<Computer> {
    const computer = await this.store.repos.computers.findByRef(ref, since)
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
    externalRef: r.external_ref,
    helper: r.helper_name,
    shortCodeExpiresAt: r.code_expires_at,
    connection: connectionOf(r),
    failedPasswordAttempts: r.password_failures,
    redeemedAt: r.redeemed_at,
    redeemedBy: r.expert_name,
    sessionId: r.session_id,
    revokedAt: r.revoked_at,
    lockedAt: r.locked_at
  }
}

/** The connection data an invitation was made with, as the API shows it. */
function connectionOf (r: InvitationRow): Invitation['connection'] {
  if (r.connection === null) return null
  const c = JSON.parse(r.connection) as NoviceConnection
  return {
    addresses: c.addresses.map((a) => a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`),
    sessionId: c.sessionId,
    keyHash: c.keyHash ?? null
  }
}

/**
 * Checks the agent's connection data for `computer` and makes what its invitation file carries: a PassStub, and
 * for Vista and later with a password, the LHTICKET (made now: the password is not kept).
 */
function fileConnection (
  input: NonNullable<InvitationCreate['connection']>,
  computer: Computer,
  password: string | undefined
): { connection: NoviceConnection, passStub: string, lhTicket: string | null } {
  const addresses = input.addresses.map((text, i) => {
    const parsed = parseNoviceAddress(text)
    if ('error' in parsed) throw new AppError('VALIDATION_FAILED', `connection.addresses[${i}]: ${parsed.error}`, { field: `connection.addresses[${i}]` })
    return parsed
  })
  // An unknown platform is taken for Vista or later, the safer guess (as for the policy defaults).
  const vistaOrLater = computer.platform === null || platformFamily(computer.platform) !== 'xp-2003'
  if (vistaOrLater && input.keyHash === undefined) {
    throw new AppError('VALIDATION_FAILED', `connection.keyHash is required: ${computer.name} runs Vista or later, whose agent advertises one`,
      { field: 'connection.keyHash' })
  }
  if (!vistaOrLater && rcTicketAddresses(addresses) === '') {
    throw new AppError('VALIDATION_FAILED', `connection.addresses: ${computer.name} runs XP or Server 2003, which is reached over IPv4 or a host name`,
      { field: 'connection.addresses' })
  }
  const connection: NoviceConnection = { addresses, sessionId: input.sessionId, ...(input.keyHash !== undefined ? { keyHash: input.keyHash } : {}) }
  const lhTicket = vistaOrLater && password !== undefined ? encryptLhTicket(connectionString2(connection), password) : null
  return { connection, passStub: generatePassStub(), lhTicket }
}
