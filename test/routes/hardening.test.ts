import { once } from 'node:events'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build, outsideRows, outsideSql } from '../helper.js'
import { runWorker, type WorkerRequest } from '../workers.js'
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
  await outsideSql(broken.config, 'ALTER TABLE domains RENAME TO domains_gone')
  seen.push(await broken.call('GET', '/v1/domains'))
  t.same(seen.map((r) => r.statusCode), [200, 401, 404, 429, 500])
  for (const res of seen) helmetHeaders(t, res)
})

t.test('no-store wherever a ticket or token is in the body', async (t) => {
  const w = await world(t)
  t.equal((await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).headers['cache-control'], 'no-store')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)).headers['cache-control'], 'no-store')
  const { invitation, ticket } = await w.invite()
  t.equal(
    (await w.call('POST', `/v1/invitations/${invitation.id}/deliveries`, { recipients: ['bob@contoso.com'] }, w.alice)).headers['cache-control'],
    'no-store'
  )
  t.equal((await w.redeem(ticket)).headers['cache-control'], 'no-store')
})

t.test('brute force: failed authentications beyond the limit get 429, and rotating X-Forwarded-For does not reset it', async (t) => {
  const { app } = await build(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '5' })
  const attempt = (i: number) => app.inject({
    method: 'GET',
    url: '/v1/users',
    headers: { authorization: `Bearer ra_guess${i}`, 'x-forwarded-for': `203.0.113.${i % 250}` }
  })
  const codes: number[] = []
  for (let i = 0; i < 12; i++) codes.push((await attempt(i)).statusCode)
  t.same(codes.slice(0, 5), [401, 401, 401, 401, 401])
  t.ok(codes.slice(5).every((c) => c === 429), `then 429, whatever the forwarded address (${codes.join(',')})`)
  const blocked = await attempt(99)
  t.match(blocked.json(), { code: 'AUTH_RATE_LIMITED' })
  t.ok(Number(blocked.headers['retry-after']) >= 1)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health stays reachable')
})

t.test('one failing client does not lock out everyone behind its address: a valid token always authenticates', async (t) => {
  const { app, call } = await build(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '5' })
  const guess = (i: number) => app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ra_guess${i}` } })
  for (let i = 0; i < 5; i++) t.equal((await guess(i)).statusCode, 401)
  t.equal((await guess(5)).statusCode, 429, 'the failures are throttled')
  t.equal((await call('GET', '/v1/users')).statusCode, 200, 'a valid token from the same address still authenticates')
  t.equal((await guess(6)).statusCode, 429, 'and does not reset the budget of the failures')
  t.equal((await app.inject({ method: 'GET', url: '/v1/users' })).statusCode, 429, 'no token at all is a failure too')
  const audited = (await call('GET', '/v1/audit-events?action=auth.failure&limit=500')).json().items
  t.equal(audited.length, 5, 'only the failures within the budget are audited one by one')
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
    const res = await w.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: { authorization: `Bearer ${w.bob}`, 'x-forwarded-for': `192.0.2.${i}` },
      payload: { ticket, password: `guess-${i}` }
    })
    codes.push(res.statusCode)
  }
  t.same(codes.slice(0, 5), [422, 422, 422, 422, 423], 'four wrong passwords, the fifth locks')
  t.same(codes.slice(5), [429, 429, 429], 'then the limit')
})

t.test('brute force: redemption attempts made at once count as if made one after another: a budget of 5, 12 at once, ' +
  'exactly 5 get past the limit and the window counts all 12', async (t) => {
  const w = await world(t, { RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '5' })
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => w.call('POST', '/v1/redemptions', { ticket: `a.b.c${i}` }, w.bob)))
  const codes = answers.map((a) => a.json().code as string)
  t.equal(codes.filter((c) => c === 'RATE_LIMITED').length, 7, codes.join(' '))
  t.equal(codes.filter((c) => c !== 'RATE_LIMITED').length, 5, 'five attempts reached the ticket check')
  const windows = await outsideRows<{ key: string, count: number }>(w.config, 'SELECT key, count FROM limit_windows')
  t.same(windows.filter((r) => r.key.startsWith('redeem-token:')).map((r) => Number(r.count)), [12])
  // And the next one, in a turn of its own, is the 13th.
  t.equal((await w.call('POST', '/v1/redemptions', { ticket: 'a.b.c' }, w.bob)).json().code, 'RATE_LIMITED')
  const after = await outsideRows<{ key: string, count: number }>(w.config, 'SELECT key, count FROM limit_windows')
  t.same(after.filter((r) => r.key.startsWith('redeem-token:')).map((r) => Number(r.count)), [13])
})

t.test('brute force: redemption attempts are limited per client address too, whatever the token', async (t) => {
  const w = await world(t, { RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '100', RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '6' })
  const tokens = [w.bob, w.carol]
  const codes: number[] = []
  for (let i = 0; i < 8; i++) {
    const res = await w.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: { authorization: `Bearer ${tokens[i % 2]}`, 'x-forwarded-for': `192.0.2.${i}` },
      payload: { ticket: `a.b.c${i}` }
    })
    codes.push(res.statusCode)
    if (res.statusCode === 429) {
      t.match(res.json(), { code: 'RATE_LIMITED', message: /from this address/ })
      t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
    }
  }
  t.same(codes, [422, 422, 422, 422, 422, 422, 429, 429], 'two tokens, one address: six attempts, then 429')
  t.equal((await w.call('GET', '/v1/users')).statusCode, 200, 'other routes are not affected')
})

t.test('under pressure the service answers 503 at once, in the error shape, with Retry-After', async (t) => {
  const { app, call } = await build(t, { RA_MAX_HEAP_USED_BYTES: '1' })
  // The monitor samples memory on a timer: after its first sample, every request is shed.
  t.equal(await once(app.pressure, 'sample').then(([reason]) => reason), 'heap-used')
  const res = await call('GET', '/v1/users')
  t.match(res.json(), { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: /overloaded/ })
  t.equal(res.headers['retry-after'], '10')
  t.type(res.json().requestId, 'string')
})

t.test('load shedding tells strangers nothing of the figures, and never fails the liveness probe', async (t) => {
  const { app, call, logs } = await build(t, { RA_MAX_HEAP_USED_BYTES: '1', RA_MAX_RSS_BYTES: '1' })
  await once(app.pressure, 'sample')
  const ready = await call('GET', '/readyz', undefined, null)
  t.equal(ready.statusCode, 503, '/readyz says 503 under pressure: take the instance out of rotation')
  const shed = await call('GET', '/v1/users', undefined, null)
  t.equal(shed.statusCode, 503)
  t.same(Object.keys(shed.json()).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'])
  t.equal(shed.json().message, 'the service is overloaded; retry shortly', 'a generic message')
  t.notMatch(shed.body, /rss|heap|event.?loop|bytes/i, 'no figures in the body')
  const live = await call('GET', '/healthz', undefined, null)
  t.equal(live.statusCode, 200, '/healthz answers while the process can answer at all')
  t.same(live.json(), { status: 'ok' })
  t.match(logs.join(''), /"reason":"heap-used".*"heapUsedBytes":\d+/, 'the figures are in the log')
})

t.test('prototype poisoning is refused and changes nothing', async (t) => {
  const { app, call } = await build(t)
  for (const payload of ['{"name":"CONTOSO","__proto__":{"admin":true}}', '{"name":"CONTOSO","constructor":{"prototype":{"admin":true}}}']) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/domains',
      headers: { authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnop', 'content-type': 'application/json' },
      payload
    })
    t.equal(res.statusCode, 400, payload)
  }
  t.same((await call('GET', '/v1/domains')).json().items, [])
})

t.test('the failed-authentication and redemption budgets hold across three service processes on one database', async (t) => {
  const dir = t.testdir()
  const limits = { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '5', RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '7' }
  const w = await world(t, limits, dir)
  const guesses: WorkerRequest[] = Array.from({ length: 8 }, (_, i) => ({ method: 'GET', url: '/v1/users', token: `ra_guess${i}` }))
  const redemptions: WorkerRequest[] = Array.from({ length: 8 }, (_, i) =>
    ({ method: 'POST', url: '/v1/redemptions', token: w.bob, payload: { ticket: `a.b.c${i}` } }))
  const startAt = Date.now() + 2500
  const here = async () => {
    await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()))
    const rs = await Promise.all([...guesses, ...redemptions].map((r) => w.call(r.method, r.url, r.payload, r.token)))
    return rs.map((r) => ({ status: r.statusCode, code: r.statusCode < 400 ? null : r.json().code as string }))
  }
  const outcomes = (await Promise.all([
    runWorker(w.config, dir, [...guesses, ...redemptions], startAt, limits),
    runWorker(w.config, dir, [...guesses, ...redemptions], startAt, limits),
    here()
  ])).map((results) => ({ auth: results.slice(0, guesses.length), redeem: results.slice(guesses.length) }))
  const auth = outcomes.flatMap((o) => o.auth)
  const redeem = outcomes.flatMap((o) => o.redeem)
  t.equal(auth.filter((r) => r.status === 401).length, 5, 'five failed authentications in all, not five per process')
  t.ok(auth.every((r) => r.status === 401 || r.code === 'AUTH_RATE_LIMITED'), 'the rest 429 AUTH_RATE_LIMITED', { found: auth })
  t.equal(redeem.filter((r) => r.code !== 'RATE_LIMITED').length, 7, 'seven redemption attempts with one token in all, not seven per process',
    { found: redeem })
  t.equal(redeem.filter((r) => r.code === 'RATE_LIMITED').length, redeem.length - 7)
})
