// Shared by the pages' scripts: calls to the service's own API, signed in with the session cookie, and
// refusals put into words. No framework: the DOM is built with createElement, never from HTML strings.

const csrfMeta = document.querySelector('meta[name="ra-csrf"]')
const csrf = csrfMeta ? csrfMeta.getAttribute('content') : null

/** An error answer of the API: its stable code, message, and policy checks if any. */
export class ApiError extends Error {
  constructor (status, body) {
    super(body?.message ?? `the service answered ${status}`)
    this.status = status
    this.code = body?.code ?? 'HTTP_' + status
    this.checks = body?.checks ?? null
    this.retryAfterS = body?.retryAfterS ?? null
  }
}

/** Calls the API; a change carries the page's CSRF token. Resolves to the JSON answer, or throws ApiError. */
export async function api (method, path, body) {
  const headers = { accept: 'application/json' }
  if (method !== 'GET') headers['x-csrf-token'] = csrf ?? ''
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, { code: 'NETWORK', message: 'the service cannot be reached: check the connection and try again' })
  }
  const text = await response.text()
  let json = null
  try { json = text ? JSON.parse(text) : null } catch { json = null }
  if (!response.ok) throw new ApiError(response.status, json)
  return json
}

/** Builds an element: `el('p', { class: 'help' }, 'text', child)`. Attributes starting with `on` are listeners. */
export function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

/** What each refusal means to a person, by the API's code. */
const HEADINGS = {
  TICKET_EXPIRED: 'This invitation has expired',
  TICKET_REVOKED: 'This invitation was withdrawn',
  TICKET_ALREADY_REDEEMED: 'This invitation was already used',
  INVITATION_LOCKED: 'This invitation is locked',
  PASSWORD_INCORRECT: 'Wrong password',
  PASSWORD_REQUIRED: 'The password is needed',
  POLICY_DENIED: 'Policy does not allow this',
  OWN_INVITATION: 'This is your own invitation',
  EXPERT_REQUIRED: 'Only a directory user can help',
  TICKET_MALFORMED: 'This link is not a valid invitation',
  TICKET_SIGNATURE_INVALID: 'This link is not a valid invitation',
  TICKET_CLAIMS_INVALID: 'This link is not a valid invitation',
  TICKET_WRONG_AUDIENCE: 'This invitation is for another service',
  TICKET_NOT_YET_VALID: 'This invitation is not valid yet',
  CODE_INVALID: 'This code is not right',
  CODE_EXPIRED: 'This code has expired',
  CODE_GUESSES_EXCEEDED: 'Too many wrong codes',
  CONTROL_NOT_PERMITTED: 'Policy does not allow control',
  NOT_IN_CONTROL: 'The helper is not in control',
  GRANT_TOO_LONG: 'That is longer than control may be given for',
  VERIFICATION_CODE_REQUIRED: 'The code is needed',
  VERIFICATION_CODE_MISMATCH: 'That is not the code',
  SESSION_NOT_ACTIVE: 'The session is no longer active',
  RATE_LIMITED: 'Too many attempts',
  SIGN_IN_EXPIRED: 'You are signed out',
  ACCOUNT_DISABLED: 'Your account is disabled',
  CSRF_TOKEN_INVALID: 'This page is out of date',
  NOT_FOUND: 'Not found',
  NETWORK: 'No connection'
}

/** A refusal as a person reads it: what happened, the service's reason, every failed rule with its remedy. */
export function refusal (err) {
  const heading = HEADINGS[err.code] ?? 'That did not work'
  const box = el('div', { class: 'refusal', role: 'alert' },
    el('h2', {}, heading),
    el('p', {}, sentence(err.message)))
  const failed = (err.checks ?? []).filter((c) => !c.passed)
  if (failed.length > 0) {
    box.append(el('p', {}, 'The rules that refused:'), el('ul', { class: 'checks' }, failed.map((c) =>
      el('li', { class: 'failed' }, el('strong', {}, c.rule), ' ', c.detail,
        c.remedy ? el('div', { class: 'remedy' }, el('span', {}, 'Remedy:'), ' ', c.remedy) : null))))
  }
  if (err.code === 'SIGN_IN_EXPIRED' || err.code === 'CSRF_TOKEN_INVALID') {
    box.append(el('p', {}, el('a', { href: '/sign-in?return=' + encodeURIComponent(location.pathname) }, 'Sign in again')))
  }
  box.append(el('p', { class: 'code' }, `Refused: ${err.code}`))
  return box
}

export const sentence = (s) => s ? s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : ''

/** A time as people read it, in their own time zone. */
export function when (iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** "4:05" for a number of seconds (never negative). */
export function clock (seconds) {
  const s = Math.max(0, Math.round(seconds))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}
