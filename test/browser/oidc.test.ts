import { createHash } from 'node:crypto'
import { once } from 'node:events'
import type { Server } from 'node:http'
import t from 'tap'
import type { Test } from 'tap'
import Provider, { type Configuration } from 'oidc-provider'
import type { BrowserContext, Page, Response } from 'playwright-core'
import type { Json } from '../helper.js'
import { freePort } from '../smtp-helper.js'
import { launchBrowser, noBrowser, site, type Site } from './browser.js'

/**
 * Sign-in with OpenID Connect, in Chromium, against a real identity provider (node-oidc-provider) on loopback:
 * the Authorization Code flow with PKCE (S256), state and nonce, its development login and consent pages, and the
 * service's mapping of the provider's claim to a directory user.
 */

const CLIENT_ID = 'ra-pages'
const CLIENT_SECRET = 'ra-pages-secret-0123456789abcdefghijklmnopqrstuvwxyz'

interface IdentityProvider {
  issuer: string
  /** What the provider saw of PKCE: each code's challenge as it consumed it, each verifier the token request sent. */
  challenges: Array<{ challenge: string | undefined, method: string | undefined }>
  verifiers: string[]
  /** Starts the provider, with one client that comes back to `redirectUri`. */
  start: (redirectUri: string) => Promise<void>
}

/** An identity provider on a free loopback port; its address is known before it starts (the service needs it first). */
async function identityProvider (t: Test): Promise<IdentityProvider> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const idp: IdentityProvider = {
    issuer,
    challenges: [],
    verifiers: [],
    start: async (redirectUri) => {
      const configuration: Configuration = {
        clients: [{
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['authorization_code'],
          response_types: ['code']
        }],
        pkce: { required: () => true },
        claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
        cookies: { keys: ['oidc-test-cookie-key-0123456789abcdef'] },
        // The login name typed into the development login page is the account; it names itself in preferred_username.
        findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, preferred_username: sub }) }),
        features: { devInteractions: { enabled: true } }
      }
      const provider = new Provider(issuer, configuration)
      provider.on('authorization_code.consumed', (code) => {
        idp.challenges.push({ challenge: code.codeChallenge, method: code.codeChallengeMethod })
      })
      provider.on('grant.success', (ctx) => {
        const verifier = ctx.oidc.params?.['code_verifier']
        if (typeof verifier === 'string') idp.verifiers.push(verifier)
      })
      provider.on('grant.error', (_ctx, err) => t.comment(`identity provider, token endpoint: ${err.message} ${err.error_description ?? ''}`))
      provider.on('authorization.error', (_ctx, err) => t.comment(`identity provider, authorization: ${err.message} ${err.error_description ?? ''}`))
      provider.on('server_error', (_ctx, err) => t.comment(`identity provider, server error: ${err.message}`))
      const server: Server = provider.listen(port, '127.0.0.1')
      await once(server, 'listening')
      t.teardown(async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })
    }
  }
  return idp
}

/** The service, configured for the provider, and the provider, started for the service. */
async function setUp (t: Test): Promise<{ s: Site, idp: IdentityProvider }> {
  const idp = await identityProvider(t)
  const s = await site(t, { RA_OIDC_ISSUER: idp.issuer, RA_OIDC_CLIENT_ID: CLIENT_ID, RA_OIDC_CLIENT_SECRET: CLIENT_SECRET })
  await idp.start(`${s.base}/sign-in/oidc/callback`)
  return { s, idp }
}

/** A browser whose requests stay on loopback (the provider's development pages import a web font: it is answered empty). */
async function person (t: Test, s: Site): Promise<{ context: BrowserContext, page: Page }> {
  const browser = await launchBrowser(t)
  const { context, page } = await s.person(browser)
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }))
  return { context, page }
}

const isCallback = (url: URL): boolean => url.pathname === '/sign-in/oidc/callback'

/**
 * From the service's sign-in page: the organisation's sign-in, the provider's login page (any password), its consent
 * page, and back. Resolves to the service's answer at the callback. Without `login`, the provider already knows the
 * browser (its session, and the consent given): it answers at once.
 */
async function signInAtProvider (s: Site, page: Page, login?: string): Promise<Response> {
  const answer = page.waitForResponse((r) => r.url().startsWith(`${s.base}/sign-in/oidc/callback?`))
  await page.getByRole('link', { name: 'Sign in with your organisation' }).click()
  if (login !== undefined) {
    await page.locator('input[name=login]').fill(login)
    await page.locator('input[name=password]').fill('any password will do')
    await page.getByRole('button', { name: 'Sign-in' }).click()
    await page.getByRole('button', { name: 'Continue' }).click()
  }
  return answer
}

const sessionCookies = async (context: BrowserContext) => (await context.cookies()).filter((c) => /^(__Host-)?ra_session$/.test(c.name))
const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent()
const alertText = (page: Page) => page.getByRole('alert').textContent()

async function auditOf (s: Site): Promise<Json[]> {
  return (await s.call('GET', '/v1/audit-events?action=sign-in&limit=50')).json().items as Json[]
}

t.test('OIDC: the whole Authorization Code flow in Chromium: from /ask to the provider\'s login and consent and back, ' +
  'signed in as CONTOSO\\alice; PKCE S256, state and nonce are used, and the sign-in is audited', { skip: noBrowser }, async (t) => {
  const { s, idp } = await setUp(t)
  const { context, page } = await person(t, s)
  const authorizations: URL[] = []
  page.on('request', (r) => { if (r.url().startsWith(`${idp.issuer}/auth?`)) authorizations.push(new URL(r.url())) })

  await page.goto('/ask')
  await page.waitForURL(`${s.base}/sign-in?return=%2Fask`)
  t.equal(await page.locator('#sign-in-idp').getAttribute('href'), '/sign-in/oidc?return=%2Fask', 'the link keeps the way back')
  await page.getByRole('link', { name: 'Sign in with your organisation' }).click()
  await page.waitForURL((url) => url.origin === idp.issuer && url.pathname.startsWith('/interaction/'))
  t.equal(authorizations.length, 1, 'one authorization request reached the provider')
  const q = authorizations[0]!.searchParams
  t.equal(q.get('client_id'), CLIENT_ID)
  t.equal(q.get('response_type'), 'code')
  t.equal(q.get('redirect_uri'), `${s.base}/sign-in/oidc/callback`)
  t.equal(q.get('scope'), 'openid profile email')
  t.equal(q.get('code_challenge_method'), 'S256', 'PKCE, S256')
  t.match(q.get('code_challenge'), /^[\w-]{43}$/, 'a SHA-256 code challenge')
  t.match(q.get('state'), /^[\w-]{43}$/, 'a state')
  t.match(q.get('nonce'), /^[\w-]{20,}$/, 'a nonce')
  const bound = (await context.cookies(`${s.base}/sign-in/oidc/callback`)).find((c) => c.name === 'ra_signin')
  t.equal(bound?.value, q.get('state'), 'the state is bound to this browser by a cookie…')
  t.ok(bound?.httpOnly, '…HttpOnly')
  t.equal(bound?.sameSite, 'Lax')
  t.equal(bound?.path, '/sign-in/oidc', '…sent back to the sign-in routes only')

  await page.locator('input[name=login]').fill('CONTOSO\\alice')
  await page.locator('input[name=password]').fill('any password will do')
  await page.getByRole('button', { name: 'Sign-in' }).click()
  const answer = page.waitForResponse((r) => r.url().startsWith(`${s.base}/sign-in/oidc/callback?`))
  await page.getByRole('button', { name: 'Continue' }).click()
  const callback = await answer
  t.equal(callback.status(), 303, 'the callback signs in…')
  t.equal(await callback.headerValue('location'), '/ask', '…and goes back where the person was going')
  const back = new URL(callback.url())
  t.equal(back.searchParams.get('state'), q.get('state'), 'the provider answered with the same state')
  t.ok(back.searchParams.get('code'), 'and a code')
  await page.waitForURL(`${s.base}/ask`)
  t.equal(await heading(page), 'Ask for help')
  t.match(await page.locator('form.who').textContent(), /Signed in as\s*CONTOSO\\alice/, 'the header names alice')
  t.equal((await sessionCookies(context)).length, 1, 'a session cookie')
  t.equal((await context.cookies()).filter((c) => c.name === 'ra_signin').length, 0, 'the round trip\'s cookie is gone')

  // The provider required PKCE and checked it: the verifier sent at the token endpoint is the challenge's.
  t.same(idp.challenges, [{ challenge: q.get('code_challenge'), method: 'S256' }], 'the code was bound to the challenge')
  t.equal(idp.verifiers.length, 1, 'the token request sent a code verifier')
  t.equal(createHash('sha256').update(idp.verifiers[0]!).digest('base64url'), q.get('code_challenge'), 'S256(verifier) is the challenge')
  t.notOk(authorizations.some((u) => u.href.includes(idp.verifiers[0]!)), 'the verifier never went through the browser')

  const audit = await auditOf(s)
  const success = audit.filter((e) => e.outcome === 'success')
  t.equal(success.length, 1, 'one successful sign-in in the audit trail')
  t.match(success[0], { actor: 'CONTOSO\\alice', action: 'sign-in', details: { method: 'oidc' } })
  t.equal(audit.filter((e) => e.outcome === 'denied').length, 0, 'nothing refused')

  // Signed in, /sign-in moves on.
  await page.goto('/sign-in?return=%2Fredeem')
  await page.waitForURL(`${s.base}/redeem`)
})

t.test('OIDC: a user the provider knows but the directory does not (CONTOSO\\nobody) is refused, 403, with no session', { skip: noBrowser }, async (t) => {
  const { s } = await setUp(t)
  const { context, page } = await person(t, s)
  await page.goto('/redeem')
  await page.waitForURL(`${s.base}/sign-in?return=%2Fredeem`)
  const answer = await signInAtProvider(s, page, 'CONTOSO\\nobody')
  t.equal(answer.status(), 403)
  t.equal(await heading(page), 'Sign-in refused')
  t.match(await alertText(page), 'CONTOSO\\nobody is not a user in this service\'s directory')
  t.equal((await sessionCookies(context)).length, 0, 'no session cookie')
  await page.getByRole('link', { name: 'Sign in again' }).click()
  await page.waitForURL(`${s.base}/sign-in`)
  await page.goto('/redeem')
  await page.waitForURL(`${s.base}/sign-in?return=%2Fredeem`)
  t.pass('still not signed in')
  const denied = (await auditOf(s)).filter((e) => e.outcome === 'denied')
  t.match(denied, [{ action: 'sign-in', details: { method: 'oidc', code: 'SIGN_IN_REFUSED', claim: 'CONTOSO\\nobody' } }], 'the refusal is audited')
})

t.test('OIDC: a disabled directory user (CONTOSO\\carol) is refused, 403, with no session', { skip: noBrowser }, async (t) => {
  const { s } = await setUp(t)
  const carol = ((await s.call('GET', '/v1/users?limit=50')).json().items as Json[]).find((u) => u.name === 'CONTOSO\\carol')
  t.equal((await s.call('PATCH', `/v1/users/${carol.id}`, { enabled: false })).statusCode, 200)
  const { context, page } = await person(t, s)
  await page.goto('/sign-in')
  const answer = await signInAtProvider(s, page, 'CONTOSO\\carol')
  t.equal(answer.status(), 403)
  t.equal(await heading(page), 'Sign-in refused')
  t.match(await alertText(page), 'CONTOSO\\carol is disabled: the account cannot sign in')
  t.equal((await sessionCookies(context)).length, 0, 'no session cookie')
  t.equal((await auditOf(s)).filter((e) => e.outcome === 'success').length, 0)
})

t.test('OIDC: an answer whose state was tampered with is refused (400, no session); a genuine answer is used once only', { skip: noBrowser }, async (t) => {
  const { s, idp } = await setUp(t)
  const { context, page } = await person(t, s)

  // 1. The provider's answer reaches the service with another state than the one this browser's cookie holds. (The
  // answer comes at the end of redirects, which page.route does not see: the provider's form posts are followed here,
  // with the browser's cookies, and the browser is sent on to the answer rewritten.)
  let genuine: URL | undefined
  const providerPost = (url: URL): boolean => url.origin === idp.issuer && url.pathname.startsWith('/interaction/')
  await page.route(providerPost, async (route) => {
    if (route.request().method() !== 'POST') return route.fallback()
    let response = await route.fetch({ maxRedirects: 0 })
    let next = new URL(response.headers()['location']!, response.url())
    while (next.origin === idp.issuer && !next.pathname.startsWith('/interaction/')) {
      response = await context.request.get(next.href, { maxRedirects: 0 })
      next = new URL(response.headers()['location']!, next)
    }
    if (isCallback(next)) {
      genuine = next
      next = new URL(next)
      next.searchParams.set('state', 'A'.repeat(43))
    }
    return route.fulfill({ status: 303, headers: { location: next.href } })
  })
  await page.goto('/sign-in')
  const tampered = await signInAtProvider(s, page, 'CONTOSO\\alice')
  await page.unroute(providerPost)
  t.ok(genuine, 'the provider answered')
  t.equal(tampered.status(), 400)
  t.equal(await heading(page), 'Sign-in failed')
  t.match(await alertText(page), 'this sign-in answer does not belong to a sign-in started in this browser')
  t.equal((await sessionCookies(context)).length, 0, 'no session cookie')

  // 2. A genuine round trip signs in; its answer, replayed, is refused.
  await page.goto('/sign-in?return=%2Fredeem')
  const first = await signInAtProvider(s, page)
  t.equal(first.status(), 303)
  await page.waitForURL(`${s.base}/redeem`)
  const state = new URL(first.url()).searchParams.get('state')!
  t.equal((await sessionCookies(context)).length, 1, 'signed in')

  // In another browser, the answer alone (no cookie binding it) is refused.
  const other = await person(t, s)
  const stolen = await other.page.goto(first.url())
  t.equal(stolen?.status(), 400, 'another browser cannot use the answer')
  t.match(await alertText(other.page), 'does not belong to a sign-in started in this browser')
  t.equal((await sessionCookies(other.context)).length, 0, 'no session there')

  // Even with the cookie that bound it, the round trip is over: single use.
  await other.context.addCookies([{ name: 'ra_signin', value: state, url: `${s.base}/sign-in/oidc/callback` }])
  const replayed = await other.page.goto(first.url())
  t.equal(replayed?.status(), 400, 'a replayed answer is refused')
  t.equal(await heading(other.page), 'Sign-in failed')
  t.match(await alertText(other.page), 'its state is unknown or already used')
  t.equal((await sessionCookies(other.context)).length, 0, 'no session from a replay')

  // And in the browser that signed in, going back to the answer does not open a second session.
  const again = await page.goto(first.url())
  t.equal(again?.status(), 400)
  t.notOk(await again?.headerValue('set-cookie').then((v) => v?.includes('ra_session=rab_')), 'no new session cookie')

  const audit = await auditOf(s)
  t.equal(audit.filter((e) => e.outcome === 'success').length, 1, 'one sign-in only')
  t.equal(audit.filter((e) => e.outcome === 'denied' && e.details.code === 'SIGN_IN_STATE_INVALID').length, 4, 'each refused answer is audited')
})

t.test('OIDC: a UPN claim (alice@contoso.com) maps through the domain\'s DNS name to CONTOSO\\alice', { skip: noBrowser }, async (t) => {
  const { s } = await setUp(t)
  t.equal((await s.call('PATCH', `/v1/domains/${s.contoso}`, { dnsName: 'contoso.com' })).statusCode, 200)
  const { context, page } = await person(t, s)
  await page.goto('/redeem')
  await page.waitForURL(`${s.base}/sign-in?return=%2Fredeem`)
  const answer = await signInAtProvider(s, page, 'alice@contoso.com')
  t.equal(answer.status(), 303)
  await page.waitForURL(`${s.base}/redeem`)
  t.match(await page.locator('form.who').textContent(), /Signed in as\s*CONTOSO\\alice/, 'signed in as the directory user')
  t.equal((await sessionCookies(context)).length, 1)
  t.match((await auditOf(s)).filter((e) => e.outcome === 'success'), [{ actor: 'CONTOSO\\alice', details: { method: 'oidc' } }])
})
