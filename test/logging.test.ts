import t from 'tap'
import { build } from './helper.js'

interface Line { level: number, msg: string, reqId?: string, req?: Record<string, unknown>, res?: Record<string, unknown>, responseTime?: unknown }

const lines = (logs: string[]): Line[] => logs.map((l) => JSON.parse(l) as Line)

t.test('one line per request: its id, method, URL, host, client, status and time, and nothing else the request carried', async (t) => {
  const { app, logs } = await build(t)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/tokens?label=x',
    headers: { authorization: 'Bearer not-a-token-at-all', cookie: 'ra_session=a-cookie-value', 'accept-version': '1' },
    payload: { principal: { type: 'user', user: 'CONTOSO\\nobody' }, password: 'a-password-in-the-body' }
  })
  t.equal(res.statusCode, 401)
  const id = res.headers['x-request-id']
  const mine = lines(logs).filter((l) => l.reqId === id)
  t.equal(mine.length, 1, 'one line for the request')
  const line = mine[0]!
  t.equal(line.msg, 'request completed')
  t.equal(line.level, 30, 'at level info')
  t.strictSame(line.req, { method: 'POST', url: '/v1/tokens?label=x', version: '1', host: 'localhost:80', remoteAddress: '127.0.0.1' },
    'the request: method, URL, version asked for, host, client (no header, no body)')
  t.strictSame(line.res, { statusCode: 401 }, 'the status')
  t.type(line.responseTime, 'number', 'the time taken')
  const text = logs.join('')
  for (const carried of ['not-a-token-at-all', 'a-cookie-value', 'a-password-in-the-body']) t.notOk(text.includes(carried), `nothing of ${carried}`)

  // Without a version asked for, the field is left out.
  const plain = await app.inject({ method: 'GET', url: '/healthz' })
  const healthz = lines(logs).find((l) => l.reqId === plain.headers['x-request-id'])
  t.strictSame(healthz?.req, { method: 'GET', url: '/healthz', host: 'localhost:80', remoteAddress: '127.0.0.1' })
  t.strictSame(healthz?.res, { statusCode: 200 })
})

t.test('no request lines below their level; other lines keep their redaction', async (t) => {
  const { app, logs } = await build(t, { RA_LOG_LEVEL: 'warn' })
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.notOk(lines(logs).some((l) => l.msg === 'request completed'), 'no request line at level warn')
  app.log.warn({ config: { RA_SMTP_URL: 'smtp://user:pass@mail' }, input: { password: 'p', ticket: 'k', token: 't' } }, 'a line with secrets in it')
  const line = lines(logs).find((l) => l.msg === 'a line with secrets in it') as unknown as { config: object, input: object }
  t.strictSame(line.config, { RA_SMTP_URL: '[redacted]' })
  t.strictSame(line.input, { password: '[redacted]', ticket: '[redacted]', token: '[redacted]' })
})
