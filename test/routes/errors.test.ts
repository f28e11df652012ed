import t from 'tap'
import { build, outsideSql } from '../helper.js'

t.test('a database failure gives a generic 500 with the request id, no SQL, no driver message, no stack', async (t) => {
  const { call, config, logs } = await build(t)
  t.equal((await call('POST', '/v1/domains', { name: 'CONTOSO' })).statusCode, 201)
  // Another connection breaks the schema under the running service.
  await outsideSql(config, 'ALTER TABLE domains RENAME TO domains_gone')

  const res = await call('GET', '/v1/domains')
  t.equal(res.statusCode, 500)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'])
  t.equal(body.code, 'INTERNAL_ERROR')
  t.match(body.message, body.requestId)
  t.equal(res.headers['x-request-id'], body.requestId, 'the header names the same request')
  t.notMatch(res.body, /SELECT|domains|sqlite|no such table|at \w+ \(/i)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  const logged = logs.find((l) => l.includes(body.requestId) && l.includes('"level":50'))
  t.ok(logged, 'the details are logged under the same request id')
  t.match(logged, /no such table|does not exist/)
})

t.test('unknown routes get 404 ROUTE_NOT_FOUND in the error shape', async (t) => {
  const { call } = await build(t)
  const res = await call('GET', '/v1/nothing-here')
  t.match(res.json(), { statusCode: 404, code: 'ROUTE_NOT_FOUND', error: 'Not Found' })
})

t.test('a non-JSON body gets 415; malformed JSON gets 400 INVALID_JSON', async (t) => {
  const { app } = await build(t)
  const headers = { authorization: 'Bearer test-admin-token-0123456789abcdefghijklmnop' }
  const text = await app.inject({ method: 'POST', url: '/v1/domains', headers: { ...headers, 'content-type': 'text/plain' }, payload: 'CONTOSO' })
  t.match(text.json(), { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
  const broken = await app.inject({ method: 'POST', url: '/v1/domains', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"name": ' })
  t.match(broken.json(), { statusCode: 400, code: 'INVALID_JSON' })
})

t.test('an unauthenticated request is refused before its body is read', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/directory/import', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(100_000) })
  t.equal(res.statusCode, 401)
})
