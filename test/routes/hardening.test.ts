import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build } from '../helper.js'
import { world } from './invitations-helper.js'

const helmetHeaders = (t: Test, res: LightMyRequestResponse) => {
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${res.statusCode}: nosniff`)
  t.match(res.headers['content-security-policy'], /default-src 'self'/, `${res.statusCode}: CSP`)
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', `${res.statusCode}: frame options`)
  t.ok(res.headers['strict-transport-security'], `${res.statusCode}: HSTS`)
}


t.test('security headers on every response: 200, 401, 404, 429 and 500', async (t) => {
  const limited = await build(t, { RA_RATE_LIMIT_PER_MINUTE: '2' })
  const seen: LightMyRequestResponse[] = [
    await limited.call('GET', '/healthz', undefined, null),
    await limited.call('GET', '/v1/users', undefined, null),
    await limited.call('GET', '/v1/nothing-here')
  ]
  let last: LightMyRequestResponse
  do last = await limited.call('GET', '/v1/users'); while (last.statusCode !== 429)
  t.match(last.json(), { statusCode: 429, code: 'RATE_LIMITED' })
  t.ok(Number(last.headers['retry-after']) >= 1, 'Retry-After')
  seen.push(last)

  const broken = await build(t)
  const other = new Database(broken.config.databaseFile)
  other.exec('ALTER TABLE domains RENAME TO domains_gone')
  other.close()
  seen.push(await broken.call('GET', '/v1/domains'))
  t.same(seen.map((r) => r.statusCode), [200, 401, 404, 429, 500])
  for (const res of seen) helmetHeaders(t, res)
})

t.test('no-store wherever a ticket or token is in the body', async (t) => {
  const w = await world(t)
  t.equal((await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).headers['cache-control'], 'no-store')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)).headers['cache-control'], 'no-store')
  const { invitation, ticket } = await w.invite()
  t.equal((await w.call('POST', `/v1/invitations/${invitation.id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.alice)).headers['cache-control'], 'no-store')
  t.equal((await w.redeem(ticket)).headers['cache-control'], 'no-store')
})

t.test('brute force: failed authentications beyond the limit get 429, and rotating X-Forwarded-For does not reset it', async (t) => {
  const { app } = await build(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '5' })
  const attempt = (i: number) => app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ra_guess${i}`, 'x-forwarded-for': `203.0.113.${i % 250}` } })
  const codes: number[] = []
  for (let i = 0; i < 12; i++) codes.push((await attempt(i)).statusCode)
  t.same(codes.slice(0, 5), [401, 401, 401, 401, 401])
  t.ok(codes.slice(5).every((c) => c === 429), `then 429, whatever the forwarded address (${codes.join(',')})`)
  const blocked = await attempt(99)
  t.match(blocked.json(), { code: 'AUTH_RATE_LIMITED' })
  t.ok(Number(blocked.headers['retry-after']) >= 1)
  const good = await app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnop' } })
  t.equal(good.statusCode, 429, 'the address is blocked for the rest of the minute, even with a good token')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health stays reachable')
})

t.test('with RA_TRUST_PROXY set, the forwarded address is the client (so the limit follows it)', async (t) => {
  const { app } = await build(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '2', RA_TRUST_PROXY: 'true' })
  const from = (ip: string) => app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: 'Bearer ra_guess', 'x-forwarded-for': ip } })
  for (let i = 0; i < 3; i++) await from('198.51.100.7')
  t.equal((await from('198.51.100.7')).statusCode, 429)
  t.equal((await from('198.51.100.8')).statusCode, 401, 'another client behind the proxy is not blocked')
})

t.test('brute force: redemption attempts beyond the limit get 429 per token, whatever the forwarded address', async (t) => {
  const w = await world(t, { RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '5' })
  const { ticket } = await w.invite({ password: 'Password1' })
  const codes: number[] = []
  for (let i = 0; i < 8; i++) {
    const res = await w.app.inject({ method: 'POST', url: '/v1/redemptions', headers: { authorization: `Bearer ${w.bob}`, 'x-forwarded-for': `192.0.2.${i}` }, payload: { ticket, password: `guess-${i}` } })
    codes.push(res.statusCode)
  }
  t.same(codes.slice(0, 5), [422, 422, 422, 422, 423], 'four wrong passwords, the fifth locks')
  t.same(codes.slice(5), [429, 429, 429], 'then the limit')
})

t.test('under pressure the service answers 503 at once, in the error shape, with Retry-After', async (t) => {
  const { call } = await build(t, { RA_MAX_HEAP_USED_BYTES: '1' })
  let res: LightMyRequestResponse
  let tries = 0
  // under-pressure samples memory on a timer: wait for its first sample, then every request is shed.
  do res = await call('GET', '/v1/users'); while (res.statusCode !== 503 && ++tries < 200 && await new Promise((r) => setTimeout(r, 10)) === undefined)
  t.match(res.json(), { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: /overloaded/ })
  t.equal(res.headers['retry-after'], '10')
  t.type(res.json().requestId, 'string')
})

t.test('prototype poisoning is refused and changes nothing', async (t) => {
  const { app, call } = await build(t)
  for (const payload of ['{"name":"CONTOSO","__proto__":{"admin":true}}', '{"name":"CONTOSO","constructor":{"prototype":{"admin":true}}}']) {
    const res = await app.inject({ method: 'POST', url: '/v1/domains', headers: { authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnop', 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400, payload)
  }
  t.same((await call('GET', '/v1/domains')).json().items, [])
})
