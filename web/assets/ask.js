// Ask for help: one of the computers the novice sits at, a lifetime within the policy's maximum ticket time
// (S3, shown with where it comes from), an optional password; then send the invitation by e-mail, open it in
// one's own mail program (Mailto), or download the invitation file; or, asked for, read out its short code. When a
// helper redeems it, the consent prompt opens here by itself.
import { api, el, refusal, when } from './common.js'

const form = document.getElementById('ask')
const computer = document.getElementById('computer')
const computerHelp = document.getElementById('computer-help')
const lifetime = document.getElementById('lifetime')
const unit = document.getElementById('unit')
const lifetimeHelp = document.getElementById('lifetime-help')
const password = document.getElementById('password')
const helper = document.getElementById('helper')
const shortCode = document.getElementById('short-code-option')
const create = document.getElementById('create')
const result = document.getElementById('ask-result')

const PER_UNIT = { minutes: 1, hours: 60, days: 1440 }

function describe (minutes) {
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? '' : 's'}`
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? '' : 's'}`
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

function selected () {
  const o = computer.selectedOptions[0]
  return { allowed: o.dataset.allowed === 'yes', max: Number(o.dataset.max), source: o.dataset.source, refusal: o.dataset.refusal }
}

function onComputer () {
  const c = selected()
  create.disabled = !c.allowed
  if (!c.allowed) {
    computerHelp.textContent = `Policy does not let you ask for help from this computer: ${c.refusal}`
    lifetimeHelp.textContent = ''
    return
  }
  computerHelp.textContent = ''
  // The default is the maximum, in the largest unit that expresses it exactly.
  const u = c.max % 1440 === 0 ? 'days' : c.max % 60 === 0 ? 'hours' : 'minutes'
  unit.value = u
  lifetime.value = String(c.max / PER_UNIT[u])
  onLifetime()
}

function onLifetime () {
  const c = selected()
  lifetime.max = String(Math.floor(c.max / PER_UNIT[unit.value]))
  lifetimeHelp.textContent = `At most ${describe(c.max)}: the maximum ticket time, from ${c.source}.`
}

computer.addEventListener('change', onComputer)
unit.addEventListener('change', onLifetime)
onComputer()

form.addEventListener('submit', async (e) => {
  e.preventDefault()
  const value = Number(lifetime.value)
  if (!Number.isInteger(value) || value < 1) {
    result.replaceChildren(refusal({ code: 'VALIDATION_FAILED', message: 'the lifetime must be a whole number, at least 1' }))
    lifetime.focus()
    return
  }
  create.disabled = true
  try {
    const created = await api('POST', '/v1/invitations', {
      computer: computer.value,
      lifetime: { value, unit: unit.value },
      ...(password.value ? { password: password.value } : {}),
      ...(helper.value.trim() ? { helper: helper.value.trim() } : {}),
      ...(shortCode.checked ? { shortCode: true } : {})
    })
    password.value = ''
    showCreated(created)
  } catch (err) {
    result.replaceChildren(refusal(err))
    create.disabled = false
  }
})

/**
 * The short code, large and in its groups of four, with the time it stops working: to be read out over the phone.
 * Screen readers get it spelled out, one character at a time, as it is to be read.
 */
function codeBox ({ code, expiresAt }) {
  const state = el('p', { id: 'short-code-valid' },
    'Valid until ', el('time', { datetime: expiresAt }, when(expiresAt)), '. Your helper types it on their page “Redeem an invitation”.')
  const box = el('div', { class: 'short-code' },
    el('h3', {}, 'Your short code'),
    el('p', { id: 'short-code', class: 'short-code-value', 'aria-hidden': 'true' }, code),
    el('p', { class: 'sr-only' }, code.split('-').map((group) => group.split('').join(' ')).join(', ')),
    state)
  // The invitation outlives its code: say so when the code stops working rather than leave it on show.
  setTimeout(() => {
    box.classList.add('expired')
    state.replaceChildren('This code has expired: your helper can still use the link or the invitation file.')
  }, Math.max(0, new Date(expiresAt).getTime() - Date.now()))
  return box
}

function showCreated ({ invitation, shortCode: code }) {
  form.hidden = true
  const recipients = el('input', {
    id: 'recipients', name: 'recipients', type: 'text', autocomplete: 'email', required: true, 'aria-describedby': 'recipients-help'
  })
  const note = el('textarea', { id: 'personal-message', name: 'message', maxlength: 2000 })
  const sendStatus = el('div', { id: 'send-status', 'aria-live': 'polite' })
  const send = el('button', { type: 'submit', id: 'send' }, 'Send the invitation')
  const addresses = () => recipients.value.split(/[\s,;]+/).filter(Boolean)
  const mail = el('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault()
      send.disabled = true
      try {
        await api('POST', `/v1/invitations/${invitation.id}/deliveries`, { recipients: addresses(), ...(note.value ? { message: note.value } : {}) })
        sendStatus.replaceChildren(el('p', { role: 'status' }, `Queued for ${addresses().join(', ')}.`))
        watchDelivery(sendStatus)
      } catch (err) {
        sendStatus.replaceChildren(refusal(err))
      } finally {
        send.disabled = false
      }
    }
  },
  el('label', { for: 'recipients' }, 'Helper\'s e-mail address(es)'), recipients,
  el('p', { id: 'recipients-help', class: 'help' }, 'Separate several addresses with commas.'),
  el('label', { for: 'personal-message' }, 'Personal message (optional)'), note,
  send)
  const mailto = el('a', { id: 'mailto', class: 'button secondary', href: '#' }, 'Open in my mail program')
  mailto.addEventListener('click', async (e) => {
    e.preventDefault()
    try {
      const q = addresses().map((a) => 'to=' + encodeURIComponent(a)).join('&')
      const { mailtoUri } = await api('GET', `/v1/invitations/${invitation.id}/mailto${q ? '?' + q : ''}`)
      location.href = mailtoUri
    } catch (err) {
      sendStatus.replaceChildren(refusal(err))
    }
  })
  const file = el('a', { id: 'download', class: 'button secondary', href: `/v1/invitations/${invitation.id}/file`, download: 'RAInvitation.msrcincident' },
    'Download the invitation file')
  const waiting = el('p', { id: 'waiting', role: 'status' }, 'Waiting for your helper to open the invitation… This page opens their request when they do.')
  result.replaceChildren(
    el('div', { class: 'panel' },
      el('h2', { tabindex: '-1', id: 'created-title' }, 'Your invitation is ready'),
      el('p', {}, `For ${invitation.computer}, valid until ${when(invitation.expiresAt)}` +
        `${invitation.passwordProtected ? ', with a password: tell it to your helper another way' : ''}.`),
      code ? codeBox(code) : null),
    el('section', { 'aria-labelledby': 'send-title' }, el('h2', { id: 'send-title' }, 'Send it'), mail, sendStatus),
    el('section', { 'aria-labelledby': 'other-title' },
      el('h2', { id: 'other-title' }, 'Or hand it on yourself'), el('div', { class: 'actions' }, mailto, file)),
    waiting)
  document.getElementById('created-title').focus()

  // When the helper redeems it, the novice's prompt opens.
  const poll = setInterval(async () => {
    try {
      const current = await api('GET', `/v1/invitations/${invitation.id}`)
      if (current.sessionId) {
        clearInterval(poll)
        location.assign(`/sessions/${current.sessionId}`)
      } else if (current.state !== 'open') {
        clearInterval(poll)
        waiting.textContent = `The invitation is ${current.state}.`
      }
    } catch { /* the next round tries again */ }
  }, 2000)

  async function watchDelivery (target) {
    for (let i = 0; i < 30; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      try {
        const { items } = await api('GET', `/v1/invitations/${invitation.id}/deliveries`)
        const last = items[items.length - 1]
        const line = last.recipients.map((r) => `${r.address}: ${r.state}${r.lastError ? ` (${r.lastError})` : ''}`).join('; ')
        target.replaceChildren(el('p', { role: 'status' }, line))
        if (last.recipients.every((r) => ['sent', 'failed', 'cancelled'].includes(r.state))) return
      } catch { return }
    }
  }
}
