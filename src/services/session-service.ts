import { EventEmitter } from 'node:events'
import { nowIso } from '../db/database.js'
import type { Freshness } from '../db/directory-cache.js'
import type { Principal } from '../domain/access.js'
import { CONSENT_EVENT_TYPES, GENESIS, nextEntry, RECEIPT_FORMAT, RECEIPT_JWS_TYP, type ConsentEntry, type ConsentReceipt } from '../domain/consent-receipt.js'
import { controlDecision, offerInForceDecision, type Check } from '../domain/decisions.js'
import { isLive, modeOf, transition, type Command, type Role } from '../domain/session-machine.js'
import { nameKey, splitQualifiedName } from '../domain/names.js'
import { MAX_CODE_MISMATCHES, verificationCode, verificationCodeMatches } from '../domain/verification-code.js'
import { isWebhookEventType } from '../domain/webhooks.js'
import { AppError, notFound } from '../errors.js'
import type { Repositories, Store, Unit } from '../repositories/index.js'
import type { PageOf } from '../repositories/paging.js'
import { isDue, type SecurityReportRow, type SessionEventRow, type SessionRow, type NewSession } from '../repositories/sessions-repository.js'
import type { Session } from '../schemas/invitations.js'
import { SYSTEM_CONTEXT, type ActorContext, type Caller } from './context.js'
import type { ResultantPolicy } from '../domain/resultant-policy.js'
import { decideInvitation } from './invitation-decision.js'
import type { PolicyService } from './policy-service.js'
import type { ServiceKey } from './service-key.js'
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
  controlGrantDefaultMinutes: number
  controlGrantMaxMinutes: number
}

/** Control's end is announced (control.expiring) this long before it. */
export const CONTROL_EXPIRY_NOTICE_MS = 60_000

/** What the service needs besides storage and policy: the verification codes' key, and a signer for receipts. */
export interface SessionKeys {
  verification: ServiceKey
  signReceipt: (typ: string, claims: Record<string, unknown>) => Promise<string>
}

/** A novice's report that the expert is not who they expected, as administrators list it. */
export interface SecurityReport {
  id: string
  sessionId: string
  computer: string
  novice: string
  expert: { name: string, displayName: string | null }
  words: string
  reportedAt: string
}

/** The party commands of `act`. */
export type PartyCommand = Exclude<Command['type'], 'expire' | 'request-timeout' | 'drop-control' | 'terminate' | 'control-expire'>

/** What a session's view needs of its computer's policy: the custom warning messages, and whether the code is required. */
interface PolicyView {
  messages: { viewMessage: string, shareControlMessage: string } | null
  codeRequired: boolean
}

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
    private readonly timeouts: SessionTimeouts,
    private readonly keys: SessionKeys
  ) {}

  /** Opens a session awaiting the novice, in the caller's unit of work `u` (redemption, offer). */
  async open (u: Unit, f: NewSession, ctx: ActorContext): Promise<SessionRow> {
    // One reading of the clock: the deadline is exactly the accept timeout after creation.
    const createdAt = Date.now()
    const acceptDeadline = new Date(createdAt + this.timeouts.acceptTimeoutS * 1000).toISOString()
    const row = await u.sessions.insert({ ...f, createdAt: new Date(createdAt).toISOString(), acceptDeadline })
    await this.event(u, row.id, 'session.created', ctx, {
      origin: f.origin,
      invitationId: f.invitationId,
      permittedMode: f.permittedMode,
      acceptBy: acceptDeadline,
      ...(f.externalRef !== null ? { externalRef: f.externalRef } : {}),
      ...(f.boundHelper ? { boundHelper: f.boundHelper } : {})
    }, { row, firstEvent: true })
    return row
  }

  /** A security event on the session (a replayed ticket, say), for its novice to be told. */
  async securityEvent (sessionId: string, kind: string, ctx: ActorContext, details: Record<string, unknown>): Promise<void> {
    // The event, its summary and its audit event together.
    await this.store.work((u) => this.event(u, sessionId, `security.${kind}`, ctx, details))
  }

  /** `since`: the request's mark (DirectoryCache): the policy shown is as of its arrival or later. */
  async get (id: string, principal: Principal, since?: Freshness): Promise<Session> {
    // The session and whether any deadline is due, in one statement; only when one is does the sweep run, and the
    // session is read again after it.
    const read = await this.store.repos.sessions.getAndEarliestDeadline(id)
    let row: SessionRow | undefined = read
    if (read !== undefined && isDue(read.earliest_deadline, nowIso())) {
      await this.sweep()
      row = await this.store.repos.sessions.get(id)
    }
    return await this.view(visibleTo(row, id, principal), principal, new Map(), since)
  }

  /**
   * The session's signed consent receipt: its consent chain as stored, and a JWS over the chain's head made now
   * with the ticket key (README, *Consent receipts*). Whoever may see the session may fetch it.
   */
  async receipt (id: string, principal: Principal): Promise<ConsentReceipt> {
    await this.visible(id, principal)
    const links = await this.store.repos.sessions.consentChain(id)
    const entries = links.map((l) => ({ hash: l.hash, entry: JSON.parse(l.entry) as ConsentEntry }))
    const head = links.at(-1)?.hash ?? GENESIS
    const signature = await this.keys.signReceipt(RECEIPT_JWS_TYP, { sub: id, head, count: links.length, iat: Math.floor(Date.now() / 1000) })
    return { format: RECEIPT_FORMAT, sessionId: id, entries, head, signature }
  }

  /** Novices' reports that the expert was not who they expected, newest first (administrators). */
  async reports (query: { limit: number, cursor?: string | undefined }): Promise<PageOf<SecurityReport>> {
    const page = await this.store.repos.sessions.reports(query)
    return { items: page.items.map(reportOf), nextCursor: page.nextCursor }
  }

  async list (
    query: { limit: number, cursor?: string | undefined, state?: string | undefined, externalRef?: string | undefined },
    principal: Principal
  ): Promise<PageOf<Session>> {
    await this.sweep()
    const page = await this.store.repos.sessions.list({ ...query, accountId: principal.kind === 'user' ? principal.accountId : undefined })
    // Sessions of one computer share its policy: resolve it once per page, not once per session.
    const policies = new Map<string, PolicyView>()
    const items: Session[] = []
    for (const r of page.items) items.push(await this.view(r, principal, policies))
    return { items, nextCursor: page.nextCursor }
  }

  /** The stored events after `afterId`, for a party or an integration that may see the session. */
  async events (id: string, principal: Principal, afterId: number, limit?: number): Promise<{ session: SessionRow, events: SessionEventRow[] }> {
    const session = await this.visible(id, principal)
    return { session, events: await this.store.repos.sessions.events(id, afterId, limit) }
  }

  /** Resolves if `principal` may watch the session's events; the same not-found error as every other read of it otherwise. */
  async assertVisible (id: string, principal: Principal): Promise<void> {
    await this.visible(id, principal)
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
  eventsAfter (id: string, afterId: number, limit?: number): Promise<SessionEventRow[]> {
    return this.store.repos.sessions.events(id, afterId, limit)
  }

  async isLive (id: string): Promise<boolean> {
    const row = await this.store.repos.sessions.get(id)
    return row !== undefined && isLive(row.state)
  }

  /**
   * A party's command: accept, decline, request control, grant, deny, stop control, renew control, ask for more
   * time, end, report. A wrong verification code is counted and recorded (the third ends the session) and then
   * refused: that unit commits before the refusal is thrown.
   */
  async act (
    id: string,
    command: PartyCommand,
    caller: Caller,
    args: { confirm?: boolean, requestId?: string, reason?: string, verificationCode?: string, minutes?: number, words?: string } = {}
  ): Promise<Session> {
    await this.sweep()
    const row = await this.visible(id, caller.principal)
    const role = this.roleOf(row, caller.principal)
    const minutes = args.minutes ?? this.timeouts.controlGrantDefaultMinutes
    if ((command === 'grant' || command === 'renew-control') && minutes > this.timeouts.controlGrantMaxMinutes) {
      throw new AppError('GRANT_TOO_LONG', `control may be granted for at most ${this.timeouts.controlGrantMaxMinutes} minutes at once (asked: ${minutes})`,
        { field: 'minutes' })
    }
    const result = await this.store.work(async (u): Promise<Session | { mismatches: number }> => {
      await u.sessions.lock(id)
      const current = (await u.sessions.get(id))!
      const pending = await u.sessions.pendingRequest(id)
      let checks: Check[] | undefined
      let cmd: Command
      let extra: Record<string, unknown> = {}
      switch (command) {
        case 'accept': {
          const policy = await this.policyOf(current)
          const required = policy?.verificationCode.value === 'required'
          cmd = { type: 'accept', confirm: args.confirm === true, codeMissing: required && args.verificationCode === undefined }
          extra = {
            messageShown: policy?.customMessages.value?.viewMessage || null,
            verificationCode: args.verificationCode === undefined ? 'not-compared' : 'compared'
          }
          break
        }
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
      if (command === 'accept' && args.verificationCode !== undefined &&
        !verificationCodeMatches(verificationCode(await this.keys.verification.get(), id), args.verificationCode)) {
        return { mismatches: await this.codeMismatch(u, current, caller.ctx) }
      }
      if (command === 'grant') {
        const messages = (await this.policyOf(current))?.customMessages.value
        extra = { minutes, messageShown: messages?.shareControlMessage || null }
      }
      if (command === 'renew-control') extra = { minutes }
      if (command === 'report') {
        const words = args.words ?? ''
        await u.sessions.insertReport({ sessionId: id, noviceId: current.novice_id, expertId: current.expert_id, words })
        await this.event(u, id, 'security.reported', caller.ctx, { words, expert: current.expert_name }, { row: current })
      }
      const reason = command === 'report' ? 'the novice reported that this is not who they expected' : args.reason
      await this.apply(u, current, outcome.next, outcome.event, caller.ctx, { reason, requestId: pending?.id, checks, cmd, minutes, extra })
      return await this.viewWith(u, (await u.sessions.get(id))!, caller.principal)
    })
    if ('mismatches' in result) {
      const left = MAX_CODE_MISMATCHES - result.mismatches
      throw new AppError('VERIFICATION_CODE_MISMATCH', left > 0
        ? `that is not the session's verification code: check it with your helper (${left} ${left === 1 ? 'try' : 'tries'} left)`
        : `that is not the session's verification code either: after ${MAX_CODE_MISMATCHES} wrong codes the session has ended`,
      { field: 'verificationCode' })
    }
    return result
  }

  /**
   * A wrong verification code: counted and recorded as security.code-mismatch (audited, to webhooks); the
   * third ends the session. Returns how many wrong codes there have been.
   */
  private async codeMismatch (u: Unit, current: SessionRow, ctx: ActorContext): Promise<number> {
    const mismatches = await u.sessions.codeMismatch(current.id)
    const ending = mismatches >= MAX_CODE_MISMATCHES
    await this.event(u, current.id, 'security.code-mismatch', ctx, { attempt: mismatches, allowed: MAX_CODE_MISMATCHES, sessionEnds: ending },
      { row: current })
    if (ending) await this.applyTo(u, current, { type: 'terminate' }, `the verification code was typed wrong ${MAX_CODE_MISMATCHES} times`)
    return mismatches
  }

  /**
   * Applies due timeouts: unanswered sessions expire (C1), unanswered control requests are denied, control whose
   * granted time is up drops back to view (control.expired), and control about to run out is announced
   * (control.expiring, once per grant or renewal).
   */
  async sweep (): Promise<void> {
    if (!await this.store.repos.sessions.anyDue(nowIso())) return
    await this.store.work(async (u) => {
      // Read again in the unit: what was due may have been answered meanwhile.
      const { sessions, requests, controlExpired, controlExpiring } = await u.sessions.due(nowIso())
      const commands: Array<{ id: string, cmd: Command | 'announce', reason: string }> = [
        ...sessions.map((id) => ({ id, cmd: { type: 'expire' } as const, reason: 'the novice did not answer in time' })),
        ...requests.map((r) => ({
          id: r.session_id, cmd: { type: 'request-timeout' } as const, reason: 'the novice did not answer the control request in time'
        })),
        ...controlExpired.map((id) => ({ id, cmd: { type: 'control-expire' } as const, reason: 'the time the novice granted control for is up' })),
        ...controlExpiring.filter((id) => !controlExpired.includes(id)).map((id) => ({ id, cmd: 'announce' as const, reason: '' }))
      ]
      // Sessions are locked in one order (their ids) by every unit that locks several, so two never wait on each other.
      for (const c of commands.sort((a, b) => compareIds(a.id, b.id))) {
        if (c.cmd === 'announce') await this.announceControlEnd(u, c.id)
        else await this.applySystemCommand(u, c.id, c.cmd, c.reason)
      }
    })
  }

  /** control.expiring, a minute before control runs out: the expert may ask for more time, the novice renew. */
  private async announceControlEnd (u: Unit, id: string): Promise<void> {
    await u.sessions.lock(id)
    const s = await u.sessions.get(id)
    if (!s || s.state !== 'in-control' || s.control_warn_at === null || s.control_warn_at > nowIso()) return
    await u.sessions.controlWarned(id)
    await this.event(u, id, 'control.expiring', SYSTEM_CONTEXT, { until: s.control_until }, { row: s })
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
    info: {
      reason?: string | undefined
      requestId?: string | undefined
      checks?: Check[] | undefined
      cmd: Command
      /** For a grant or renewal: how long control lasts. */
      minutes?: number
      /** Further facts for the event (and the consent chain): the message shown, how long control was granted for… */
      extra?: Record<string, unknown>
    }
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
      case 'control.more-time-requested': await u.sessions.moreTimeRequested(current.id, now); break
      default:
        // Stopping, dropping or ending with a request still waiting cancels it.
        if (requestId !== undefined) await u.sessions.answerRequest(requestId, 'cancelled', info.reason ?? event)
    }
    let extra = info.extra ?? {}
    if (event === 'control.granted' || event === 'control.renewed') {
      const until = Date.now() + (info.minutes ?? this.timeouts.controlGrantDefaultMinutes) * 60_000
      await u.sessions.setControlTime(current.id, new Date(until).toISOString(), new Date(until - CONTROL_EXPIRY_NOTICE_MS).toISOString())
      extra = { ...extra, until: new Date(until).toISOString() }
    }
    await this.event(u, current.id, event, ctx, {
      from: current.state,
      to: next,
      mode: modeOf(next),
      ...(requestId !== undefined && event.startsWith('control.') ? { requestId } : {}),
      ...(info.reason !== undefined ? { reason: info.reason } : {}),
      ...(info.checks !== undefined && (event === 'control.dropped' || event === 'session.terminated') ? { checks: info.checks } : {}),
      ...extra
    }, { row: current, rules: rulesOf(info.checks) })
  }

  private async event (
    u: Unit,
    sessionId: string,
    type: string,
    ctx: ActorContext,
    data: Record<string, unknown>,
    hook: {
      row?: SessionRow
      rules?: string[]
      /** The session's first event, in the unit that opened it: its consent chain is empty (nothing to read). */
      firstEvent?: true
    } = {}
  ): Promise<void> {
    const at = nowIso()
    await u.sessions.appendEvent(sessionId, type, ctx.actor, data, at)
    if (CONSENT_EVENT_TYPES.has(type)) {
      // The consent chain, in the same commit: its order is the session lock's (every consent event is written under it).
      const link = nextEntry(hook.firstEvent ? null : await u.sessions.lastConsentLink(sessionId) ?? null, {
        sessionId, type, at, actor: ctx.actor, data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>
      })
      await u.sessions.appendConsentLink(sessionId, { seq: link.entry.seq, entry: link.text, hash: link.hash })
    }
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

  /** The computer's resultant policy now (cached configuration), or null when the computer is gone. */
  private async policyOf (s: SessionRow, since?: Freshness): Promise<ResultantPolicy | null> {
    const computer = await this.store.repos.computers.get(s.computer_id, since)
    return computer ? (await this.policy.resultantFor(computer, since)).policy : null
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
    return visibleTo(await this.store.repos.sessions.get(id), id, principal)
  }

  /** The session as the API shows `viewer` it, with its control request and security events as committed. */
  view (r: SessionRow, viewer: Principal, memo: Map<string, PolicyView> = new Map(), since?: Freshness): Promise<Session> {
    return this.viewWith(this.store.repos, r, viewer, memo, since)
  }

  /** The view of a session just opened (the row `open` returned): it has no control request and no security event yet, so none is read. */
  viewOpened (r: SessionRow, viewer: Principal, since?: Freshness): Promise<Session> {
    return this.viewWith(null, r, viewer, new Map(), since)
  }

  /** The same, with the control request and security events read through `repos` (a unit's own, inside one). */
  private async viewWith (
    repos: Repositories | null,
    r: SessionRow,
    viewer: Principal,
    memo: Map<string, PolicyView> = new Map(),
    since?: Freshness
  ): Promise<Session> {
    let policy = memo.get(r.computer_id)
    if (policy === undefined) {
      // Cached configuration: read from the store's cache, inside a unit too.
      const resultant = await this.policyOf(r, since)
      policy = { messages: resultant?.customMessages.value ?? null, codeRequired: resultant?.verificationCode.value === 'required' }
      memo.set(r.computer_id, policy)
    }
    const messages = policy.messages
    // The verification code is the parties' to compare: no one else is shown it.
    const party = viewer.kind === 'user' && (viewer.accountId === r.novice_id || viewer.accountId === r.expert_id)
    // Not read when the row (from `get`) says there is none.
    const pending = repos === null || r.has_pending_request === 0 ? undefined : await repos.sessions.pendingRequest(r.id)
    const securityEvents = repos === null || r.has_security_events === 0 ? [] : await repos.sessions.securitySummary(r.id)
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
        acceptBy: r.state === 'awaiting-novice' ? r.accept_deadline : null,
        expertFromOtherDomain: nameKey(splitQualifiedName(r.expert_name).domain) !== nameKey(splitQualifiedName(r.novice_name).domain),
        firstTimeHelper: r.first_time_helper === 1
      },
      verification: {
        code: party ? verificationCode(await this.keys.verification.get(), r.id) : null,
        required: policy.codeRequired,
        mismatches: r.code_mismatches
      },
      control: r.state === 'in-control' && r.control_until !== null ? { until: r.control_until, moreTimeRequestedAt: r.more_time_requested_at } : null,
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

function reportOf (r: SecurityReportRow): SecurityReport {
  return {
    id: r.id,
    sessionId: r.session_id,
    computer: r.computer_name,
    novice: r.novice_name,
    expert: { name: r.expert_name, displayName: r.expert_display_name },
    words: r.words,
    reportedAt: r.created_at
  }
}

/** Session ids in the one order every unit that locks several sessions locks them in. */
/** `row`, if `principal` may see it: its novice or its expert, an administrator, an integration with sessions:read; otherwise not found. */
function visibleTo (row: SessionRow | undefined, id: string, principal: Principal): SessionRow {
  if (!row || (principal.kind === 'user' && row.novice_id !== principal.accountId && row.expert_id !== principal.accountId)) throw notFound('session', id)
  if (principal.kind === 'integration' && !principal.scopes.includes('sessions:read')) throw notFound('session', id)
  return row
}

function sortedIds (rows: Array<{ id: string }>): string[] {
  return rows.map((r) => r.id).sort(compareIds)
}

function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
