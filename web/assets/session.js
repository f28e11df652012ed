// A session, live, for both parties. The novice decides here: the consent prompt (C1), where the code the helper
// reads out is compared, the control prompt (C4) with how long control lasts, and Stop control (C5, always visible
// while the expert is in control: one click, or the Escape key). In any live state the novice can report that this
// is not who they expected, which ends the session at once.
// Every event on the session's stream is shown in "What happened", and the view is read again after each one.
import { ApiError, api, clock, el, refusal, sentence, when } from './common.js'

const main = document.getElementById('main')
const root = document.getElementById('session')
const errorArea = document.getElementById('session-error')
const log = document.getElementById('log')
const id = main.dataset.sessionId
const me = main.dataset.me.toUpperCase()

let session = null
let busy = false
let lastFocusKey = null
/** The state the shown refusal was made in: it goes when the session moves on, or with the next action. */
let errorState = null

const party = (p) => p.displayName ? `${p.displayName} (${p.name})` : p.name
const roleOf = (s) => s.novice.name.toUpperCase() === me ? 'novice' : s.expert.name.toUpperCase() === me ? 'expert' : 'observer'
const live = (s) => ['awaiting-novice', 'active', 'control-requested', 'in-control'].includes(s.state)
const domainOf = (name) => name.includes('\\') ? name.slice(0, name.indexOf('\\')).toUpperCase() : ''
/** As read out: `123 456`. */
const spaced = (code) => `${code.slice(0, 3)} ${code.slice(3)}`
/** A time of day to the minute, as people read it: control lasts minutes or hours, seconds would only be noise. */
const hm = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
const timeOf = (iso) => el('time', { datetime: iso }, hm(iso))
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`

/** How long the novice may grant control for, in minutes; the service's default is 30 (it refuses more than its maximum). */
const DURATIONS = [[15, '15 minutes'], [30, '30 minutes'], [60, '1 hour'], [120, '2 hours']]
const DEFAULT_MINUTES = 30

const EVENT_WORDS = {
  'session.created': (e) => e.origin === 'offer' ? 'The expert offered help.' : 'The expert redeemed the invitation.',
  'session.accepted': () => 'The novice accepted: the expert can see the screen.',
  'session.declined': () => 'The novice declined.',
  'session.expired': (e) => sentence(e.reason ?? 'the novice did not answer in time'),
  'session.ended': (e) => `The session was ended by ${e.actor}.`,
  'session.terminated': (e) => `The session was ended: ${e.reason ?? 'by the service'}.`,
  'control.requested': () => 'The expert asked for control.',
  'control.granted': (e) => e.minutes && e.until
    ? `The novice granted control for ${plural(e.minutes, 'minute')}, until ${hm(e.until)}.`
    : 'The novice granted control.',
  'control.denied': (e) => e.reason ? `Control was not given: ${e.reason}.` : 'The novice denied control.',
  'control.request-expired': () => 'The control request expired: the novice did not answer in time.',
  'control.stopped': () => 'The novice stopped control: back to viewing only.',
  'control.dropped': (e) => `Control was taken away: ${e.reason ?? 'policy changed'}.`,
  'control.expiring': (e) => e.until ? `Control ends in a minute, at ${hm(e.until)}.` : 'Control ends in a minute.',
  'control.expired': () => 'The time granted for control is up: back to viewing only.',
  'control.renewed': (e) => e.minutes && e.until
    ? `The novice gave more time: control for ${plural(e.minutes, 'minute')} more, until ${hm(e.until)}.`
    : 'The novice gave more time in control.',
  'control.more-time-requested': () => 'The expert asked for more time in control.',
  'security.ticket-reused': (e) => `Security: someone (${e.expert ?? 'unknown'}) presented this invitation's ticket again.`,
  'security.code-mismatch': (e) => `Security: a wrong verification code was typed (${e.attempt ?? '?'} of ${e.allowed ?? 3} allowed)` +
    (e.sessionEnds ? ': the session ends.' : '.'),
  // The words themselves stay with the administrators: the expert reported on is not shown them.
  'security.reported': () => 'Security: the novice reported that this is not who they expected. The report went to the administrators.'
}

// The fields are made once and moved into each render: the view is rebuilt after every event, and what the person
// typed, where their cursor was, and what they chose must survive that.
const codeInput = el('input', {
  id: 'verification-code',
  name: 'verificationCode',
  type: 'text',
  inputmode: 'numeric',
  autocomplete: 'off',
  spellcheck: 'false',
  maxlength: '11',
  class: 'code-input verification-input'
})
const minutesSelect = el('select', { id: 'control-minutes', name: 'minutes' },
  DURATIONS.map(([value, label]) => el('option', { value, selected: value === DEFAULT_MINUTES }, label)))
const reportWords = el('textarea', { id: 'report-words', name: 'words', required: true, maxlength: '2000', rows: '4', 'aria-describedby': 'report-help' })

/** What the page knows besides the view: the novice's open disclosures, field errors, what control was last given for. */
const ui = {
  /** The code field was refused by the service (wrong or missing code): marked invalid until it is changed. */
  codeInvalid: false,
  /** A code that cannot be one (not six digits), said next to the field without asking the service (it would count as wrong). */
  codeError: null,
  showMyCode: false,
  reportOpen: false,
  reportError: null,
  /** The novice sent a report from this page (the view says so too, through its security events). */
  reported: false,
  /** How long the novice chose to grant control for (the select, or the grant's event): "Give more time" gives as much again. */
  minutes: DEFAULT_MINUTES,
  /** The end of control the service last announced (control.expiring): while it still is the end, more time is urgent. */
  expiringUntil: null
}

codeInput.addEventListener('input', () => {
  if (ui.codeInvalid || ui.codeError) {
    ui.codeInvalid = false
    ui.codeError = null
    render()
  }
})
minutesSelect.addEventListener('change', () => { ui.minutes = Number(minutesSelect.value) })
reportWords.addEventListener('input', () => {
  if (ui.reportError) {
    ui.reportError = null
    render()
  }
})

function addLog (type, data) {
  const words = (EVENT_WORDS[type] ?? (() => type))(data)
  const item = el('li', {}, el('time', { datetime: data.at }, new Date(data.at).toLocaleTimeString()), words)
  const failed = (data.checks ?? []).filter((c) => !c.passed)
  if (failed.length) item.append(el('ul', { class: 'checks' }, failed.map((c) => el('li', { class: 'failed' }, el('strong', {}, c.rule), ' ', c.detail))))
  log.append(item)
}

/** Sends a command; the answer is the new view. `after.ok` adjusts the page's own state before it is drawn, `after.failed` once the refusal is shown. */
async function act (path, body, after = {}) {
  if (busy) return
  busy = true
  clearError()
  try {
    session = await api('POST', `/v1/sessions/${id}${path}`, body)
    after.ok?.()
    render()
  } catch (err) {
    const failure = err instanceof ApiError ? err : new ApiError(0, { message: String(err) })
    await reload()
    showError(failure)
    after.failed?.(failure)
  } finally {
    busy = false
  }
}

function showError (err) {
  errorArea.replaceChildren(refusal(err))
  errorState = session?.state ?? null
}

function clearError () {
  errorArea.replaceChildren()
  errorState = null
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

/** Accept, with the code the novice typed: checked here for its form (a typo is not a wrong code), then by the service. */
function acceptWithCode () {
  const typed = codeInput.value.trim()
  const digits = typed.replace(/[\s-]/g, '')
  if (typed !== '' && !/^[0-9]{6}$/.test(digits)) {
    ui.codeError = 'The code has 6 digits: type the ones your helper reads out to you.'
    render()
    codeInput.focus()
    return
  }
  act('/accept', digits ? { confirm: true, verificationCode: digits } : { confirm: true }, {
    failed: (err) => {
      if (!err.code.startsWith('VERIFICATION_CODE_')) return
      // The third wrong code ends the session: then there is no field left to correct.
      ui.codeInvalid = true
      render()
      if (codeInput.isConnected) {
        codeInput.focus()
        codeInput.select()
      }
    }
  })
}

function consentPrompt (s) {
  const v = s.verification
  const cautions = [
    s.consent.expertFromOtherDomain ? `This helper is from another domain (${domainOf(s.consent.expert.name)}), not yours (${domainOf(s.novice.name)}).` : null,
    s.consent.firstTimeHelper ? 'This helper has never helped you before.' : null
  ].filter(Boolean)

  codeInput.required = v.required
  const invalid = ui.codeInvalid || ui.codeError !== null
  if (invalid) codeInput.setAttribute('aria-invalid', 'true')
  else codeInput.removeAttribute('aria-invalid')
  const describedBy = ['verification-code-help', ui.codeError ? 'verification-code-error' : null, ui.codeInvalid ? 'session-error' : null]
  codeInput.setAttribute('aria-describedby', describedBy.filter(Boolean).join(' '))

  const showMine = v.code
    ? el('button', {
      type: 'button',
      id: 'show-my-code',
      class: 'secondary',
      'aria-expanded': String(ui.showMyCode),
      'aria-controls': 'my-code',
      onclick: () => { ui.showMyCode = !ui.showMyCode; render() }
    }, ui.showMyCode ? 'Hide my code' : 'Show my code to read it to them')
    : null
  const acceptButton = el('button', { type: 'submit', id: 'accept' }, 'Accept')
  const decline = el('button', { type: 'button', id: 'decline', class: 'secondary', onclick: () => act('/decline') }, 'Decline')
  const region = { class: 'prompt', role: 'region', 'aria-labelledby': 'consent-title', 'aria-describedby': cautions.length ? 'consent-cautions' : null }
  const prompt = el('section', region,
    el('h2', { id: 'consent-title' }, `${party(s.consent.expert)} wants to see your screen`),
    el('p', {}, s.consent.solicited
      ? 'You asked for help: this is the helper who opened your invitation. They will see your screen, not control it, until you allow control.'
      : 'You did not ask for this: this helper is offering help. Accept only if you expect them.'),
    cautions.length ? el('ul', { class: 'cautions', id: 'consent-cautions' }, cautions.map((c) => el('li', {}, c))) : null,
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
    el('form', { class: 'stack', novalidate: true, onsubmit: (e) => { e.preventDefault(); acceptWithCode() } },
      el('label', { for: 'verification-code' }, 'Code your helper reads out to you', v.required ? '' : ' (optional)'),
      codeInput,
      ui.codeError ? el('p', { id: 'verification-code-error', class: 'field-error' }, ui.codeError) : null,
      el('p', { id: 'verification-code-help', class: 'help' }, v.required
        ? 'Six digits, on your helper\'s screen: your organisation requires them. If the code they read out is refused, this may not be your helper.'
        : 'Six digits, on your helper\'s screen: typing them checks that the helper you are talking to is the one connecting.'),
      showMine ? el('div', {}, showMine) : null,
      v.code && ui.showMyCode
        ? el('div', { id: 'my-code', class: 'verification' },
          el('p', {}, 'Your code: ', el('strong', { class: 'verification-code' }, spaced(v.code))),
          el('p', { class: 'help' }, 'Read it to your helper: it must be the one on their screen.'))
        : null,
      s.consent.acceptBy ? el('p', {}, 'This question expires in ', countdown(s.consent.acceptBy, 'time left to answer'), '; no answer is a no.') : null,
      el('div', { class: 'actions' }, acceptButton, decline)))
  return { prompt, focus: codeInput }
}

function controlPrompt (s, req) {
  const grant = el('button', {
    type: 'button',
    id: 'grant',
    onclick: () => {
      ui.minutes = Number(minutesSelect.value)
      act(`/control-requests/${req.id}/grant`, { minutes: ui.minutes })
    }
  }, 'Grant control')
  const deny = el('button', { type: 'button', id: 'deny', class: 'secondary', onclick: () => act(`/control-requests/${req.id}/deny`) }, 'Deny')
  const prompt = el('section', { class: 'prompt', role: 'region', 'aria-labelledby': 'control-title' },
    el('h2', { id: 'control-title' }, `${party(s.expert)} asks to control your computer`),
    el('p', {}, 'They could use your mouse and keyboard. You can stop control at any time with one click or the Escape key.'),
    message(s.consent.messageBeforeSharingControl),
    el('div', { class: 'stack' },
      el('label', { for: 'control-minutes' }, 'For how long'),
      minutesSelect,
      el('p', { class: 'help', id: 'control-minutes-help' }, 'Then control ends by itself; you can give more time, or stop it sooner.')),
    el('p', {}, 'This request expires in ', countdown(req.answerBy, 'time left to answer'), '; no answer is a no.'),
    el('div', { class: 'actions' }, grant, deny))
  minutesSelect.setAttribute('aria-describedby', 'control-minutes-help')
  return { prompt, focus: grant }
}

/** Control that runs out: until when, for both; "Give more time" for the novice, "Ask for more time" for the expert. */
function controlTime (s, role) {
  const c = s.control
  if (!c) return null
  const until = el('p', { id: 'control-until' }, el('strong', {}, 'Control until ', timeOf(c.until)), '.')
  // Urgent once the expert asked, or the service announced the end (or the end is a minute away when this is drawn).
  const expiring = ui.expiringUntil === c.until || new Date(c.until).getTime() - Date.now() <= 60_000
  if (role === 'novice') {
    const urgent = c.moreTimeRequestedAt !== null || expiring
    const give = el('button', {
      type: 'button',
      id: 'give-more-time',
      class: urgent ? null : 'secondary',
      'aria-describedby': 'give-more-time-help',
      onclick: () => act('/control/renew', { minutes: ui.minutes })
    }, 'Give more time')
    return el('div', { class: urgent ? 'panel attention' : 'panel', role: 'region', 'aria-label': 'Time in control' },
      until,
      c.moreTimeRequestedAt
        ? el('p', { id: 'more-time-asked' }, el('strong', {}, `${party(s.expert)} asks for more time`), ` (at ${hm(c.moreTimeRequestedAt)}).`)
        : null,
      expiring ? el('p', { id: 'control-expiring' }, el('strong', {}, 'Control ends in a minute.')) : null,
      el('div', { class: 'actions' }, give),
      el('p', { class: 'help', id: 'give-more-time-help' }, `Control then lasts ${plural(ui.minutes, 'minute')} from now.`))
  }
  const words = role === 'expert' ? 'You are in control. The novice can stop it at any time.' : 'The expert is in control.'
  const ask = role === 'expert'
    ? el('button', { type: 'button', id: 'ask-more-time', class: expiring ? null : 'secondary', onclick: () => act('/control/more-time') }, 'Ask for more time')
    : null
  return el('div', { class: expiring ? 'panel attention' : 'panel' },
    until, el('p', {}, words),
    expiring ? el('p', { id: 'control-expiring' }, el('strong', {}, 'Control ends in a minute.')) : null,
    c.moreTimeRequestedAt && role === 'expert'
      ? el('p', { id: 'more-time-asked' }, `You asked for more time at ${hm(c.moreTimeRequestedAt)}: waiting for ${party(s.novice)}.`)
      : null,
    ask ? el('div', { class: 'actions' }, ask) : null)
}

/** The novice's "This isn't who I expected": a short form that reports the expert to the administrators and ends the session. */
function reportForm () {
  reportWords.setAttribute('aria-describedby', ui.reportError ? 'report-help report-error' : 'report-help')
  if (ui.reportError) reportWords.setAttribute('aria-invalid', 'true')
  else reportWords.removeAttribute('aria-invalid')
  const send = (e) => {
    e.preventDefault()
    const words = reportWords.value.trim()
    if (!words) {
      ui.reportError = 'Say in a few words what happened: it helps the administrators.'
      render()
      reportWords.focus()
      return
    }
    act('/report', { words }, { ok: () => { ui.reported = true; ui.reportOpen = false } })
  }
  const cancel = () => {
    ui.reportOpen = false
    render()
    document.getElementById('report-open')?.focus()
  }
  return el('form', { id: 'report-form', class: 'report stack', 'aria-labelledby': 'report-title', novalidate: true, onsubmit: send },
    el('h2', { id: 'report-title' }, 'Report this helper'),
    el('p', { id: 'report-help', class: 'help' },
      'The session ends at once, and your report goes to your administrators. Up to 2000 characters.'),
    el('label', { for: 'report-words' }, 'What happened?'),
    reportWords,
    ui.reportError ? el('p', { id: 'report-error', class: 'field-error' }, ui.reportError) : null,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', id: 'send-report', class: 'danger' }, 'Report and end the session'),
      el('button', { type: 'button', id: 'cancel-report', class: 'secondary', onclick: cancel }, 'Cancel')))
}

function render () {
  for (const t of timers) clearInterval(t)
  timers = []
  const s = session
  const role = roleOf(s)
  const other = role === 'novice' ? s.expert : s.novice
  if (errorState !== null && errorState !== s.state) clearError()
  // Read before anything is drawn: the kept fields leave the page (and lose the focus) as soon as they join the new view.
  const focused = root.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : null
  const nodes = []
  let focus = null
  let fallback = null
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
      const { prompt, focus: first } = consentPrompt(s)
      nodes.push(prompt)
      focus = ['consent', first]
    } else {
      const v = s.verification
      // The expert reads the code out; the novice types it (or reads theirs back): someone else with the ticket has another.
      nodes.push(el('div', { class: 'panel' },
        v.code
          ? el('div', { class: 'verification', role: 'group', 'aria-labelledby': 'read-code' },
            el('p', { id: 'read-code' }, `Read this code to ${party(other)}: `, el('strong', { class: 'verification-code' }, spaced(v.code))),
            el('p', { class: 'help' }, v.required
              ? 'They must type it to accept you: their organisation requires it. It is the same on their screen.'
              : 'They can type it, or read theirs to you, to check that you are the helper they are talking to.'))
          : null,
        v.mismatches > 0
          ? el('p', { class: 'attention', id: 'code-mismatches' }, `A wrong code was typed ${plural(v.mismatches, 'time')} (the third ends the session).`)
          : null,
        el('p', {}, `Waiting for ${party(other)} to accept you.`),
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
      const { prompt, focus: first } = controlPrompt(s, req)
      nodes.push(prompt)
      focus = ['control-' + req.id, first]
    } else {
      nodes.push(el('div', { class: 'panel' }, el('p', {}, `Waiting for ${party(s.novice)} to answer the request for control.`)))
    }
  }

  if (s.state === 'in-control') {
    nodes.push(controlTime(s, role) ??
      el('div', { class: 'panel' }, el('p', {}, role === 'expert' ? 'You are in control. The novice can stop it at any time.' : 'The expert is in control.')))
  }

  if (live(s)) {
    // Either party ends it, at any time (C5); so may the administrator.
    const end = el('button', { type: 'button', id: 'end-session', class: 'danger', onclick: () => act('/end') }, 'End session')
    const report = role === 'novice'
      ? el('button', {
        type: 'button',
        id: 'report-open',
        class: 'secondary',
        'aria-expanded': String(ui.reportOpen),
        'aria-controls': 'report-form',
        onclick: () => {
          ui.reportOpen = !ui.reportOpen
          render()
          if (ui.reportOpen) reportWords.focus()
        }
      }, 'This isn\'t who I expected')
      : null
    nodes.push(el('div', { class: 'actions' }, end, report))
    if (report && ui.reportOpen) nodes.push(reportForm())
  } else {
    const reported = ui.reported || s.securityEvents.some((e) => e.kind === 'reported')
    const title = s.state === 'declined' ? 'Declined' : s.state === 'expired' ? 'Expired' : 'The session has ended'
    const heading = el('h2', { id: 'ended-title', tabindex: '-1' }, title)
    nodes.push(el('div', { class: 'panel', role: 'status' },
      heading,
      s.endReason ? el('p', { id: 'end-reason' }, sentence(s.endReason)) : null,
      reported
        ? el('p', { id: 'report-sent' }, role === 'novice'
          ? 'Your report went to the administrators. They can see who connected, from which account, and what you wrote.'
          : 'The novice\'s report went to the administrators.')
        : null,
      s.endedAt ? el('p', { class: 'help' }, `At ${when(s.endedAt)}.`) : null,
      el('p', {}, el('a', { href: '/' }, 'Back to your sessions'))))
    // Whoever ended it from this page keeps their place: the focus goes to what happened, not to the top of the page.
    fallback = heading
  }

  // Focus moves to a new prompt (or to Stop control) once, when it appears; a refresh keeps it where the person put it.
  root.replaceChildren(...nodes)
  if (focus && focus[0] !== lastFocusKey) focus[1].focus()
  else if (focused) (document.getElementById(focused) ?? fallback)?.focus()
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
      const data = JSON.parse(e.data)
      // The stream replays the whole session on opening: what the novice chose when granting control (a renewal gives as
      // much again, whatever a client renewed with), and whether the end of control was announced.
      if (type === 'control.granted' && Number.isInteger(data.minutes)) ui.minutes = data.minutes
      if (type === 'control.expiring' && data.until) ui.expiringUntil = data.until
      addLog(type, data)
      reload()
    })
  }
  stream.addEventListener('error', () => {
    // The stream closes when the session ends; otherwise EventSource reconnects by itself (with Last-Event-ID).
    if (session && !live(session)) stream.close()
  })
}
