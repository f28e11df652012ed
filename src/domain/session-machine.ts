/**
 * The consent state machine of a session (SPEC.md C1–C5), as a pure function.
 *
 *   awaiting-novice ──accept──▶ active (view) ──request-control──▶ control-requested
 *        │ decline / expire        ▲   ▲                               │ grant      │ deny / timeout / stop
 *        ▼                         │   └──────────────── stop ─────── in-control ◀─┘
 *   declined / expired             └──────────────────────────────────────────────┘
 *   any live state ──end / terminate / report──▶ ended
 *   in-control ──(the granted time is up)──▶ active; renewing or asking for more time stays in control
 *
 * Each command names who may give it; anything else is refused with a code
 * and changes nothing.
 */

export const LIVE_STATES = ['awaiting-novice', 'active', 'control-requested', 'in-control'] as const
export type LiveState = (typeof LIVE_STATES)[number]
export type SessionStateName = LiveState | 'ended' | 'declined' | 'expired'
export type Role = 'novice' | 'expert' | 'admin' | 'system'
export type Mode = 'none' | 'view' | 'control'

export type Command =
  /** `codeMissing`: policy requires the verification code and none was typed (compare the code, issue 19). */
  | { type: 'accept', confirm: boolean, codeMissing?: boolean }
  | { type: 'decline' }
  | { type: 'request-control', permitted: boolean }
  | { type: 'grant', requestId: string, permitted: boolean }
  | { type: 'deny', requestId: string }
  | { type: 'stop-control' }
  /** The novice gives the expert more time in control (issue 19: control that runs out). */
  | { type: 'renew-control' }
  /** The expert asks the novice for more time in control. */
  | { type: 'ask-more-time' }
  | { type: 'end' }
  /** The novice reports that this is not who they expected: the session ends at once (issue 19). */
  | { type: 'report' }
  /** System: the novice did not answer in time (C1: no answer is a no). */
  | { type: 'expire' }
  /** System: a control request was not answered in time. */
  | { type: 'request-timeout' }
  /** System: the time the novice granted control for is up. */
  | { type: 'control-expire' }
  /** System: policy no longer permits control. */
  | { type: 'drop-control' }
  /** System: policy, account or token no longer allows the session. */
  | { type: 'terminate' }

export interface MachineState {
  state: SessionStateName
  pendingRequestId: string | null
}

export type MachineError =
  | 'SESSION_NOT_ACTIVE'
  | 'NOT_SESSION_NOVICE'
  | 'NOT_SESSION_EXPERT'
  | 'NOT_SESSION_PARTY'
  | 'CONFIRMATION_REQUIRED'
  | 'CONTROL_NOT_PERMITTED'
  | 'CONTROL_REQUEST_PENDING'
  | 'ALREADY_IN_CONTROL'
  | 'CONTROL_REQUEST_NOT_PENDING'
  | 'VERIFICATION_CODE_REQUIRED'
  | 'NOT_IN_CONTROL'

export type Outcome =
  | { ok: true, next: SessionStateName, event: string | null }
  | { ok: false, code: MachineError, message: string }

export function isLive (state: SessionStateName): state is LiveState {
  return (LIVE_STATES as readonly string[]).includes(state)
}

/** What the expert may do in each state: nothing is visible before acceptance (C1). */
export function modeOf (state: SessionStateName): Mode {
  switch (state) {
    case 'active':
    case 'control-requested': return 'view'
    case 'in-control': return 'control'
    default: return 'none'
  }
}

const refuse = (code: MachineError, message: string): Outcome => ({ ok: false, code, message })
const to = (next: SessionStateName, event: string | null): Outcome => ({ ok: true, next, event })

export function transition (s: MachineState, role: Role, cmd: Command): Outcome {
  const noviceOnly = (): Outcome | null => role === 'novice' ? null : refuse('NOT_SESSION_NOVICE', 'only the session\'s novice may do this')
  const notLive = (): Outcome | null => isLive(s.state) ? null : refuse('SESSION_NOT_ACTIVE', `the session is ${s.state}`)
  switch (cmd.type) {
    case 'accept':
    case 'decline': {
      const wrong = noviceOnly() ?? (s.state === 'awaiting-novice' ? null : refuse('SESSION_NOT_ACTIVE', `the session is ${s.state}, not awaiting the novice`))
      if (wrong) return wrong
      if (cmd.type === 'decline') return to('declined', 'session.declined')
      if (!cmd.confirm) return refuse('CONFIRMATION_REQUIRED', 'accepting needs an explicit "confirm": true (C1)')
      if (cmd.codeMissing === true) {
        return refuse('VERIFICATION_CODE_REQUIRED', 'policy requires the verification code: type the 6 digits your helper reads out to you')
      }
      return to('active', 'session.accepted')
    }
    case 'request-control': {
      if (role !== 'expert') return refuse('NOT_SESSION_EXPERT', 'only the session\'s expert may request control')
      if (s.state === 'control-requested') return refuse('CONTROL_REQUEST_PENDING', 'a control request is already waiting for the novice')
      if (s.state === 'in-control') return refuse('ALREADY_IN_CONTROL', 'the expert is already in control')
      if (s.state !== 'active') return refuse('SESSION_NOT_ACTIVE', `control can only be requested in an active session (C3); the session is ${s.state}`)
      if (!cmd.permitted) return refuse('CONTROL_NOT_PERMITTED', 'policy does not permit remote control of this computer')
      return to('control-requested', 'control.requested')
    }
    case 'grant':
    case 'deny': {
      const wrong = noviceOnly() ?? notLive()
      if (wrong) return wrong
      if (s.state !== 'control-requested' || s.pendingRequestId !== cmd.requestId) {
        return refuse('CONTROL_REQUEST_NOT_PENDING', 'that control request is not waiting for an answer')
      }
      if (cmd.type === 'deny') return to('active', 'control.denied')
      if (!cmd.permitted) return refuse('CONTROL_NOT_PERMITTED', 'policy does not permit remote control of this computer')
      return to('in-control', 'control.granted')
    }
    case 'stop-control': {
      const wrong = noviceOnly() ?? notLive()
      if (wrong) return wrong
      if (s.state === 'awaiting-novice') return refuse('SESSION_NOT_ACTIVE', 'the session has not been accepted')
      // C5: at any time, even while a request waits; already in view only, nothing changes.
      return s.state === 'active' ? to('active', null) : to('active', 'control.stopped')
    }
    case 'renew-control':
    case 'ask-more-time': {
      const expertOnly = role === 'expert' ? null : refuse('NOT_SESSION_EXPERT', 'only the session\'s expert may ask for more time')
      const wrong = (cmd.type === 'renew-control' ? noviceOnly() : expertOnly) ?? notLive()
      if (wrong) return wrong
      if (s.state !== 'in-control') return refuse('NOT_IN_CONTROL', 'the expert is not in control')
      return to('in-control', cmd.type === 'renew-control' ? 'control.renewed' : 'control.more-time-requested')
    }
    case 'report': {
      const wrong = noviceOnly() ?? notLive()
      if (wrong) return wrong
      return to('ended', 'session.ended')
    }
    case 'end': {
      if (role === 'system') return refuse('NOT_SESSION_PARTY', 'use terminate')
      const wrong = notLive()
      if (wrong) return wrong
      return to('ended', 'session.ended')
    }
    case 'expire':
      return s.state === 'awaiting-novice' ? to('expired', 'session.expired') : refuse('SESSION_NOT_ACTIVE', 'not awaiting the novice')
    case 'request-timeout':
      return s.state === 'control-requested' ? to('active', 'control.request-expired') : refuse('CONTROL_REQUEST_NOT_PENDING', 'no control request is waiting')
    case 'control-expire':
      return s.state === 'in-control' ? to('active', 'control.expired') : to(s.state, null)
    case 'drop-control':
      return s.state === 'in-control' || s.state === 'control-requested' ? to('active', 'control.dropped') : to(s.state, null)
    case 'terminate':
      return isLive(s.state) ? to('ended', 'session.terminated') : to(s.state, null)
  }
}
