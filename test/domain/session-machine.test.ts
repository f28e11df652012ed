import t from 'tap'
import { modeOf, transition, type Command, type MachineState, type Role } from '../../src/domain/session-machine.js'

const at = (state: MachineState['state'], pendingRequestId: string | null = null): MachineState => ({ state, pendingRequestId })
const ok = (s: MachineState, role: Role, cmd: Command) => {
  const o = transition(s, role, cmd)
  if (!o.ok) throw new Error(`${cmd.type} refused: ${o.code}`)
  return o
}
const code = (s: MachineState, role: Role, cmd: Command) => {
  const o = transition(s, role, cmd)
  return o.ok ? null : o.code
}

t.test('C1: a session starts awaiting the novice; nothing is visible until an explicit acceptance by the novice', async (t) => {
  t.equal(modeOf('awaiting-novice'), 'none')
  t.equal(code(at('awaiting-novice'), 'novice', { type: 'accept', confirm: false }), 'CONFIRMATION_REQUIRED')
  t.equal(code(at('awaiting-novice'), 'expert', { type: 'accept', confirm: true }), 'NOT_SESSION_NOVICE')
  t.equal(code(at('awaiting-novice'), 'admin', { type: 'accept', confirm: true }), 'NOT_SESSION_NOVICE')
  t.match(ok(at('awaiting-novice'), 'novice', { type: 'accept', confirm: true }), { next: 'active', event: 'session.accepted' })
  t.match(ok(at('awaiting-novice'), 'novice', { type: 'decline' }), { next: 'declined' })
  t.match(ok(at('awaiting-novice'), 'system', { type: 'expire' }), { next: 'expired', event: 'session.expired' })
  t.equal(code(at('active'), 'novice', { type: 'accept', confirm: true }), 'SESSION_NOT_ACTIVE', 'no second acceptance')
})

t.test('C2: an accepted session lets the expert view', async (t) => {
  t.equal(modeOf('active'), 'view')
  t.equal(modeOf('control-requested'), 'view')
})

t.test('C3: control is requested only by the expert, only in an active session, only when policy permits', async (t) => {
  t.equal(code(at('awaiting-novice'), 'expert', { type: 'request-control', permitted: true }), 'SESSION_NOT_ACTIVE')
  t.equal(code(at('active'), 'novice', { type: 'request-control', permitted: true }), 'NOT_SESSION_EXPERT')
  t.equal(code(at('active'), 'expert', { type: 'request-control', permitted: false }), 'CONTROL_NOT_PERMITTED')
  t.equal(code(at('control-requested', 'r1'), 'expert', { type: 'request-control', permitted: true }), 'CONTROL_REQUEST_PENDING')
  t.equal(code(at('in-control'), 'expert', { type: 'request-control', permitted: true }), 'ALREADY_IN_CONTROL')
  t.match(ok(at('active'), 'expert', { type: 'request-control', permitted: true }), { next: 'control-requested', event: 'control.requested' })
  for (const s of ['ended', 'declined', 'expired'] as const) {
    t.equal(code(at(s), 'expert', { type: 'request-control', permitted: true }), 'SESSION_NOT_ACTIVE', s)
  }
})

t.test('C4: control starts only when the novice grants the pending request', async (t) => {
  const pending = at('control-requested', 'r1')
  t.equal(code(pending, 'expert', { type: 'grant', requestId: 'r1', permitted: true }), 'NOT_SESSION_NOVICE')
  t.equal(code(pending, 'novice', { type: 'grant', requestId: 'other', permitted: true }), 'CONTROL_REQUEST_NOT_PENDING')
  t.equal(code(at('active'), 'novice', { type: 'grant', requestId: 'r1', permitted: true }), 'CONTROL_REQUEST_NOT_PENDING')
  t.equal(code(pending, 'novice', { type: 'grant', requestId: 'r1', permitted: false }), 'CONTROL_NOT_PERMITTED', 'policy re-checked at the grant')
  t.match(ok(pending, 'novice', { type: 'grant', requestId: 'r1', permitted: true }), { next: 'in-control', event: 'control.granted' })
  t.equal(modeOf('in-control'), 'control')
  t.match(ok(pending, 'novice', { type: 'deny', requestId: 'r1' }), { next: 'active', event: 'control.denied' })
  t.match(ok(pending, 'system', { type: 'request-timeout' }), { next: 'active', event: 'control.request-expired' })
})

t.test('C5: the novice stops control at any time, even while a request waits; either side ends the session', async (t) => {
  t.match(ok(at('in-control'), 'novice', { type: 'stop-control' }), { next: 'active', event: 'control.stopped' })
  t.match(ok(at('control-requested', 'r1'), 'novice', { type: 'stop-control' }), { next: 'active', event: 'control.stopped' })
  t.match(ok(at('active'), 'novice', { type: 'stop-control' }), { next: 'active', event: null }, 'already view only: nothing changes')
  t.equal(code(at('in-control'), 'expert', { type: 'stop-control' }), 'NOT_SESSION_NOVICE')
  for (const role of ['novice', 'expert', 'admin'] as const) {
    for (const s of ['awaiting-novice', 'active', 'control-requested', 'in-control'] as const) {
      t.match(ok(at(s, 'r1'), role, { type: 'end' }), { next: 'ended' }, `${role} ends from ${s}`)
    }
  }
  t.equal(code(at('ended'), 'novice', { type: 'end' }), 'SESSION_NOT_ACTIVE')
  t.match(ok(at('in-control'), 'system', { type: 'drop-control' }), { next: 'active', event: 'control.dropped' })
  t.match(ok(at('active'), 'system', { type: 'terminate' }), { next: 'ended', event: 'session.terminated' })
  t.match(ok(at('ended'), 'system', { type: 'terminate' }), { next: 'ended', event: null }, 'terminating twice changes nothing')
})

t.test('C1 compare the code: a required code that is missing refuses the accept, after who and when are checked', async (t) => {
  t.equal(code(at('awaiting-novice'), 'novice', { type: 'accept', confirm: true, codeMissing: true }), 'VERIFICATION_CODE_REQUIRED')
  t.equal(code(at('awaiting-novice'), 'expert', { type: 'accept', confirm: true, codeMissing: true }), 'NOT_SESSION_NOVICE')
  t.equal(code(at('awaiting-novice'), 'novice', { type: 'accept', confirm: false, codeMissing: true }), 'CONFIRMATION_REQUIRED')
  t.equal(code(at('active'), 'novice', { type: 'accept', confirm: true, codeMissing: true }), 'SESSION_NOT_ACTIVE')
  t.match(ok(at('awaiting-novice'), 'novice', { type: 'accept', confirm: true, codeMissing: false }), { next: 'active' })
})

t.test('C4/C5 control that runs out: renewing (novice) and asking for more time (expert) only in control; the end drops to view', async (t) => {
  t.match(ok(at('in-control'), 'novice', { type: 'renew-control' }), { next: 'in-control', event: 'control.renewed' })
  t.match(ok(at('in-control'), 'expert', { type: 'ask-more-time' }), { next: 'in-control', event: 'control.more-time-requested' })
  t.equal(code(at('in-control'), 'expert', { type: 'renew-control' }), 'NOT_SESSION_NOVICE')
  t.equal(code(at('in-control'), 'novice', { type: 'ask-more-time' }), 'NOT_SESSION_EXPERT')
  t.equal(code(at('in-control'), 'admin', { type: 'ask-more-time' }), 'NOT_SESSION_EXPERT')
  for (const s of ['active', 'control-requested', 'awaiting-novice'] as const) {
    t.equal(code(at(s, 'r1'), 'novice', { type: 'renew-control' }), 'NOT_IN_CONTROL', s)
    t.equal(code(at(s, 'r1'), 'expert', { type: 'ask-more-time' }), 'NOT_IN_CONTROL', s)
  }
  t.equal(code(at('ended'), 'novice', { type: 'renew-control' }), 'SESSION_NOT_ACTIVE')
  t.match(ok(at('in-control'), 'system', { type: 'control-expire' }), { next: 'active', event: 'control.expired' })
  for (const s of ['active', 'control-requested', 'ended'] as const) {
    t.match(ok(at(s, 'r1'), 'system', { type: 'control-expire' }), { next: s, event: null }, `${s}: nothing to expire`)
  }
})

t.test('C5 report: the novice, in any live state, ends the session; no one else reports', async (t) => {
  for (const s of ['awaiting-novice', 'active', 'control-requested', 'in-control'] as const) {
    t.match(ok(at(s, 'r1'), 'novice', { type: 'report' }), { next: 'ended', event: 'session.ended' }, s)
    t.equal(code(at(s, 'r1'), 'expert', { type: 'report' }), 'NOT_SESSION_NOVICE', s)
  }
  for (const s of ['ended', 'declined', 'expired'] as const) t.equal(code(at(s), 'novice', { type: 'report' }), 'SESSION_NOT_ACTIVE', s)
})

t.test('C4/C5: a grant or denial answers the pending request only; stopping needs an accepted session; the system does not "end"', async (t) => {
  for (const s of ['active', 'in-control'] as const) {
    t.equal(code(at(s, 'r1'), 'novice', { type: 'grant', requestId: 'r1', permitted: true }), 'CONTROL_REQUEST_NOT_PENDING', `${s}: nothing pending`)
    t.equal(code(at(s, 'r1'), 'novice', { type: 'deny', requestId: 'r1' }), 'CONTROL_REQUEST_NOT_PENDING', s)
  }
  t.equal(code(at('control-requested', 'r1'), 'novice', { type: 'grant', requestId: 'r2', permitted: true }), 'CONTROL_REQUEST_NOT_PENDING', 'another id')
  t.equal(code(at('awaiting-novice'), 'novice', { type: 'stop-control' }), 'SESSION_NOT_ACTIVE')
  t.match(ok(at('active'), 'novice', { type: 'stop-control' }), { next: 'active', event: null }, 'already viewing only: nothing to record')
  t.equal(code(at('active'), 'system', { type: 'end' }), 'NOT_SESSION_PARTY')
  for (const s of ['active', 'control-requested', 'in-control', 'ended'] as const) {
    t.equal(code(at(s, 'r1'), 'system', { type: 'expire' }), 'SESSION_NOT_ACTIVE', `expire: ${s}`)
  }
  for (const s of ['awaiting-novice', 'active', 'in-control', 'ended'] as const) {
    t.equal(code(at(s), 'system', { type: 'request-timeout' }), 'CONTROL_REQUEST_NOT_PENDING', `request-timeout: ${s}`)
  }
  t.match(ok(at('control-requested', 'r1'), 'system', { type: 'request-timeout' }), { next: 'active', event: 'control.request-expired' })
  for (const s of ['awaiting-novice', 'active', 'ended'] as const) {
    t.match(ok(at(s), 'system', { type: 'drop-control' }), { next: s, event: null }, `drop-control: ${s}`)
    t.match(ok(at(s), 'system', { type: 'terminate' }), s === 'ended' ? { next: 'ended', event: null } : { next: 'ended', event: 'session.terminated' })
  }
  t.match(ok(at('control-requested', 'r1'), 'system', { type: 'drop-control' }), { next: 'active', event: 'control.dropped' })
})

t.test('C1-C5: every refusal says in words who may act or what the session is waiting for, as the API passes it on', async (t) => {
  const refusal = (s: MachineState, role: Role, cmd: Command): string => {
    const o = transition(s, role, cmd)
    if (o.ok) throw new Error(`${cmd.type} was not refused`)
    return `${o.code}: ${o.message}`
  }
  const cases: Array<[MachineState, Role, Command, string]> = [
    [at('awaiting-novice'), 'expert', { type: 'decline' }, 'NOT_SESSION_NOVICE: only the session\'s novice may do this'],
    [at('ended'), 'novice', { type: 'decline' }, 'SESSION_NOT_ACTIVE: the session is ended, not awaiting the novice'],
    [at('awaiting-novice'), 'novice', { type: 'accept', confirm: false }, 'CONFIRMATION_REQUIRED: accepting needs an explicit "confirm": true (C1)'],
    [at('awaiting-novice'), 'novice', { type: 'accept', confirm: true, codeMissing: true },
      'VERIFICATION_CODE_REQUIRED: policy requires the verification code: type the 6 digits your helper reads out to you'],
    [at('active'), 'novice', { type: 'request-control', permitted: true }, 'NOT_SESSION_EXPERT: only the session\'s expert may request control'],
    [at('control-requested', 'r1'), 'expert', { type: 'request-control', permitted: true },
      'CONTROL_REQUEST_PENDING: a control request is already waiting for the novice'],
    [at('in-control'), 'expert', { type: 'request-control', permitted: true }, 'ALREADY_IN_CONTROL: the expert is already in control'],
    [at('declined'), 'expert', { type: 'request-control', permitted: true },
      'SESSION_NOT_ACTIVE: control can only be requested in an active session (C3); the session is declined'],
    [at('active'), 'expert', { type: 'request-control', permitted: false }, 'CONTROL_NOT_PERMITTED: policy does not permit remote control of this computer'],
    [at('active'), 'novice', { type: 'deny', requestId: 'r1' }, 'CONTROL_REQUEST_NOT_PENDING: that control request is not waiting for an answer'],
    [at('control-requested', 'r1'), 'novice', { type: 'grant', requestId: 'r1', permitted: false },
      'CONTROL_NOT_PERMITTED: policy does not permit remote control of this computer'],
    [at('expired'), 'novice', { type: 'grant', requestId: 'r1', permitted: true }, 'SESSION_NOT_ACTIVE: the session is expired'],
    [at('awaiting-novice'), 'novice', { type: 'stop-control' }, 'SESSION_NOT_ACTIVE: the session has not been accepted'],
    [at('in-control'), 'novice', { type: 'ask-more-time' }, 'NOT_SESSION_EXPERT: only the session\'s expert may ask for more time'],
    [at('active'), 'expert', { type: 'ask-more-time' }, 'NOT_IN_CONTROL: the expert is not in control'],
    [at('active'), 'system', { type: 'end' }, 'NOT_SESSION_PARTY: use terminate'],
    [at('active'), 'system', { type: 'expire' }, 'SESSION_NOT_ACTIVE: not awaiting the novice'],
    [at('active'), 'system', { type: 'request-timeout' }, 'CONTROL_REQUEST_NOT_PENDING: no control request is waiting']
  ]
  for (const [s, role, cmd, expected] of cases) t.equal(refusal(s, role, cmd), expected, `${role} ${cmd.type} in ${s.state}`)
  t.match(ok(at('awaiting-novice'), 'novice', { type: 'decline' }), { next: 'declined', event: 'session.declined' })
  t.match(ok(at('in-control'), 'expert', { type: 'end' }), { next: 'ended', event: 'session.ended' })
})
