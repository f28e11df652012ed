// A session, live, for both parties. The novice decides here: the consent prompt (C1), the control prompt (C4)
// and Stop control (C5, always visible while the expert is in control: one click, or the Escape key).
// Every event on the session's stream is shown in "What happened", and the view is read again after each one.
import { ApiError, api, clock, el, refusal, sentence, when } from './common.js'

const main = document.getElementById('main')
const root = document.getElementById('session')
const log = document.getElementById('log')
const id = main.dataset.sessionId
const me = main.dataset.me.toUpperCase()

let session = null
let busy = false
let lastFocusKey = null

const party = (p) => p.displayName ? `${p.displayName} (${p.name})` : p.name
const roleOf = (s) => s.novice.name.toUpperCase() === me ? 'novice' : s.expert.name.toUpperCase() === me ? 'expert' : 'observer'
const live = (s) => ['awaiting-novice', 'active', 'control-requested', 'in-control'].includes(s.state)

const EVENT_WORDS = {
  'session.created': (e) => e.origin === 'offer' ? 'The expert offered help.' : 'The expert redeemed the invitation.',
  'session.accepted': () => 'The novice accepted: the expert can see the screen.',
  'session.declined': () => 'The novice declined.',
  'session.expired': (e) => sentence(e.reason ?? 'the novice did not answer in time'),
  'session.ended': (e) => `The session was ended by ${e.actor}.`,
  'session.terminated': (e) => `The session was ended: ${e.reason ?? 'by the service'}.`,
  'control.requested': () => 'The expert asked for control.',
  'control.granted': () => 'The novice granted control.',
  'control.denied': (e) => e.reason ? `Control was not given: ${e.reason}.` : 'The novice denied control.',
  'control.request-expired': () => 'The control request expired: the novice did not answer in time.',
  'control.stopped': () => 'The novice stopped control: back to viewing only.',
  'control.dropped': (e) => `Control was taken away: ${e.reason ?? 'policy changed'}.`,
  'security.ticket-reused': (e) => `Security: someone (${e.expert ?? 'unknown'}) presented this invitation's ticket again.`
}

function addLog (type, data) {
  const words = (EVENT_WORDS[type] ?? (() => type))(data)
  const item = el('li', {}, el('time', { datetime: data.at }, new Date(data.at).toLocaleTimeString()), words)
  const failed = (data.checks ?? []).filter((c) => !c.passed)
  if (failed.length) item.append(el('ul', { class: 'checks' }, failed.map((c) => el('li', { class: 'failed' }, el('strong', {}, c.rule), ' ', c.detail))))
  log.append(item)
}

async function act (path, body) {
  if (busy) return
  busy = true
  try {
    session = await api('POST', `/v1/sessions/${id}${path}`, body)
    render()
  } catch (err) {
    await reload()
    showError(err)
  } finally {
    busy = false
  }
}

function showError (err) {
  const box = refusal(err instanceof ApiError ? err : new ApiError(0, { message: String(err) }))
  root.prepend(box)
}

function countdown (until, label) {
  const span = el('span', { class: 'countdown', role: 'timer', 'aria-label': label })
  const tick = () => { span.textContent = clock((new Date(until).getTime() - Date.now()) / 1000) }
  tick()
  timers.push(setInterval(tick, 1000))
  return span
}
let timers = []

function message (text) {
  return text ? el('blockquote', { class: 'message' }, text) : null
}

function render () {
  for (const t of timers) clearInterval(t)
  timers = []
  const s = session
  const role = roleOf(s)
  const other = role === 'novice' ? s.expert : s.novice
  const nodes = []
  let focus = null
  const header = el('p', {},
    role === 'novice' ? `Helper: ${party(s.expert)}` : role === 'expert' ? `Helping: ${party(s.novice)}` : `${party(s.expert)} helping ${party(s.novice)}`,
    ` · Computer ${s.computer}${s.externalRef ? ` · Helpdesk reference ${s.externalRef}` : ''} · `,
    el('span', { class: 'state', id: 'session-state' }, stateWords(s)))
  nodes.push(header)

  if (role === 'novice' && s.state === 'in-control') {
    const stop = el('button', { type: 'button', id: 'stop-control', 'aria-keyshortcuts': 'Escape', onclick: () => act('/control/stop') }, 'Stop control (Esc)')
    nodes.push(el('div', { class: 'stop-bar', role: 'region', 'aria-label': 'Control' },
      el('strong', {}, `${party(s.expert)} is controlling your computer.`), stop))
    focus = ['stop', stop]
  }

  if (s.state === 'awaiting-novice') {
    if (role === 'novice') {
      const accept = el('button', { type: 'button', id: 'accept', onclick: () => act('/accept', { confirm: true }) }, 'Accept')
      const decline = el('button', { type: 'button', id: 'decline', class: 'secondary', onclick: () => act('/decline') }, 'Decline')
      nodes.push(el('section', { class: 'prompt', role: 'region', 'aria-labelledby': 'consent-title' },
        el('h2', { id: 'consent-title' }, `${party(s.consent.expert)} wants to see your screen`),
        el('p', {}, s.consent.solicited
          ? 'You asked for help: this is the helper who opened your invitation. They will see your screen, not control it, until you allow control.'
          : 'You did not ask for this: this helper is offering help. Accept only if you expect them.'),
        el('dl', { class: 'facts' },
          el('dt', {}, 'Helper'), el('dd', { id: 'consent-expert' }, party(s.consent.expert)),
          el('dt', {}, 'Verified as'), el('dd', {}, `${s.consent.expert.name}, in your organisation's directory`),
          el('dt', {}, 'Asked by'), el('dd', {}, s.consent.solicited ? 'you (your invitation)' : 'the helper (an offer)'),
          ...(s.boundHelper
            ? [el('dt', {}, 'You named'), el('dd', { id: 'consent-bound' }, s.boundHelper.toUpperCase() === s.consent.expert.name.toUpperCase()
                ? `${s.boundHelper}: this is the helper you named`
                : `${s.boundHelper}: ${s.consent.expert.name} is a member, as your invitation asked`)]
            : [])),
        message(s.consent.messageBeforeConnecting),
        s.consent.acceptBy ? el('p', {}, 'This question expires in ', countdown(s.consent.acceptBy, 'time left to answer'), '; no answer is a no.') : null,
        el('div', { class: 'actions' }, accept, decline)))
      focus = ['consent', accept]
    } else {
      nodes.push(el('div', { class: 'panel' }, el('p', {}, `Waiting for ${party(other)} to accept you.`),
        s.consent.acceptBy ? el('p', {}, 'They have ', countdown(s.consent.acceptBy, 'time left for the novice'), ' to answer.') : null))
    }
  }

  if (s.state === 'active') {
    if (role === 'expert') {
      const can = s.permittedMode === 'control'
      const request = el('button', { type: 'button', id: 'request-control', disabled: !can, onclick: () => act('/control-requests') }, 'Request control')
      nodes.push(el('div', { class: 'panel' }, el('p', {}, `You can see the screen of ${s.computer}.`), el('div', { class: 'actions' }, request),
        can ? null : el('p', { class: 'help' }, 'Policy allows viewing only on this computer: control cannot be requested.')))
    } else {
      const words = role === 'novice' ? `${party(other)} can see your screen. They cannot control it unless you allow it.` : 'The expert sees the screen.'
      nodes.push(el('div', { class: 'panel' }, el('p', {}, words)))
    }
  }

  if (s.state === 'control-requested') {
    const req = s.controlRequest
    if (role === 'novice' && req) {
      const grant = el('button', { type: 'button', id: 'grant', onclick: () => act(`/control-requests/${req.id}/grant`) }, 'Grant control')
      const deny = el('button', { type: 'button', id: 'deny', class: 'secondary', onclick: () => act(`/control-requests/${req.id}/deny`) }, 'Deny')
      nodes.push(el('section', { class: 'prompt', role: 'region', 'aria-labelledby': 'control-title' },
        el('h2', { id: 'control-title' }, `${party(s.expert)} asks to control your computer`),
        el('p', {}, 'They could use your mouse and keyboard. You can stop control at any time with one click or the Escape key.'),
        message(s.consent.messageBeforeSharingControl),
        el('p', {}, 'This request expires in ', countdown(req.answerBy, 'time left to answer'), '; no answer is a no.'),
        el('div', { class: 'actions' }, grant, deny)))
      focus = ['control-' + req.id, grant]
    } else {
      nodes.push(el('div', { class: 'panel' }, el('p', {}, `Waiting for ${party(s.novice)} to answer the request for control.`)))
    }
  }

  if (s.state === 'in-control' && role !== 'novice') {
    const words = role === 'expert' ? 'You are in control. The novice can stop it at any time.' : 'The expert is in control.'
    nodes.push(el('div', { class: 'panel' }, el('p', {}, words)))
  }

  if (live(s)) {
    // Either party ends it, at any time (C5); so may the administrator.
    nodes.push(el('div', { class: 'actions' }, el('button', { type: 'button', id: 'end-session', class: 'danger', onclick: () => act('/end') }, 'End session')))
  } else {
    nodes.push(el('div', { class: 'panel', role: 'status' },
      el('h2', {}, s.state === 'declined' ? 'Declined' : s.state === 'expired' ? 'Expired' : 'The session has ended'),
      s.endReason ? el('p', { id: 'end-reason' }, sentence(s.endReason)) : null,
      s.endedAt ? el('p', { class: 'help' }, `At ${when(s.endedAt)}.`) : null,
      el('p', {}, el('a', { href: '/' }, 'Back to your sessions'))))
  }

  // Focus moves to a new prompt (or to Stop control) once, when it appears; a refresh keeps it where the person put it.
  const focused = root.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : null
  root.replaceChildren(...nodes)
  if (focus && focus[0] !== lastFocusKey) focus[1].focus()
  else if (focused) document.getElementById(focused)?.focus()
  lastFocusKey = focus ? focus[0] : null
}

function stateWords (s) {
  return {
    'awaiting-novice': 'waiting for the novice',
    active: 'connected (viewing)',
    'control-requested': 'control requested',
    'in-control': 'in control',
    ended: 'ended',
    declined: 'declined',
    expired: 'expired'
  }[s.state]
}

async function reload () {
  try {
    session = await api('GET', `/v1/sessions/${id}`)
    render()
  } catch (err) {
    root.replaceChildren(refusal(err), el('p', {}, el('a', { href: '/' }, 'Back to your sessions')))
  }
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && session && session.state === 'in-control' && roleOf(session) === 'novice') {
    e.preventDefault()
    act('/control/stop')
  }
})

await reload()
if (session) {
  const stream = new EventSource(`/v1/sessions/${id}/events`)
  for (const type of Object.keys(EVENT_WORDS)) {
    stream.addEventListener(type, (e) => {
      addLog(type, JSON.parse(e.data))
      reload()
    })
  }
  stream.addEventListener('error', () => {
    // The stream closes when the session ends; otherwise EventSource reconnects by itself (with Last-Event-ID).
    if (session && !live(session)) stream.close()
  })
}
