// The e-mailed link, /redeem#ticket=…: the ticket is read from the fragment (it never reaches a server log),
// kept in this tab only until it is redeemed, and the invitation is shown before the expert connects. Without a
// link the expert pastes it, or types the short code the novice read out to them (issue 19); a code is not kept.
import { api, clock, el, refusal, sentence, when } from './common.js'

const root = document.getElementById('redeem')
const KEY = 'ra-redeem-ticket'

function ticketFromPage () {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('ticket')
  if (fromHash) {
    sessionStorage.setItem(KEY, fromHash)
    history.replaceState(null, '', location.pathname)
    return fromHash
  }
  return sessionStorage.getItem(KEY)
}

/** A ticket pasted by hand: the whole link, or the ticket alone. */
function ticketFrom (text) {
  const t = text.trim()
  const i = t.indexOf('#ticket=')
  return i >= 0 ? new URLSearchParams(t.slice(i + 1)).get('ticket') : t
}

function show (...nodes) {
  root.replaceChildren(...nodes)
}

/** Refusals of the code itself: said above the code field, with what was typed kept there to correct or retype. */
const CODE_REFUSALS = ['CODE_INVALID', 'CODE_EXPIRED', 'CODE_GUESSES_EXCEEDED']

/** No link: paste it, or type the code. `problem`, a refusal of `typedCode`, is shown above the forms. */
function askForTicket (problem, typedCode) {
  const input = el('input', { id: 'ticket-input', name: 'ticket', required: true, autocomplete: 'off', 'aria-describedby': 'ticket-help' })
  const form = el('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); const t = ticketFrom(input.value); if (t) start({ ticket: t }) } },
    el('label', { for: 'ticket-input' }, 'Invitation link or ticket'),
    input,
    el('p', { id: 'ticket-help', class: 'help' }, 'Open the link in the invitation e-mail, or paste it here.'),
    el('button', { type: 'submit' }, 'Continue'))
  if (problem) problem.id = 'code-problem'
  // Checked by the service, which ignores case, spaces and dashes: the page sends what was typed.
  const code = el('input', {
    id: 'code-input',
    name: 'code',
    class: 'code-input',
    required: true,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: 64,
    'aria-describedby': problem ? 'code-problem code-help' : 'code-help',
    'aria-invalid': problem ? 'true' : null
  })
  const codeForm = el('form', { class: 'stack alternative', onsubmit: (e) => { e.preventDefault(); const c = code.value.trim(); if (c) start({ code: c }) } },
    el('label', { for: 'code-input' }, 'Or type the code they read to you'),
    code,
    el('p', { id: 'code-help', class: 'help' },
      '12 letters and digits, as XXXX-XXXX-XXXX: capitals, spaces and dashes do not matter. A code works for 30 minutes at most.'),
    el('button', { type: 'submit', id: 'code-continue' }, 'Continue with the code'))
  show(problem ?? '', form, codeForm)
  if (typedCode === undefined) return input.focus()
  code.value = typedCode
  code.focus()
  code.select()
}

function refused (err, credential) {
  const box = refusal(err)
  show(box, el('p', { class: 'actions' },
    credential?.code !== undefined ? el('a', { href: '/redeem' }, 'Type another code') : null,
    el('a', { href: '/' }, 'Back to your sessions')))
  box.setAttribute('tabindex', '-1')
  box.focus()
}

/** `{ ticket }` (kept in this tab until redeemed) or `{ code }`: previewed, then shown. */
async function start (credential) {
  if (credential.ticket !== undefined) sessionStorage.setItem(KEY, credential.ticket)
  show(el('p', {}, 'Reading the invitation…'))
  let preview
  try {
    preview = await api('POST', '/v1/redemptions/preview', credential)
  } catch (err) {
    if (['TICKET_MALFORMED', 'TICKET_SIGNATURE_INVALID', 'TICKET_CLAIMS_INVALID'].includes(err.code)) sessionStorage.removeItem(KEY)
    if (credential.code !== undefined && CODE_REFUSALS.includes(err.code)) return askForTicket(refusal(err), credential.code)
    return refused(err, credential)
  }
  showInvitation(credential, preview)
}

function showInvitation (credential, preview) {
  const who = preview.novice.displayName ? `${preview.novice.displayName} (${preview.novice.name})` : preview.novice.name
  const left = el('span', { class: 'countdown' })
  const tick = () => {
    const s = (new Date(preview.expiresAt).getTime() - Date.now()) / 1000
    left.textContent = s > 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : clock(s)
  }
  tick()
  setInterval(tick, 1000)
  const status = el('div', { id: 'redeem-status', 'aria-live': 'assertive' })
  const password = preview.passwordProtected
    ? el('input', {
      id: 'password', name: 'password', type: 'password', autocomplete: 'off', required: true, maxlength: 256, 'aria-describedby': 'password-help'
    })
    : null
  const button = el('button', { type: 'submit', id: 'connect' }, 'Connect')
  const form = el('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); redeem() } },
    password
      ? [el('label', { for: 'password' }, 'Invitation password'), password,
          el('p', { id: 'password-help', class: 'help' },
            `${preview.novice.name} gave the password separately (by phone, say). Too many wrong tries lock the invitation.`)]
      : null,
    button)

  async function redeem () {
    button.disabled = true
    status.replaceChildren(el('p', {}, 'Connecting…'))
    try {
      const session = await api('POST', '/v1/redemptions', { ...credential, ...(password ? { password: password.value } : {}) })
      sessionStorage.removeItem(KEY)
      location.assign(`/sessions/${session.id}`)
    } catch (err) {
      if (err.code === 'PASSWORD_INCORRECT' || err.code === 'PASSWORD_REQUIRED' || err.code === 'RATE_LIMITED') {
        status.replaceChildren(refusal(err))
        button.disabled = false
        password?.select()
        password?.focus()
        return
      }
      if (err.code !== 'SIGN_IN_EXPIRED') sessionStorage.removeItem(KEY)
      // The code ran out (or its budget did) since the preview: another one can be typed.
      if (credential.code !== undefined && CODE_REFUSALS.includes(err.code)) return askForTicket(refusal(err), credential.code)
      refused(err, credential)
    }
  }

  show(
    el('div', { class: 'panel' },
      el('h2', {}, `${who} asked for help`),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Computer'), el('dd', { id: 'invitation-computer' }, preview.computer),
        preview.externalRef ? [el('dt', {}, 'Helpdesk reference'), el('dd', { id: 'invitation-ref' }, preview.externalRef)] : null,
        el('dt', {}, 'You may'), el('dd', {}, preview.mode === 'control' ? 'view the screen, and ask for control' : 'view the screen only'),
        el('dt', {}, 'Valid until'), el('dd', {}, el('time', { datetime: preview.expiresAt }, when(preview.expiresAt)), ' (', left, ' left)'))),
    el('p', {}, sentence(`${preview.novice.name} will be asked to accept you before anything is shared`)),
    form,
    status)
  ;(password ?? button).focus()
}

const ticket = ticketFromPage()
if (ticket) start({ ticket })
else askForTicket()
// Another link opened in this tab while the page is open (a fragment change does not reload the page).
addEventListener('hashchange', () => {
  const next = ticketFromPage()
  if (next) start({ ticket: next })
})
