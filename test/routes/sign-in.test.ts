import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { outsideSql, type Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const CLI = { actor: 'cli', actorTokenId: null, requestId: null }

/** The session cookie a sign-in set, as `name=value`, and its attributes. */
function sessionCookie (res: LightMyRequestResponse): { pair: string, attributes: string } {
  const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => /^(__Host-)?ra_session=rab_/.test(c))
  if (!header) throw new Error(`no session cookie in ${res.statusCode} ${JSON.stringify(res.headers['set-cookie'])}`)
  const [pair, ...attributes] = header.split('; ')
  return { pair: pair!, attributes: attributes.join('; ') }
}

const linkCode = (url: string): string => new URL(url).hash.slice('#code='.length)

async function signInWithLink (w: InvitationWorld, user: string): Promise<string> {
  const { url } = await w.app.services.signIn.createLink(user, CLI)
  const res = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(url) } })
  if (res.statusCode !== 303) throw new Error(`${res.statusCode} ${res.body}`)
  return sessionCookie(res).pair
}

/** The CSRF token the server wrote into a signed-in page. */
async function csrfOf (w: InvitationWorld, cookie: string): Promise<string> {
  const page = await w.app.inject({ method: 'GET', url: '/', headers: { cookie } })
  const token = /<meta name="ra-csrf" content="([^"]+)">/.exec(page.body)?.[1]
  if (!token) throw new Error(`no CSRF token on the page: ${page.statusCode}`)
  return token
}

const asPage = (w: InvitationWorld, cookie: string, method: string, url: string, body?: Json, csrf?: string) => w.app.inject({
  method: method as 'GET',
  url,
  headers: { cookie, ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) },
  ...(body !== undefined ? { payload: body as object } : {})
})

t.test('a one-time sign-in link signs its user in once, before it expires; the session cookie is HttpOnly and SameSite=Lax', async (t) => {
  const w = await world(t)
  const { url, user, expiresAt } = await w.app.services.signIn.createLink('contoso\\ALICE', CLI)
  t.equal(user, 'CONTOSO\\alice', 'the name as the directory spells it')
  t.match(url, /^http:\/\/127\.0\.0\.1:8080\/sign-in\/link#code=[\w-]{43}$/, 'the code rides in the fragment')
  t.ok(Date.parse(expiresAt) - Date.now() <= 10 * 60_000 && Date.parse(expiresAt) - Date.now() > 9 * 60_000, 'ten minutes by default')
  const page = await w.app.inject({ method: 'GET', url: '/sign-in/link' })
  t.equal(page.statusCode, 200, 'opening the page uses nothing up')

  const used = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(url) } })
  t.equal(used.statusCode, 303)
  t.equal(used.headers.location, '/')
  const cookie = sessionCookie(used)
  t.match(cookie.attributes, /HttpOnly/)
  t.match(cookie.attributes, /SameSite=Lax/)
  t.match(cookie.attributes, /Path=\//)
  t.notMatch(cookie.attributes, /Secure/, 'not Secure over plain http…')
  const me = await asPage(w, cookie.pair, 'GET', '/v1/me')
  t.match(me.json(), { kind: 'user', name: 'CONTOSO\\alice', computers: [{ computer: 'CONTOSO\\PC-10', allowed: true }, { computer: 'CONTOSO\\PC-XP' }] })

  const again = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(url) } })
  t.equal(again.statusCode, 410, 'single use')
  t.match(again.body, /already used/)
  t.notOk(again.headers['set-cookie'], 'no session')

  const stale = await w.app.services.signIn.createLink('CONTOSO\\bob', CLI)
  await outsideSql(w.config, 'UPDATE sign_in_grants SET expires_at = ? WHERE used_at IS NULL', new Date(Date.now() - 1000).toISOString())
  const expired = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(stale.url) } })
  t.equal(expired.statusCode, 410)
  t.match(expired.body, /expired/)
  const forged = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: 'A'.repeat(43) } })
  t.equal(forged.statusCode, 410)
  t.match(forged.body, /not valid/)

  const audit = (await w.call('GET', '/v1/audit-events?action=sign-in&limit=50')).json().items as Json[]
  t.equal(audit.filter((e) => e.outcome === 'success').length, 1)
  t.equal(audit.filter((e) => e.outcome === 'denied').length, 3, 'every refused sign-in is audited')
  t.notMatch(JSON.stringify(audit), linkCode(url), 'never the code')
})

t.test('behind https the cookie is Secure, with the __Host- prefix', async (t) => {
  const w = await world(t, { RA_PUBLIC_BASE_URL: 'https://ra.contoso.com' })
  const { url } = await w.app.services.signIn.createLink('CONTOSO\\alice', CLI)
  t.match(url, /^https:\/\/ra\.contoso\.com\/sign-in\/link#code=/)
  const res = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(url) } })
  const cookie = sessionCookie(res)
  t.match(cookie.pair, /^__Host-ra_session=/)
  t.match(cookie.attributes, /Secure/)
  t.notMatch(cookie.attributes, /Domain=/)
})

t.test('signing in by pasting an API token: a user\'s or the administrator\'s, never an integration\'s', async (t) => {
  const w = await world(t)
  const form = (token: string, headers: Record<string, string> = {}) => w.app.inject({
    method: 'POST',
    url: '/sign-in/token',
    payload: `token=${encodeURIComponent(token)}&return=%2Fask`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }
  })
  const asBob = await form(w.bob)
  t.equal(asBob.statusCode, 303)
  t.equal(asBob.headers.location, '/ask', 'back where the person was going')
  t.match((await asPage(w, sessionCookie(asBob).pair, 'GET', '/v1/me')).json(), { kind: 'user', name: 'CONTOSO\\bob' })

  const admin = await form('test-admin-token-0123456789abcdefghijklmnop')
  t.equal(admin.statusCode, 303)
  t.equal((await asPage(w, sessionCookie(admin).pair, 'GET', '/admin/computers')).statusCode, 200, 'the administrator reaches the admin pages')
  t.equal((await asPage(w, sessionCookie(asBob).pair, 'GET', '/admin/computers')).statusCode, 403, 'a user does not')

  const integration = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'itsm', scopes: ['sessions:read'] } })).json().token
  const refused = await form(integration)
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /an integration&#39;s token cannot sign in/)
  t.equal((await form('ra_not-a-token')).statusCode, 403)
  const evil = await form(w.bob, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })
  t.equal(evil.statusCode, 403, 'a sign-in posted from another site is refused (login CSRF)')
  t.notOk(evil.headers['set-cookie'])
  const returnTo = await w.app.inject({
    method: 'POST', url: '/sign-in/token', payload: `token=${w.bob}&return=%2F%2Fevil.example`, headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(returnTo.headers.location, '/', 'never back to another site')
})

t.test('a page\'s cookie works on the API, with the CSRF token on every change; Bearer tokens work as before', async (t) => {
  const w = await world(t)
  const cookie = await signInWithLink(w, 'CONTOSO\\alice')
  const csrf = await csrfOf(w, cookie)
  const body = { computer: 'CONTOSO\\PC-10' }
  const without = await asPage(w, cookie, 'POST', '/v1/invitations', body)
  t.match(without.json(), { statusCode: 403, code: 'CSRF_TOKEN_INVALID' }, 'no token, no change')
  const wrong = await asPage(w, cookie, 'POST', '/v1/invitations', body, csrf.slice(0, -2) + 'xx')
  t.match(wrong.json(), { statusCode: 403, code: 'CSRF_TOKEN_INVALID' })
  t.equal((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items.length, 0, 'nothing was created')
  const refusals = (await w.call('GET', '/v1/audit-events?action=auth.csrf-refused')).json().items
  t.equal(refusals.length, 2, 'each refusal is audited')
  const made = await asPage(w, cookie, 'POST', '/v1/invitations', body, csrf)
  t.equal(made.statusCode, 201)
  t.match((await w.call('GET', '/v1/audit-events?action=invitation.create')).json().items[0], { actor: 'CONTOSO\\alice' })
  t.equal((await asPage(w, cookie, 'GET', '/v1/invitations')).json().items.length, 1, 'reads need no token')

  const otherCookie = await signInWithLink(w, 'CONTOSO\\bob')
  t.match((await asPage(w, otherCookie, 'POST', '/v1/invitations', body, csrf)).json(), { code: 'CSRF_TOKEN_INVALID' }, 'a token is bound to its session')
  // An Authorization header wins over the cookie: the API is unchanged for its clients.
  const both = await w.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie, authorization: `Bearer ${w.bob}` } })
  t.equal(both.json().name, 'CONTOSO\\bob')
  t.equal((await w.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: 'ra_session=rab_forged' } })).json().code, 'SIGN_IN_EXPIRED')
})

t.test('C5: signing out revokes the browser session and ends the sessions its person opened as the expert', async (t) => {
  const w = await world(t)
  const cookie = await signInWithLink(w, 'CONTOSO\\bob')
  const csrf = await csrfOf(w, cookie)
  const { ticket } = await w.invite()
  const redeemed = await asPage(w, cookie, 'POST', '/v1/redemptions', { ticket }, csrf)
  t.equal(redeemed.statusCode, 201)
  const sessionId = redeemed.json().id

  const form = { cookie, 'content-type': 'application/x-www-form-urlencoded' }
  const noToken = await w.app.inject({ method: 'POST', url: '/sign-out', headers: form, payload: 'csrf=' })
  t.equal(noToken.statusCode, 403, 'signing out needs the page\'s CSRF token too')
  const out = await w.app.inject({
    method: 'POST', url: '/sign-out', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `csrf=${encodeURIComponent(csrf)}`
  })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/sign-in?signed-out')
  t.match(String(out.headers['set-cookie']), /ra_session=;.*Expires=Thu, 01 Jan 1970/, 'the cookie is cleared')
  t.match((await asPage(w, cookie, 'GET', '/v1/me')).json(), { statusCode: 401, code: 'SIGN_IN_EXPIRED' }, 'the old cookie is refused: the record is revoked')
  const page = await asPage(w, cookie, 'GET', '/')
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/sign-in?return=%2F')
  t.match((await w.call('GET', `/v1/sessions/${sessionId}`)).json(), { state: 'ended', endReason: 'the expert\'s token was revoked' })
})

t.test('a disabled user\'s browser sessions are revoked, and stay so when the account is enabled again; sessions expire', async (t) => {
  const w = await world(t)
  const cookie = await signInWithLink(w, 'CONTOSO\\alice')
  const alice = ((await w.call('GET', '/v1/users?limit=50')).json().items as Json[]).find((u) => u.name === 'CONTOSO\\alice')
  await w.call('PATCH', `/v1/users/${alice.id}`, { enabled: false })
  t.match((await asPage(w, cookie, 'GET', '/v1/me')).json(), { statusCode: 401, code: 'SIGN_IN_EXPIRED' })
  await w.call('PATCH', `/v1/users/${alice.id}`, { enabled: true })
  t.match((await asPage(w, cookie, 'GET', '/v1/me')).json(), { statusCode: 401, code: 'SIGN_IN_EXPIRED' }, 'not revived')
  const link = await w.app.services.signIn.createLink('CONTOSO\\alice', CLI)
  await w.call('PATCH', `/v1/users/${alice.id}`, { enabled: false })
  const refused = await w.app.inject({ method: 'POST', url: '/sign-in/link', payload: { code: linkCode(link.url) } })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /CONTOSO\\alice is disabled: the account cannot sign in/)
  await w.call('PATCH', `/v1/users/${alice.id}`, { enabled: true })

  const fresh = await signInWithLink(w, 'CONTOSO\\alice')
  t.equal((await asPage(w, fresh, 'GET', '/v1/me')).statusCode, 200)
  await outsideSql(w.config, 'UPDATE browser_sessions SET expires_at = ? WHERE revoked_at IS NULL', new Date(Date.now() - 1000).toISOString())
  t.match((await asPage(w, fresh, 'GET', '/v1/me')).json(), { statusCode: 401, code: 'SIGN_IN_EXPIRED', message: /expired/ })
})

t.test('pages: strict CSP without inline script, no-store, and sign-in first', async (t) => {
  const w = await world(t)
  const anonymous = await w.app.inject({ method: 'GET', url: '/redeem' })
  t.equal(anonymous.statusCode, 303, 'the e-mailed link no longer answers 404')
  t.equal(anonymous.headers.location, '/sign-in?return=%2Fredeem')
  const cookie = await signInWithLink(w, 'CONTOSO\\bob')
  for (const url of ['/', '/redeem', '/ask', `/sessions/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, '/sign-in', '/sign-in/link']) {
    const res = await asPage(w, cookie, 'GET', url)
    if (url === '/sign-in') { t.equal(res.statusCode, 303, 'signed in: /sign-in moves on'); continue }
    t.equal(res.statusCode, 200, url)
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'none'/, `${url}: CSP`)
    t.match(csp, /script-src 'self'(;|$)/)
    t.notMatch(csp, /unsafe-inline|unsafe-eval/)
    t.match(csp, /frame-ancestors 'none'/)
    t.equal(res.headers['cache-control'], 'no-store')
    t.notMatch(res.body, /<script(?![^>]*\bsrc=)/, `${url}: no inline script`)
    t.notMatch(res.body, /\son[a-z]+=|style=/, `${url}: no inline handlers or styles`)
    t.notMatch(res.body, /https?:\/\/(?!127\.0\.0\.1)/, `${url}: nothing from elsewhere`)
  }
  const asset = await w.app.inject({ method: 'GET', url: '/assets/session.js' })
  t.equal(asset.statusCode, 200)
  t.match(asset.headers['content-type'], /javascript/)
  t.equal((await w.app.inject({ method: 'GET', url: '/assets/../package.json' })).statusCode, 404, 'no way out of the assets folder')
})

t.test('made-up session cookies count as failed authentications: past the budget they get 429, and no rate-limit bucket of their own', async (t) => {
  const w = await world(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '3' })
  const codes = []
  for (let i = 0; i < 5; i++) {
    codes.push((await w.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: `ra_session=rab_made-up-${i}` } })).json().code)
  }
  t.same(codes, ['SIGN_IN_EXPIRED', 'SIGN_IN_EXPIRED', 'SIGN_IN_EXPIRED', 'AUTH_RATE_LIMITED', 'AUTH_RATE_LIMITED'])
  const cookie = await signInWithLink(w, 'CONTOSO\\alice')
  t.equal((await asPage(w, cookie, 'GET', '/v1/me')).statusCode, 200, 'a real session still works from the same address')
})
