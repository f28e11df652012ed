import { randomUUID } from 'node:crypto'
import { nowIso } from '../db/database.js'
import type { Principal } from '../domain/access.js'
import { writeInvitationFile, type NoviceConnection } from '../domain/invitation-file.js'
import { platformFamily } from '../domain/platforms.js'
import type { ResultantPolicy } from '../domain/resultant-policy.js'
import { AppError, policyDenied } from '../errors.js'
import type { ClaimedRecipient, DeliveryRow, RecipientRow } from '../repositories/deliveries-repository.js'
import type { Store, Unit } from '../repositories/index.js'
import type { InvitationRow } from '../repositories/invitations-repository.js'
import type { Computer } from '../schemas/directory.js'
import type { DeliveryInput, DeliveryStatus } from '../schemas/invitations.js'
import { SYSTEM_CONTEXT, type ActorContext, type Caller } from './context.js'
import { visibleInvitation } from './invitation-access.js'
import { expireInvitations } from './invitation-expiry.js'
import { decideInvitation } from './invitation-decision.js'
import { composeInvitationMail, invitationFileFor, mailtoUri, type InvitationMailContext } from './invitation-mail.js'
import { SendError, type Mailer, type SendResult } from './mailer.js'
import type { PolicyService } from './policy-service.js'
import type { TicketService } from './tickets.js'
import { invitationEventData } from './webhook-events.js'

export interface DeliveryOptions {
  publicBaseUrl: string
  from: string
  maxAttempts: number
  retryBaseMs: number
  /** The worker's poll (RA_DELIVERY_POLL_MS): the sweep of every ended invitation's queued mail runs at most this often. */
  pollMs: number
}

/** A checked delivery request, ready to store. */
export interface DeliveryPlan {
  method: 'mailto' | 'smapi'
  recipients: string[]
  message: string | null
}

/** How long a claimed recipient is ours before another worker may take it over (a crash mid-send). */
const LEASE_MS = 5 * 60_000
const MAX_BACKOFF_MS = 3_600_000

/**
 * E-mail delivery through a durable outbox (SPEC.md, *Delivery*). A delivery
 * and its recipients are rows written, with their audit event, before any
 * network I/O; the worker claims due recipients one at a time (a unit of
 * work), sends with no unit open, and records the outcome (another unit).
 * Each recipient keeps one Message-ID across attempts.
 */
export class DeliveryService {
  constructor (
    /** The store (named so because `store` is this service's method that queues a delivery). */
    private readonly data: Store,
    private readonly policy: PolicyService,
    private readonly tickets: TicketService,
    private readonly mailer: Mailer,
    private readonly options: DeliveryOptions
  ) {}

  /** When runDue last swept ended invitations' queued mail (Date.now()). */
  private sweptAt = 0

  /** Checks a delivery request against the computer and the policy in force (S4); throws a 4xx otherwise. */
  plan (input: DeliveryInput, computer: Computer, policy: ResultantPolicy): DeliveryPlan {
    const family = computer.platform === null ? null : platformFamily(computer.platform)
    if (input.method === 'mailto' && family !== 'xp-2003') {
      throw new AppError(
        'METHOD_NOT_AVAILABLE',
        'delivery.method: Mailto invitations exist only on Windows XP and Server 2003; ' +
          `${computer.name} runs ${computer.platform ?? 'an unknown platform'}, which uses SMAPI (S4)`,
        { field: 'delivery.method' }
      )
    }
    const seen = new Set<string>()
    input.recipients.forEach((r, i) => {
      const key = r.toLowerCase()
      if (seen.has(key)) throw new AppError('INVALID_VALUE', `delivery.recipients[${i}]: ${r} is listed twice`, { field: `delivery.recipients[${i}]` })
      seen.add(key)
    })
    return { method: input.method ?? policy.emailMethod.value ?? 'smapi', recipients: input.recipients, message: input.message ?? null }
  }

  /** Writes the delivery and its recipients (queued) with the audit event, in the caller's unit of work `u`. */
  async store (u: Unit, invitationId: string, plan: DeliveryPlan, ctx: ActorContext): Promise<string> {
    const host = new URL(this.options.publicBaseUrl).hostname
    const id = await u.deliveries.insert(
      { invitation_id: invitationId, method: plan.method, message: plan.message, created_by: ctx.actor },
      plan.recipients.map((address) => ({ address, messageId: `<${randomUUID()}@${host}>` }))
    )
    await u.audit.record({
      ...ctx,
      action: 'delivery.queued',
      target: `invitations/${invitationId}/deliveries/${id}`,
      outcome: 'success',
      details: { method: plan.method, recipients: plan.recipients }
    })
    return id
  }

  /** The `mailto:` URI of a Mailto delivery (it carries the ticket: only for the response that creates it). */
  mailtoFor (plan: DeliveryPlan, mail: InvitationMailContext): string | undefined {
    if (plan.method !== 'mailto') return undefined
    const { subject, text } = composeInvitationMail(mail)
    return mailtoUri(plan.recipients, subject, text)
  }

  /** POST /v1/invitations/{id}/deliveries */
  async deliver (invitationId: string, input: DeliveryInput, caller: Caller): Promise<{ delivery: DeliveryStatus, mailtoUri?: string }> {
    const row = await this.current(invitationId, caller.principal)
    if (row.state !== 'open') throw new AppError('INVITATION_NOT_OPEN', `the invitation is ${row.state}: only an open invitation can be sent`)
    const computer = (await this.data.repos.computers.get(row.computer_id))!
    const { policy, decision } = await decideInvitation(this.policy, computer, row.novice_name)
    if (!decision.allowed) throw policyDenied(`the policy of ${computer.name} no longer allows this invitation`, decision.checks)
    const plan = this.plan(input, computer, policy)
    const id = await this.data.work(async (u) => {
      // Still open in the unit that queues the delivery (it may have ended since it was read above).
      const state = (await u.invitations.get(row.id))?.state ?? 'expired'
      if (state !== 'open') throw new AppError('INVITATION_NOT_OPEN', `the invitation is ${state}: only an open invitation can be sent`)
      return await this.store(u, row.id, plan, caller.ctx)
    })
    const delivery = await this.status(id)
    const mailto = this.mailtoFor(plan, await this.mailContext(row, plan))
    return { delivery, ...(mailto ? { mailtoUri: mailto } : {}) }
  }

  /** The open invitation's `.msrcincident` file (the SMAPI attachment), for the novice to hand on themselves. */
  async invitationFile (invitationId: string, principal: Principal): Promise<Buffer> {
    const row = await this.openForHandOut(invitationId, principal)
    return writeInvitationFile(invitationFileFor(await this.mailContext(row, { method: 'smapi', message: null })))
  }

  /** A `mailto:` URI with the open invitation's Mailto message, for the novice's own mail program: nothing is queued. */
  async mailtoLink (invitationId: string, principal: Principal, recipients: string[]): Promise<string> {
    const row = await this.openForHandOut(invitationId, principal)
    const { subject, text } = composeInvitationMail(await this.mailContext(row, { method: 'mailto', message: null }))
    return mailtoUri(recipients, subject, text)
  }

  private async openForHandOut (invitationId: string, principal: Principal): Promise<InvitationRow> {
    const row = await this.current(invitationId, principal)
    if (row.state !== 'open') throw new AppError('INVITATION_NOT_OPEN', `the invitation is ${row.state}: only an open invitation can be handed out`)
    return row
  }

  async list (invitationId: string, principal: Principal): Promise<DeliveryStatus[]> {
    const row = await this.current(invitationId, principal)
    let deliveries = await this.data.repos.deliveries.forInvitation(row.id)
    // An ended invitation's mail still waiting (it was locked, or its expiry recorded by the sweep, before the worker
    // swept) shows as what it is: cancelled. A unit of work only then, not on every read of an ended invitation.
    if (row.state !== 'open' && deliveries.some((d) => d.recipients.some((r) => r.state === 'queued' || r.state === 'retrying'))) {
      await this.data.work((u) => this.cancelUnsent(u, row.id))
      deliveries = await this.data.repos.deliveries.forInvitation(row.id)
    }
    return deliveries.map(toStatus)
  }

  async status (deliveryId: string): Promise<DeliveryStatus> {
    return toStatus((await this.data.repos.deliveries.get(deliveryId))!)
  }

  /** What the e-mail for this invitation says (the ticket is derived again: it is never stored). */
  async mailContext (row: InvitationRow, plan: Pick<DeliveryPlan, 'method' | 'message'>): Promise<InvitationMailContext> {
    const createdAt = new Date(row.created_at)
    const expiresAt = new Date(row.expires_at)
    const claims = { invitationId: row.id, jti: row.jti, issuedAt: createdAt, notBefore: createdAt, expiresAt }
    const { ticket } = await this.tickets.sign(claims, { withKid: row.kid })
    const novice = await this.data.repos.accounts.getUser(row.novice_id)
    return {
      invitationId: row.id,
      novice: row.novice_name,
      noviceDisplayName: novice?.displayName ?? null,
      computer: row.computer_name,
      createdAt,
      expiresAt,
      passwordRequired: row.password_hash !== null,
      personalMessage: plan.message,
      method: plan.method,
      ticket,
      publicBaseUrl: this.options.publicBaseUrl,
      file: {
        connection: row.connection === null ? null : JSON.parse(row.connection) as NoviceConnection,
        passStub: row.pass_stub,
        lhTicket: row.lh_ticket
      }
    }
  }

  /**
   * Invitation `invitationId` as `principal` may see it (404 otherwise), with its expiry recorded (and its unsent mail
   * cancelled) if its time is up. Otherwise, the usual case, no unit of work: these requests (reading deliveries,
   * handing out the file) took one each, and with it a sweep of every queued recipient of every invitation (25 ms
   * with 20,000 queued during a mail outage), holding SQLite's write lock.
   */
  private async current (invitationId: string, principal: Principal): Promise<InvitationRow> {
    const row = await visibleInvitation(this.data.repos.invitations, invitationId, principal)
    if (row.state !== 'open' || row.expires_at > nowIso()) return row
    await this.data.work(async (u) => {
      await expireInvitations(u)
      await this.cancelUnsent(u, row.id)
    })
    return await visibleInvitation(this.data.repos.invitations, invitationId, principal)
  }

  /** Marks due expiries and cancels what ended invitations still had queued (one unit of work). */
  expire (): Promise<void> {
    return this.data.work(async (u) => {
      await expireInvitations(u)
      await this.cancelUnsent(u)
    })
  }

  /**
   * Cancels, in unit `u`, what invitations that are no longer open (revoked, redeemed, locked, expired) still had
   * queued: only invitation `invitationId`'s, when the caller has just ended it (the worker cancels the rest before it
   * sends anything). `waiting`: whether that invitation's mail may still wait, when the caller knows (null: read it).
   */
  async cancelUnsent (u: Unit, invitationId?: string, waiting: boolean | null = null): Promise<void> {
    const now = nowIso()
    for (const r of await (invitationId === undefined ? u.deliveries.cancelEnded(now) : u.deliveries.cancelFor(invitationId, now, waiting))) {
      await u.audit.record({
        ...SYSTEM_CONTEXT,
        action: 'delivery.cancelled',
        target: `invitations/${r.invitation_id}/deliveries/${r.delivery_id}`,
        outcome: 'success',
        details: { recipient: r.address, reason: 'the invitation is no longer open' }
      })
    }
  }

  /** Sends every due recipient, one at a time. Returns how many it handled. */
  async runDue (): Promise<number> {
    // Nothing unsent at all (the usual case, polled every few seconds): no unit of work, no write lock taken.
    if (await this.data.repos.deliveries.nextDueAt() === undefined) return 0
    // The sweep reads every queued recipient: at most once a poll, not on every wake-up (each invitation queued wakes
    // the worker). A recipient claimed meanwhile is checked against its invitation anyway (claimNext).
    if (Date.now() - this.sweptAt >= this.options.pollMs) {
      await this.expire()
      this.sweptAt = Date.now()
    }
    let handled = 0
    for (;;) {
      const claimed = await this.claimNext()
      if (!claimed) return handled
      if (claimed.invitation) await this.sendOne(claimed.recipient, claimed.invitation)
      handled++
    }
  }

  /**
   * Claims the next due recipient, with its audit event, in one unit of work.
   * One whose invitation is no longer open is cancelled there instead, and
   * comes back without an invitation (nothing to send).
   */
  private claimNext (): Promise<{ recipient: ClaimedRecipient, invitation?: InvitationRow } | undefined> {
    return this.data.work(async (u) => {
      const r = await u.deliveries.claimDue(nowIso(), new Date(Date.now() + LEASE_MS).toISOString())
      if (!r) return undefined
      await this.record(u, r, 'delivery.sending', {})
      const invitation = await u.invitations.get(r.invitation_id)
      if (!invitation || invitation.state !== 'open' || invitation.expires_at <= nowIso()) {
        await u.deliveries.markCancelled(r.id)
        await this.record(u, r, 'delivery.cancelled', { reason: 'the invitation is no longer open' })
        return { recipient: r }
      }
      return { recipient: r, invitation }
    })
  }

  /**
   * Sends a claimed recipient's message and records the outcome. The claim has
   * committed before anything leaves, and no unit of work is open while the
   * mail goes out; the outcome is a unit of its own.
   */
  private async sendOne (r: ClaimedRecipient, invitation: InvitationRow): Promise<void> {
    const mail = composeInvitationMail(await this.mailContext(invitation, { method: r.method, message: r.message }))
    // Revoked or ended since the claim (while the message was composed): not sent. What is left is the moment
    // between this read and the mail server taking the message, which no lock can close.
    const current = await this.data.repos.invitations.get(invitation.id)
    if (!current || current.state !== 'open' || current.expires_at <= nowIso()) {
      await this.data.work(async (u) => {
        await u.deliveries.markCancelled(r.id)
        await this.record(u, r, 'delivery.cancelled', { reason: 'the invitation is no longer open' })
      })
      return
    }
    let result: SendResult | undefined
    let failure: SendError | undefined
    try {
      result = await this.mailer.send({
        from: this.options.from,
        to: r.address,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        attachments: mail.attachments,
        messageId: r.message_id,
        headers: { 'X-RA-Invitation': r.invitation_id }
      }, r.id)
    } catch (err) {
      failure = err instanceof SendError ? err : new SendError(err instanceof Error ? err.message : String(err), false)
    }
    await this.data.work(async (u) => {
      if (result !== undefined) {
        await u.deliveries.markSent(r.id, result.reply, result.location)
        await this.record(u, r, 'delivery.sent', { messageId: r.message_id, reply: result.reply })
        await u.webhooks.publish('invitation.delivered', invitationEventData(current, SYSTEM_CONTEXT.actor, {
          deliveryId: r.delivery_id, method: r.method, recipient: r.address, messageId: r.message_id
        }))
      } else if (failure!.permanent || r.attempts >= this.options.maxAttempts) {
        const reason = failure!.permanent ? failure!.message : `gave up after ${r.attempts} attempts: ${failure!.message}`
        await u.deliveries.markFailed(r.id, reason)
        await this.record(u, r, 'delivery.failed', { reason })
      } else {
        // Exponential backoff with jitter: base·2^(n-1), scaled by a random 50–100 %, at most an hour.
        const delay = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** (r.attempts - 1)) * (0.5 + Math.random() / 2)
        const next = new Date(Date.now() + delay).toISOString()
        await u.deliveries.markRetry(r.id, next, failure!.message)
        await this.record(u, r, 'delivery.retrying', { nextAttemptAt: next, error: failure!.message })
      }
    })
  }

  /** An audit event on a claimed recipient's delivery, in unit `u`. */
  private record (u: Unit, r: ClaimedRecipient, action: string, details: Record<string, unknown>): Promise<void> {
    const target = `invitations/${r.invitation_id}/deliveries/${r.delivery_id}`
    return u.audit.record({ ...SYSTEM_CONTEXT, action, target, outcome: 'success', details: { recipient: r.address, attempt: r.attempts, ...details } })
  }

  /** Next time a recipient is due (for the worker's timer). */
  nextDueAt (): Promise<string | undefined> {
    return this.data.repos.deliveries.nextDueAt()
  }
}

function toStatus (d: DeliveryRow & { recipients: RecipientRow[] }): DeliveryStatus {
  return {
    id: d.id,
    invitationId: d.invitation_id,
    method: d.method,
    message: d.message,
    createdAt: d.created_at,
    createdBy: d.created_by,
    recipients: d.recipients.map((r) => ({
      address: r.address,
      state: r.state,
      attempts: r.attempts,
      messageId: r.message_id,
      nextAttemptAt: r.state === 'queued' || r.state === 'retrying' ? r.next_attempt_at : null,
      lastError: r.last_error,
      serverReply: r.server_reply,
      location: r.location,
      sentAt: r.sent_at
    }))
  }
}
