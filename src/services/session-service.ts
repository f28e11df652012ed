import { EventEmitter } from 'node:events'
import { nowIso } from '../db/database.js'
import type { Principal } from '../domain/access.js'
import { controlDecision, offerInForceDecision, type Check } from '../domain/decisions.js'
import { isLive, modeOf, transition, type Command, type Role } from '../domain/session-machine.js'
import { isWebhookEventType } from '../domain/webhooks.js'
import { AppError, notFound } from '../errors.js'
import type { Repositories, Store, Unit } from '../repositories/index.js'
import type { PageOf } from '../repositories/paging.js'
import type { SessionEventRow, SessionRow, NewSession } from '../repositories/sessions-repository.js'
import type { Session } from '../schemas/invitations.js'
import { SYSTEM_CONTEXT, type ActorContext, type Caller } from './context.js'
import { decideInvitation } from './invitation-decision.js'
import type { PolicyService } from './policy-service.js'
import { rulesOf, sessionEventData } from './webhook-events.js'

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

/** The notification channel of stored session events (payload: the session id). */
export const SESSION_EVENTS_CHANNEL = 'ra_session_events'

/**
 * Sessions and the novice's consent (SPEC.md C1–C5). Every transition runs the
 * pure state machine inside one unit of work that first locks the session
 * (SessionsRepository.lock) and reads it there — so concurrent commands on a
 * session are serialized, across processes and instances too — and writes the
 * new state, a stored event (for live streams and replay) and an audit event.
 * Policy is asked at every step that needs it, and enforced when it changes.
 */
export class SessionService {
  /** Emits the session id whenever an event is stored (live streams listen). */
  readonly notifier = new EventEmitter().setMaxListeners(0)

  /** Relays other instances' session events to this process's live streams (from the storage's notifications). */
  async listenToOtherInstances (): Promise<void> {
    await this.store.storage.listen(SESSION_EVENTS_CHANNEL, (sessionId) => this.notifier.emit('event', sessionId))
  }

  constructor (
    private readonly store: Store,
    private readonly policy: PolicyService,
    private readonly timeouts: SessionTimeouts
  ) {}

  /** Opens a session awaiting the novice, in the caller's unit of work `u` (redemption, offer). */
  async open (u: Unit, f: NewSession, ctx: ActorContext): Promise<string> {
    // One reading of the clock: the deadline is exactly the accept timeout after creation.
    const createdAt = Date.now()
    const acceptDeadline = new Date(createdAt + this.timeouts.acceptTimeoutS * 1000).toISOString()
    const id = await u.sessions.insert({ ...f, createdAt: new Date(createdAt).toISOString(), acceptDeadline })
    await this.event(u, id, 'session.created', ctx, {
      origin: f.origin,
      invitationId: f.invitationId,
      permittedMode: f.permittedMode,
      acceptBy: acceptDeadline,
      ...(f.externalRef !== null ? { externalRef: f.externalRef } : {}),
      ...(f.boundHelper ? { boundHelper: f.boundHelper } : {})
    })
    return id
  }

  /** A security event on the session (a replayed ticket, say), for its novice to be told. */
  async securityEvent (sessionId: string, kind: string, ctx: ActorContext, details: Record<string, unknown>): Promise<void> {
    // The event, its summary and its audit event together.
    await this.store.work((u) => this.event(u, sessionId, `security.${kind}`, ctx, details))
  }

  async get (id: string, principal: Principal): Promise<Session> {
    await this.sweep()
    return await this.view(await this.visible(id, principal))
  }

  async list (
    query: { limit: number, cursor?: string | undefined, state?: string | undefined, externalRef?: string | undefined },
    principal: Principal
  ): Promise<PageOf<Session>> {
    await this.sweep()
    const page = await this.store.repos.sessions.list({ ...query, accountId: principal.kind === 'user' ? principal.accountId : undefined })
    // Sessions of one computer share its policy: resolve it once per page, not once per session.
    const messages = new Map<string, Messages>()
    const items: Session[] = []
    for (const r of page.items) items.push(await this.view(r, messages))
    return { items, nextCursor: page.nextCursor }
  }

  /** The stored events after `afterId`, for a party or an integration that may see the session. */
  async events (id: string, principal: Principal, afterId: number, limit?: number): Promise<{ session: SessionRow, events: SessionEventRow[] }> {
    const session = await this.visible(id, principal)
    return { session, events: await this.store.repos.sessions.events(id, afterId, limit) }
  }

  /** A page of the session's whole event history (transitions and every security event), oldest first. */
  async history (id: string, principal: Principal, query: { limit: number, cursor?: string | undefined }): Promise<PageOf<SessionHistoryEntry>> {
    const afterId = query.cursor === undefined ? 0 : Number(query.cursor)
    if (!Number.isSafeInteger(afterId) || afterId < 0) {
      throw new AppError('VALIDATION_FAILED', 'query field cursor is not a cursor this service gave', { field: 'cursor' })
    }
    const { events } = await this.events(id, principal, afterId, query.limit + 1)
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

  /**
   * The events after `afterId` that are committed (the store's reads see nothing else): a stream never shows
   * what could still be rolled back.
   */
  eventsAfter (id: string, afterId: number): Promise<SessionEventRow[]> {
    return this.store.repos.sessions.events(id, afterId)
  }

  async isLive (id: string): Promise<boolean> {
    const row = await this.store.repos.sessions.get(id)
    return row !== undefined && isLive(row.state)
  }

  /** A party's command: accept, decline, request control, grant, deny, stop control, end. */
  async act (
    id: string,
    command: Exclude<Command['type'], 'expire' | 'request-timeout' | 'drop-control' | 'terminate'>,
    caller: Caller,
    args: { confirm?: boolean, requestId?: string, reason?: string } = {}
  ): Promise<Session> {
    await this.sweep()
    const row = await this.visible(id, caller.principal)
    const role = this.roleOf(row, caller.principal)
    return await this.store.work(async (u) => {
      await u.sessions.lock(id)
      const current = (await u.sessions.get(id))!
      const pending = await u.sessions.pendingRequest(id)
      let checks: Check[] | undefined
      let cmd: Command
      switch (command) {
        case 'accept': cmd = { type: 'accept', confirm: args.confirm === true }; break
        case 'request-control':
        case 'grant': {
          const decision = await this.controlDecision(current)
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
      await this.apply(u, current, outcome.next, outcome.event, caller.ctx, { reason: args.reason, requestId: pending?.id, checks, cmd })
      return await this.viewWith(u, (await u.sessions.get(id))!)
    })
  }

  /** Applies due timeouts: unanswered sessions expire (C1), unanswered control requests are denied. */
  async sweep (): Promise<void> {
    const due = await this.store.repos.sessions.due(nowIso())
    if (due.sessions.length === 0 && due.requests.length === 0) return
    await this.store.work(async (u) => {
      // Read again in the unit: what was due may have been answered meanwhile.
      const { sessions, requests } = await u.sessions.due(nowIso())
      const commands: Array<{ id: string, cmd: Command, reason: string }> = [
        ...sessions.map((id) => ({ id, cmd: { type: 'expire' } as const, reason: 'the novice did not answer in time' })),
        ...requests.map((r) => ({
          id: r.session_id, cmd: { type: 'request-timeout' } as const, reason: 'the novice did not answer the control request in time'
        }))
      ]
      // Sessions are locked in one order (their ids) by every unit that locks several, so two never wait on each other.
      for (const c of commands.sort((a, b) => compareIds(a.id, b.id))) await this.applySystemCommand(u, c.id, c.cmd, c.reason)
    })
  }

  /**
   * Re-decides every live session after a policy change (O9): a session whose
   * invitation or offer policy no longer holds ends; one whose control is no
   * longer permitted drops back to view only. Each with an event saying why.
   * Runs as a unit of work of its own (a signal starts it once the change has committed).
   */
  async enforcePolicy (): Promise<void> {
    await this.store.work(async (u) => {
      for (const id of sortedIds(await u.sessions.live())) {
        await u.sessions.lock(id)
        const s = await u.sessions.get(id)
        if (!s || !isLive(s.state)) continue
        const computer = (await this.store.repos.computers.get(s.computer_id))!
        const allowed = s.origin === 'invitation'
          ? (await decideInvitation(this.policy, computer, s.novice_name)).decision
          : offerInForceDecision((await this.policy.resultantFor(computer)).policy, { name: computer.name, platform: computer.platform })
        if (!allowed.allowed) {
          await this.applyTo(u, s, { type: 'terminate' }, 'policy no longer allows this session', allowed.checks.filter((c) => !c.passed))
          continue
        }
        const control = await this.controlDecision(s)
        if (!control.allowed && (s.state === 'in-control' || s.state === 'control-requested')) {
          await this.applyTo(u, s, { type: 'drop-control' }, 'policy no longer permits remote control', control.checks.filter((c) => !c.passed))
        }
      }
    })
  }

  /** Ends the live sessions of a disabled or deleted account, a revoked token, or a revoked invitation, in a unit of work of its own. */
  terminateFor (filter: { accountId?: string, tokenId?: string, invitationId?: string }, reason: string): Promise<number> {
    return this.store.work((u) => this.terminateIn(u, filter, reason))
  }

  /** The same, in the caller's unit of work `u`. Returns how many sessions it ended. */
  async terminateIn (u: Unit, filter: { accountId?: string, tokenId?: string, invitationId?: string }, reason: string): Promise<number> {
    let changed = 0
    for (const id of sortedIds(await u.sessions.live(filter))) changed += await this.applySystemCommand(u, id, { type: 'terminate' }, reason)
    return changed
  }

  /** Runs a system command in unit `u`, on the session locked and read there; returns 1 when it changed the session. */
  private async applySystemCommand (u: Unit, id: string, cmd: Command, reason: string, checks?: Check[]): Promise<number> {
    await u.sessions.lock(id)
    const current = await u.sessions.get(id)
    if (!current) return 0
    return await this.applyTo(u, current, cmd, reason, checks)
  }

  /** Runs a system command on `current`, a session locked and read in unit `u`; returns 1 when it changed the session. */
  private async applyTo (u: Unit, current: SessionRow, cmd: Command, reason: string, checks?: Check[]): Promise<number> {
    const pending = await u.sessions.pendingRequest(current.id)
    const outcome = transition({ state: current.state, pendingRequestId: pending?.id ?? null }, 'system', cmd)
    if (!outcome.ok || outcome.event === null) return 0
    await this.apply(u, current, outcome.next, outcome.event, SYSTEM_CONTEXT, { reason, requestId: pending?.id, checks, cmd })
    return 1
  }

  private async apply (
    u: Unit,
    current: SessionRow,
    next: SessionRow['state'],
    event: string | null,
    ctx: ActorContext,
    info: { reason?: string | undefined, requestId?: string | undefined, checks?: Check[] | undefined, cmd: Command }
  ): Promise<void> {
    if (event === null) return
    const now = nowIso()
    const ending = !isLive(next)
    await u.sessions.setState(current.id, next, {
      ...(event === 'session.accepted' ? { acceptedAt: now } : {}),
      ...(ending ? { endedAt: now, endReason: info.reason ?? event } : {})
    })
    let requestId = info.requestId
    switch (event) {
      case 'control.requested':
        requestId = await u.sessions.insertRequest(current.id, new Date(Date.now() + this.timeouts.controlRequestTimeoutS * 1000).toISOString())
        break
      case 'control.granted': await u.sessions.answerRequest(requestId!, 'granted', null); break
      case 'control.denied': await u.sessions.answerRequest(requestId!, 'denied', info.reason ?? null); break
      case 'control.request-expired': await u.sessions.answerRequest(requestId!, 'expired', info.reason ?? null); break
      default:
        // Stopping, dropping or ending with a request still waiting cancels it.
        if (requestId !== undefined) await u.sessions.answerRequest(requestId, 'cancelled', info.reason ?? event)
    }
    await this.event(u, current.id, event, ctx, {
      from: current.state,
      to: next,
      mode: modeOf(next),
      ...(requestId !== undefined && event.startsWith('control.') ? { requestId } : {}),
      ...(info.reason !== undefined ? { reason: info.reason } : {}),
      ...(info.checks !== undefined && (event === 'control.dropped' || event === 'session.terminated') ? { checks: info.checks } : {})
    }, { row: current, rules: rulesOf(info.checks) })
  }

  private async event (
    u: Unit,
    sessionId: string,
    type: string,
    ctx: ActorContext,
    data: Record<string, unknown>,
    hook: { row?: SessionRow, rules?: string[] } = {}
  ): Promise<void> {
    await u.sessions.appendEvent(sessionId, type, ctx.actor, data)
    await u.audit.record({ ...ctx, action: type, target: `sessions/${sessionId}`, outcome: type.startsWith('security.') ? 'denied' : 'success', details: data })
    if (isWebhookEventType(type)) {
      const row = hook.row ?? (await u.sessions.get(sessionId))!
      // The session's own parties stay as they are (a security event's `expert` is who presented the ticket: the actor).
      const { checks: _checks, expert: _expert, ...rest } = data
      await u.webhooks.publish(type, sessionEventData(row, ctx.actor, { ...rest, rules: hook.rules ?? [] }))
    }
    // Tell live streams once the unit has committed: in this process at once, on every other instance through
    // the database (PostgreSQL NOTIFY; their one-second poll covers a lost notification, and SQLite).
    u.afterCommit(() => this.notifier.emit('event', sessionId))
    await u.notify(SESSION_EVENTS_CHANNEL, sessionId)
  }

  /** S2/S6/O3 now: may control be had in this session? Capped by what the session was opened with. */
  private async controlDecision (s: SessionRow): Promise<{ allowed: boolean, checks: Check[] }> {
    const computer = (await this.store.repos.computers.get(s.computer_id))!
    const { policy } = await this.policy.resultantFor(computer)
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
  private async visible (id: string, principal: Principal): Promise<SessionRow> {
    const row = await this.store.repos.sessions.get(id)
    if (!row || (principal.kind === 'user' && row.novice_id !== principal.accountId && row.expert_id !== principal.accountId)) throw notFound('session', id)
    if (principal.kind === 'integration' && !principal.scopes.includes('sessions:read')) throw notFound('session', id)
    return row
  }

  /** The session as the API shows it, with its control request and security events as committed. */
  view (r: SessionRow, memo: Map<string, Messages> = new Map()): Promise<Session> {
    return this.viewWith(this.store.repos, r, memo)
  }

  /** The same, with the control request and security events read through `repos` (a unit's own, inside one). */
  private async viewWith (repos: Repositories, r: SessionRow, memo: Map<string, Messages> = new Map()): Promise<Session> {
    let messages = memo.get(r.computer_id)
    if (messages === undefined) {
      // Cached configuration: read from the store's cache, inside a unit too.
      const computer = await this.store.repos.computers.get(r.computer_id)
      messages = computer ? (await this.policy.resultantFor(computer)).policy.customMessages.value : null
      memo.set(r.computer_id, messages)
    }
    const pending = await repos.sessions.pendingRequest(r.id)
    const securityEvents = await repos.sessions.securitySummary(r.id)
    const expert = { name: r.expert_name, displayName: r.expert_display_name }
    return {
      id: r.id,
      origin: r.origin,
      invitationId: r.invitation_id,
      externalRef: r.external_ref,
      boundHelper: r.bound_helper,
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
      securityEvents: securityEvents.map((e) => ({
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

/** Session ids in the one order every unit that locks several sessions locks them in. */
function sortedIds (rows: Array<{ id: string }>): string[] {
  return rows.map((r) => r.id).sort(compareIds)
}

function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
