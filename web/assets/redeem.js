// The e-mailed link, /redeem#ticket=…: the ticket is read from the fragment (it never reaches a server log),
// kept in this tab only until it is redeemed, and the invitation is shown before the expert connects.
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

function askForTicket (problem) {
  const input = el('input', { id: 'ticket-input', name: 'ticket', required: true, autocomplete: 'off', 'aria-describedby': 'ticket-help' })
  const form = el('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); const t = ticketFrom(input.value); if (t) start(t) } },
    el('label', { for: 'ticket-input' }, 'Invitation link or ticket'),
    input,
    el('p', { id: 'ticket-help', class: 'help' }, 'Open the link in the invitation e-mail, or paste it here.'),
    el('button', { type: 'submit' }, 'Continue'))
  show(problem ?? '', form)
  input.focus()
}

function refused (err) {
  const box = refusal(err)
  show(box, el('p', {}, el('a', { href: '/' }, 'Back to your sessions')))
  box.setAttribute('tabindex', '-1')
  box.focus()
}

async function start (ticket) {
  sessionStorage.setItem(KEY, ticket)
  show(el('p', {}, 'Reading the invitation…'))
  let preview
  try {
    preview = await api('POST', '/v1/redemptions/preview', { ticket })
  } catch (err) {
    if (['TICKET_MALFORMED', 'TICKET_SIGNATURE_INVALID', 'TICKET_CLAIMS_INVALID'].includes(err.code)) sessionStorage.removeItem(KEY)
    return refused(err)
  }
  showInvitation(ticket, preview)
}

function showInvitation (ticket, preview) {
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
      const session = await api('POST', '/v1/redemptions', { ticket, ...(password ? { password: password.value } : {}) })
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
      refused(err)
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
if (ticket) start(ticket)
else askForTicket()
// Another link opened in this tab while the page is open (a fragment change does not reload the page).
addEventListener('hashchange', () => {
  const next = ticketFromPage()
  if (next) start(next)
})
