import net from 'node:net'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

/** Writes `head`, then one byte of `drip` every `everyMs`; resolves with what the server sent and whether it closed the socket. */
function slowRequest (port: number, head: string, drip: string, everyMs: number, giveUpMs: number): Promise<{ response: string, closed: boolean, ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now()
    let response = ''
    let i = 0
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(head))
    const timer = setInterval(() => { if (i < drip.length && !socket.destroyed) socket.write(drip[i++]!) }, everyMs)
    const finish = (closed: boolean) => {
      clearInterval(timer)
      clearTimeout(giveUp)
      socket.destroy()
      resolve({ response, closed, ms: Date.now() - started })
    }
    const giveUp = setTimeout(() => finish(false), giveUpMs)
    socket.on('data', (chunk) => { response += chunk.toString() })
    socket.on('error', () => {})
    socket.on('close', () => finish(true))
  })
}

const bodyOf = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>

t.test('an authenticated request whose body arrives a byte at a time gets 408 in the error shape, and its socket is closed', async (t) => {
  const { app } = await build(t, { RA_REQUEST_TIMEOUT_MS: '1500' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as net.AddressInfo).port
  const body = JSON.stringify({ name: 'CONTOSO' })
  const head = `POST /v1/domains HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  const { response, closed, ms } = await slowRequest(port, head, body, 400, 10_000)
  t.match(response, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'the status line')
  t.match(bodyOf(response), { statusCode: 408, code: 'REQUEST_TIMEOUT', error: 'Request Timeout', message: /did not arrive in time/ })
  t.ok(closed, 'the server closed the socket')
  t.ok(ms < 6000, `within the timeout and a check interval (${ms} ms)`)
  const domains = await app.inject({ method: 'GET', url: '/v1/domains', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  t.same(domains.json().items, [], 'and nothing was created')
})

t.test('headers that never finish get 408 and a closed socket (RA_HEADERS_TIMEOUT_MS)', async (t) => {
  const { app } = await build(t, { RA_REQUEST_TIMEOUT_MS: '5000', RA_HEADERS_TIMEOUT_MS: '1000' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as net.AddressInfo).port
  const { response, closed, ms } = await slowRequest(port, 'GET /healthz HTTP/1.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 200, 10_000)
  t.match(bodyOf(response), { statusCode: 408, code: 'REQUEST_TIMEOUT' })
  t.ok(closed, 'the server closed the socket')
  t.ok(ms < 4000, `at the headers deadline, not the request's (${ms} ms)`)
})

t.test('a connection that sends nothing is closed at the headers deadline', async (t) => {
  const { app } = await build(t, { RA_REQUEST_TIMEOUT_MS: '5000', RA_HEADERS_TIMEOUT_MS: '1000' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as net.AddressInfo).port
  const { closed, ms } = await slowRequest(port, '', '', 1000, 10_000)
  t.ok(closed, 'closed by the server')
  t.ok(ms < 4000, `in about a second (${ms} ms)`)
})

t.test('a request that arrives in time is unaffected by the timeouts', async (t) => {
  const { app } = await build(t, { RA_REQUEST_TIMEOUT_MS: '1500' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as net.AddressInfo
  const res = await fetch(`http://127.0.0.1:${port}/v1/domains`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'CONTOSO' }) })
  t.equal(res.status, 201)
})

t.test('the timeouts and the connection cap are set on the server', async (t) => {
  const { app, config } = await build(t, { RA_MAX_CONNECTIONS: '77', RA_REQUEST_TIMEOUT_MS: '20000', RA_KEEP_ALIVE_TIMEOUT_MS: '65000' })
  t.equal(app.server.maxConnections, 77)
  t.equal(app.server.requestTimeout, 20000)
  t.equal(app.server.headersTimeout, 10000)
  t.equal(app.server.keepAliveTimeout, 65000)
  t.equal(app.server.timeout, config.connections.idleTimeoutMs, 'idle sockets are closed')
  t.ok(config.connections.idleTimeoutMs >= 2 * config.sessions.heartbeatMs, 'event streams stay open between heartbeats')
})
