import t from 'tap'
import { build } from '../helper.js'

t.test('health, readiness, OpenAPI and docs answer without a token on an empty data folder', async (t) => {
  const { call } = await build(t)
  for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
    const res = await call('GET', url, undefined, null)
    t.equal(res.statusCode, 200, url)
  }
  t.same((await call('GET', '/readyz', undefined, null)).json(), { status: 'ready' })
  t.match((await call('GET', '/openapi.json', undefined, null)).json(), { openapi: '3.1.0' })
})

t.test('/v1 without a token is 401 with a stable code', async (t) => {
  const { call } = await build(t)
  const res = await call('GET', '/v1/users', undefined, null)
  t.equal(res.statusCode, 401)
  t.match(res.json(), { statusCode: 401, code: 'AUTH_REQUIRED', error: 'Unauthorized' })
  t.match(res.headers['www-authenticate'], /^Bearer /)
})
