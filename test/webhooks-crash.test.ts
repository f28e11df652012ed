import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { projectRoot } from '../src/paths.js'
import { ADMIN_TOKEN, assertNoSecrets } from './helper.js'

/** A free loopback port (listened on, then released). */
async function freePort (): Promise<number> {
  const s = http.createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** The service as a process of its own (src/server.ts), ready once it says so; its output is kept. */
async function startService (env: Record<string, string>): Promise<{ child: ChildProcess, output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'server.ts')], {
    cwd: projectRoot,
    env: { PATH: process.env['PATH'] ?? '', ...env }
  })
  let out = ''
  child.stdout!.on('data', (c) => { out += c })
  child.stderr!.on('data', (c) => { out += c })
  const deadline = Date.now() + 60_000
  while (!out.includes('ticket service ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the service did not start: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { child, output: () => out }
}

t.test('a crash after the change committed and before its delivery was answered: the event is sent after restart, with its webhook-id', async (t) => {
  const dir = t.testdir()
  // The receiver holds the first request without answering (the service is killed meanwhile), then answers 200.
  let hold = true
  const received: Array<{ headers: http.IncomingHttpHeaders, body: string }> = []
  const receiver = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      if (!hold) res.writeHead(200).end()
    })
  })
  receiver.listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.teardown(() => { receiver.closeAllConnections(); receiver.close() })
  const port = await freePort()
  const env = {
    RA_DATABASE_FILE: path.join(dir, 'ra.sqlite'),
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    RA_HOST: '127.0.0.1',
    RA_PORT: String(port),
    RA_WEBHOOKS_ALLOW_HTTP: 'true',
    RA_DELIVERY_POLL_MS: '50',
    // The claim's lease is the timeout and 5 s: a delivery left `sending` by a dead process is taken over after it.
    RA_WEBHOOK_TIMEOUT_MS: '1000'
  }
  const api = async (method: string, url: string, body?: unknown): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return await res.json()
  }

  const first = await startService(env)
  const { webhook, secret } = await api('POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    events: ['policy.changed']
  })
  const created = await api('POST', '/v1/policies', { name: 'Crash', settings: {} })
  t.ok(created.policy.id, 'the change committed')
  while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
  first.child.kill('SIGKILL') // mid-send: the claim committed, the outcome never will
  await once(first.child, 'exit')
  const firstId = received[0]!.headers['webhook-id']

  hold = false
  const second = await startService(env)
  t.teardown(async () => {
    second.child.kill('SIGTERM')
    await once(second.child, 'exit')
  })
  const deadline = Date.now() + 30_000
  while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(received.length, 2, 'sent again by the restarted service once the dead one\'s lease ran out')
  t.equal(received[1]!.headers['webhook-id'], firstId, 'with the webhook-id of the first attempt')
  t.doesNotThrow(() => new Webhook(secret).verify(received[1]!.body, received[1]!.headers as Record<string, string>))
  t.match(JSON.parse(received[1]!.body), { type: 'policy.changed', data: { change: 'create', policy: 'Crash' } })
  let state = ''
  while (state !== 'delivered' && Date.now() < deadline) {
    state = (await api('GET', `/v1/webhooks/${webhook.id}/deliveries`)).items[0].state
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(state, 'delivered')
  assertNoSecrets(first.output() + second.output(), 'service logs')
})
