import t from 'tap'
import { LocalLimit } from '../../src/services/limits.js'
import { build } from '../helper.js'

t.test('the general rate limit: per token, with its standing on every counted answer, then 429 RATE_LIMITED with Retry-After', async (t) => {
  const w = await build(t, { RA_RATE_LIMIT_PER_MINUTE: '3' })
  const token = (await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } })).json().token as string
  const seen = []
  for (let i = 0; i < 4; i++) seen.push(await w.call('GET', '/v1/me', undefined, token))
  t.same(seen.map((r) => r.statusCode), [200, 200, 200, 429])
  t.same(seen.map((r) => r.headers['x-ratelimit-remaining']), ['2', '1', '0', '0'])
  for (const res of seen) {
    t.equal(res.headers['x-ratelimit-limit'], '3')
    const reset = Number(res.headers['x-ratelimit-reset'])
    t.ok(reset >= 1 && reset <= 60, `reset in ${reset} s, within the minute`)
  }
  const refused = seen[3]!
  t.match(refused.json(), { statusCode: 429, code: 'RATE_LIMITED', message: /at most 3 a minute; retry in \d+ s/ })
  const retry = Number(refused.headers['retry-after'])
  t.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`)
  t.equal((await w.call('POST', '/v1/tokens', { principal: { type: 'admin' } }, token)).statusCode, 429, 'writes are counted alike')

  const other = await w.call('GET', '/v1/me')
  t.equal(other.statusCode, 200, 'another token has its own budget')
  t.equal(other.headers['x-ratelimit-remaining'], '1', 'the first token\'s creation was its first request')
})

t.test('the rate limit counts authenticated /v1 calls only: health, a failed authentication and a 404 make no window', async (t) => {
  const w = await build(t, { RA_RATE_LIMIT_PER_MINUTE: '2' })
  const health = await w.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.equal(health.headers['x-ratelimit-limit'], undefined, 'health is not limited')
  const failed = await w.call('GET', '/v1/me', undefined, 'ra_made-up-token')
  t.equal(failed.statusCode, 401)
  t.equal(failed.headers['x-ratelimit-remaining'], undefined, 'a made-up token gets no window')
  t.equal((await w.call('GET', '/v1/nothing-here')).statusCode, 404)
  for (let i = 0; i < 3; i++) t.equal((await w.call('GET', '/metrics')).statusCode, 200, '/metrics on the main port is authenticated, not limited')
  const first = await w.call('GET', '/v1/me')
  t.equal(first.headers['x-ratelimit-remaining'], '1', 'neither the 404 nor /metrics was counted')
  const metrics = await w.call('GET', '/metrics')
  t.equal(metrics.statusCode, 200)
  t.equal(metrics.headers['x-ratelimit-limit'], undefined)
})

t.test('LocalLimit: a window per key from its first request; past maxKeys, ended windows go first, then those that began first', async (t) => {
  const limit = new LocalLimit(2, 1000, 3)
  t.same(limit.take('a', 0), { remaining: 1, resetInMs: 1000 })
  t.same(limit.take('a', 400), { remaining: 0, resetInMs: 600 })
  t.same(limit.take('a', 999), { remaining: -1, resetInMs: 1 }, 'past the budget until the window ends')
  t.same(limit.take('a', 1000), { remaining: 1, resetInMs: 1000 }, 'a new window from the first request after it')

  limit.take('b', 1100)
  limit.take('c', 1200)
  t.equal(limit.size, 3)
  limit.take('d', 2050)
  t.equal(limit.size, 3, 'a\'s ended window made room')
  t.same(limit.take('b', 2060), { remaining: 0, resetInMs: 40 }, 'b kept its count')
  limit.take('e', 2070)
  t.equal(limit.size, 3, 'no window had ended: the one that began first (b) made room')
  t.same(limit.take('b', 2080), { remaining: 1, resetInMs: 1000 }, 'b starts over: dropping a window only ever gives more room')
  t.same(limit.take('d', 2090), { remaining: 0, resetInMs: 960 }, 'd kept its count')
})
