import { EventEmitter } from 'node:events'
import type { Db } from '../db/database.js'
import { nowIso } from '../db/database.js'
import { groupOf, settled } from '../db/group-commit.js'
import type { Principal } from '../domain/access.js'
import { controlDecision, offerInForceDecision, type Check } from '../domain/decisions.js'
import { isLive, modeOf, transition, type Command, type Role } from '../domain/session-machine.js'
import { AppError, notFound } from '../errors.js'
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { ComputersRepository } from '../repositories/computers-repository.js'
import type { PageOf } from '../repositories/paging.js'
import type { SessionEventRow, SessionRow, SessionsRepository, NewSession } from '../repositories/sessions-repository.js'
import type { Session } from '../schemas/invitations.js'
import { SYSTEM_CONTEXT, type ActorContext, type Caller } from './context.js'
import { decideInvitation } from './invitation-decision.js'
import type { PolicyService } from './policy-service.js'

export interface SessionHistoryEntry {
  id: number
  type: string
  occurredAt: string
  actor: string
  data: Record<string, unknown> | null
}

export interface SessionTimeouts {
  acceptTimeoutS: number
  controlRequestTimeoutS: number
}

/** The policy's custom warning messages, shown before consenting. */
type Messages = { viewMessage: string, shareControlMessage: string } | null

/**
 * Sessions and the novice's consent (SPEC.md C1–C5). Every transition runs the
 * pure state machine inside one immediate transaction — so concurrent commands
 * on a session are serialized, across processes too — and writes the new
 * state, a stored event (for live streams and replay) and an audit event.
 * Policy is asked at every step that needs it, and enforced when it changes.
 */
export class SessionService {
  /** Emits the session id whenever an event is stored (live streams listen). */
  readonly notifier = new EventEmitter().setMaxListeners(0)

  constructor (
    private readonly db: Db,
    private readonly sessions: SessionsRepository,
    private readonly computers: ComputersRepository,
    private readonly policy: PolicyService,
    private readonly audit: AuditRepository,
    private readonly timeouts: SessionTimeouts
  ) {}

  /** Opens a session awaiting the novice; call inside the caller's transaction (redemption, offer). */
  open (f: NewSession, ctx: ActorContext): string {
    // One reading of the clock: the deadline is exactly the accept timeout after creation.
    const createdAt = Date.now()
    const acceptDeadline = new Date(createdAt + this.timeouts.acceptTimeoutS * 1000).toISOString()
    const id = this.sessions.insert({ ...f, createdAt: new Date(createdAt).toISOString(), acceptDeadline })
    this.event(id, 'session.created', ctx, { origin: f.origin, invitationId: f.invitationId, permittedMode: f.permittedMode, acceptBy: acceptDeadline })
    return id
  }

  /** A security event on the session (a replayed ticket, say), for its novice to be told. */
  securityEvent (sessionId: string, kind: string, ctx: ActorContext, details: Record<string, unknown>): void {
    // The event, its summary and its audit event together.
    this.db.transaction(() => this.event(sessionId, `security.${kind}`, ctx, details))()
  }

  get (id: string, principal: Principal): Session {
    this.sweep()
    return this.view(this.visible(id, principal))
  }

  list (query: { limit: number, cursor?: string | undefined, state?: string | undefined }, principal: Principal): PageOf<Session> {
    this.sweep()
    const page = this.sessions.list({ ...query, accountId: principal.kind === 'user' ? principal.accountId : undefined })
    // Sessions of one computer share its policy: resolve it once per page, not once per session.
    const messages = new Map<string, Messages>()
    return { items: page.items.map((r) => this.view(r, messages)), nextCursor: page.nextCursor }
  }

  /** The stored events after `afterId`, for a party or an integration that may see the session. */
  events (id: string, principal: Principal, afterId: number, limit?: number): { session: SessionRow, events: SessionEventRow[] } {
    const session = this.visible(id, principal)
    return { session, events: this.sessions.events(id, afterId, limit) }
  }

  /** A page of the session's whole event history (transitions and every security event), oldest first. */
  history (id: string, principal: Principal, query: { limit: number, cursor?: string | undefined }): PageOf<SessionHistoryEntry> {
    const afterId = query.cursor === undefined ? 0 : Number(query.cursor)
    if (!Number.isSafeInteger(afterId) || afterId < 0) {
      throw new AppError('VALIDATION_FAILED', 'query field cursor is not a cursor this service gave', { field: 'cursor' })
    }
    const { events } = this.events(id, principal, afterId, query.limit + 1)
    const rows = events.slice(0, query.limit)
    return {
      items: rows.map((e) => ({
        id: e.id,
        type: e.type,
        occurredAt: e.occurred_at,
        actor: e.actor,
        data: e.data ? JSON.parse(e.data) as Record<string, unknown> : null
      })),
      nextCursor: events.length > query.limit ? String(rows[rows.length - 1]!.id) : null
    }
  }

  /** The events after `afterId` that are committed: a stream never shows what could still be rolled back. */
  async eventsAfter (id: string, afterId: number): Promise<SessionEventRow[]> {
    await settled(this.db)
    return this.sessions.events(id, afterId)
  }

  isLive (id: string): boolean {
    const row = this.sessions.get(id)
    return row !== undefined && isLive(row.state)
  }

  /** A party's command: accept, decline, request control, grant, deny, stop control, end. */
  act (
    id: string,
    command: Exclude<Command['type'], 'expire' | 'request-timeout' | 'drop-control' | 'terminate'>,
    caller: Caller,
    args: { confirm?: boolean, requestId?: string, reason?: string } = {}
  ): Session {
    this.sweep()
    const row = this.visible(id, caller.principal)
    const role = this.roleOf(row, caller.principal)
    return this.db.transaction(() => {
      const current = this.sessions.get(id)!
      const pending = this.sessions.pendingRequest(id)
      let checks: Check[] | undefined
      let cmd: Command
      switch (command) {
        case 'accept': cmd = { type: 'accept', confirm: args.confirm === true }; break
        case 'request-control':
        case 'grant': {
          const decision = this.controlDecision(current)
          checks = decision.checks
          cmd = command === 'grant'
            ? { type: 'grant', requestId: args.requestId ?? '', permitted: decision.allowed }
            : { type: 'request-control', permitted: decision.allowed }
          break
        }
        case 'deny': cmd = { type: 'deny', requestId: args.requestId ?? '' }; break
        default: cmd = { type: command } as Command
      }
      const outcome = transition({ state: current.state, pendingRequestId: pending?.id ?? null }, role, cmd)
      if (!outcome.ok) {
        throw new AppError(outcome.code, outcome.message, outcome.code === 'CONTROL_NOT_PERMITTED' && checks ? { checks } : {})
      }
      this.apply(current, outcome.next, outcome.event, caller.ctx, { reason: args.reason, requestId: pending?.id, checks, cmd })
      return this.view(this.sessions.get(id)!)
    }).immediate()
  }

  /** Applies due timeouts: unanswered sessions expire (C1), unanswered control requests are denied. */
  sweep (): void {
    const now = nowIso()
    const due = this.sessions.due(now)
    if (due.sessions.length === 0 && due.requests.length === 0) return
    this.db.transaction(() => {
      for (const id of due.sessions) this.applySystemCommand(id, { type: 'expire' }, 'the novice did not answer in time')
      for (const r of due.requests) this.applySystemCommand(r.session_id, { type: 'request-timeout' }, 'the novice did not answer the control request in time')
    }).immediate()
  }

  /**
   * Re-decides every live session after a policy change (O9): a session whose
   * invitation or offer policy no longer holds ends; one whose control is no
   * longer permitted drops back to view only. Each with an event saying why.
   */
  enforcePolicy (): number {
    let changed = 0
    this.db.transaction(() => {
      for (const s of this.sessions.live()) {
        const computer = this.computers.get(s.computer_id)!
        const allowed = s.origin === 'invitation'
          ? decideInvitation(this.policy, computer, s.novice_name).decision
          : offerInForceDecision(this.policy.resultantFor(computer).policy, { name: computer.name, platform: computer.platform })
        if (!allowed.allowed) {
          changed += this.applySystemCommand(s.id, { type: 'terminate' }, 'policy no longer allows this session', allowed.checks.filter((c) => !c.passed))
          continue
        }
        const control = this.controlDecision(s)
        if (!control.allowed && (s.state === 'in-control' || s.state === 'control-requested')) {
          changed += this.applySystemCommand(s.id, { type: 'drop-control' }, 'policy no longer permits remote control', control.checks.filter((c) => !c.passed))
        }
      }
    }).immediate()
    return changed
  }

  /** Ends the live sessions of a disabled or deleted account, a revoked token, or a revoked invitation. */
  terminateFor (filter: { accountId?: string, tokenId?: string, invitationId?: string }, reason: string): number {
    let changed = 0
    this.db.transaction(() => {
      for (const s of this.sessions.live(filter)) changed += this.applySystemCommand(s.id, { type: 'terminate' }, reason)
    }).immediate()
    return changed
  }

  /** Runs a system command; returns 1 when it changed the session. */
  private applySystemCommand (id: string, cmd: Command, reason: string, checks?: Check[]): number {
    const current = this.sessions.get(id)
    if (!current) return 0
    const pending = this.sessions.pendingRequest(id)
    const outcome = transition({ state: current.state, pendingRequestId: pending?.id ?? null }, 'system', cmd)
    if (!outcome.ok || outcome.event === null) return 0
    this.apply(current, outcome.next, outcome.event, SYSTEM_CONTEXT, { reason, requestId: pending?.id, checks, cmd })
    return 1
  }

  private apply (
    current: SessionRow,
    next: SessionRow['state'],
    event: string | null,
    ctx: ActorContext,
    info: { reason?: string | undefined, requestId?: string | undefined, checks?: Check[] | undefined, cmd: Command }
  ): void {
    if (event === null) return
    const now = nowIso()
    const ending = !isLive(next)
    this.sessions.setState(current.id, next, {
      ...(event === 'session.accepted' ? { acceptedAt: now } : {}),
      ...(ending ? { endedAt: now, endReason: info.reason ?? event } : {})
    })
    let requestId = info.requestId
    switch (event) {
      case 'control.requested':
        requestId = this.sessions.insertRequest(current.id, new Date(Date.now() + this.timeouts.controlRequestTimeoutS * 1000).toISOString())
        break
      case 'control.granted': this.sessions.answerRequest(requestId!, 'granted', null); break
      case 'control.denied': this.sessions.answerRequest(requestId!, 'denied', info.reason ?? null); break
      case 'control.request-expired': this.sessions.answerRequest(requestId!, 'expired', info.reason ?? null); break
      default:
        // Stopping, dropping or ending with a request still waiting cancels it.
        if (requestId !== undefined) this.sessions.answerRequest(requestId, 'cancelled', info.reason ?? event)
    }
    this.event(current.id, event, ctx, {
      from: current.state,
      to: next,
      mode: modeOf(next),
      ...(requestId !== undefined && event.startsWith('control.') ? { requestId } : {}),
      ...(info.reason !== undefined ? { reason: info.reason } : {}),
      ...(info.checks !== undefined && (event === 'control.dropped' || event === 'session.terminated') ? { checks: info.checks } : {})
    })
  }

  private event (sessionId: string, type: string, ctx: ActorContext, data: Record<string, unknown>): void {
    this.sessions.appendEvent(sessionId, type, ctx.actor, data)
    this.audit.record({ ...ctx, action: type, target: `sessions/${sessionId}`, outcome: type.startsWith('security.') ? 'denied' : 'success', details: data })
    // Tell live streams in this process once the transaction has committed.
    groupOf(this.db).afterCommit(() => this.notifier.emit('event', sessionId))
  }

  /** S2/S6/O3 now: may control be had in this session? Capped by what the session was opened with. */
  private controlDecision (s: SessionRow): { allowed: boolean, checks: Check[] } {
    const computer = this.computers.get(s.computer_id)!
    const { policy } = this.policy.resultantFor(computer)
    const decision = controlDecision(policy, s.origin)
    if (s.permitted_mode === 'view' && decision.allowed) {
      return {
        allowed: false,
        checks: [...decision.checks, {
          rule: s.origin === 'offer' ? 'O3' : 'S2',
          passed: false,
          detail: 'this session was opened for viewing only',
          remedy: 'Start a new session once policy permits control'
        }]
      }
    }
    return decision
  }

  private roleOf (s: SessionRow, p: Principal): Role {
    if (p.kind === 'user' && p.accountId === s.novice_id) return 'novice'
    if (p.kind === 'user' && p.accountId === s.expert_id) return 'expert'
    return 'admin'
  }

  /** Parties see their sessions; administrators and integrations (with the scope) all; others get "not found". */
  private visible (id: string, principal: Principal): SessionRow {
    const row = this.sessions.get(id)
    if (!row || (principal.kind === 'user' && row.novice_id !== principal.accountId && row.expert_id !== principal.accountId)) throw notFound('session', id)
    if (principal.kind === 'integration' && !principal.scopes.includes('sessions:read')) throw notFound('session', id)
    return row
  }

  view (r: SessionRow, memo: Map<string, Messages> = new Map()): Session {
    let messages = memo.get(r.computer_id)
    if (messages === undefined) {
      const computer = this.computers.get(r.computer_id)
      messages = computer ? this.policy.resultantFor(computer).policy.customMessages.value : null
      memo.set(r.computer_id, messages)
    }
    const pending = this.sessions.pendingRequest(r.id)
    const expert = { name: r.expert_name, displayName: r.expert_display_name }
    return {
      id: r.id,
      origin: r.origin,
      invitationId: r.invitation_id,
      computer: r.computer_name,
      novice: { name: r.novice_name, displayName: r.novice_display_name },
      expert,
      state: r.state,
      mode: modeOf(r.state),
      permittedMode: r.permitted_mode,
      consent: {
        expert,
        solicited: r.origin === 'invitation',
        messageBeforeConnecting: messages?.viewMessage || null,
        messageBeforeSharingControl: messages?.shareControlMessage || null,
        acceptBy: r.state === 'awaiting-novice' ? r.accept_deadline : null
      },
      controlRequest: pending ? { id: pending.id, state: pending.state, requestedAt: pending.requested_at, answerBy: pending.deadline } : null,
      securityEvents: this.sessions.securitySummary(r.id).map((e) => ({
        kind: e.type.replace(/^security\./, ''),
        occurredAt: e.first_at,
        lastOccurredAt: e.last_at,
        count: e.count,
        details: e.data ? JSON.parse(e.data) as Record<string, unknown> : null
      })),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      acceptedAt: r.accepted_at,
      endedAt: r.ended_at,
      endReason: r.end_reason
    }
  }
}
