import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { deadlockVictim, TEST_ENGINE } from '../engine.js'
import { build, type TestApp } from '../helper.js'
import { helpdeskWorld } from './helpdesk-helper.js'
import { parsePrometheusText, seriesKey, type MetricFamily, type Sample } from '../prometheus-text.js'
import { openStream } from '../sse.js'

const world = helpdeskWorld

/** One scrape: the families as read, and every sample by its series (`name{label="value",…}`) → value. */
interface Scrape { families: MetricFamily[], samples: Map<string, number> }

/** Reads the text strictly (test/prometheus-text.ts throws on anything the format does not allow); every family is described. */
function parseScrape (t: Test, text: string): Scrape {
  const families = parsePrometheusText(text)
  const samples = new Map<string, number>()
  for (const f of families) {
    t.ok(f.help !== undefined && f.help.length > 0 && f.type !== 'untyped', `${f.name} has HELP and TYPE`)
    for (const s of f.samples) samples.set(seriesKey(s.name, s.labels), s.value)
  }
  return { families, samples }
}

async function scrape (t: Test, w: TestApp, token?: string | null): Promise<Scrape> {
  const res = await w.call('GET', '/metrics', undefined, token)
  t.equal(res.statusCode, 200, 'GET /metrics')
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  return parseScrape(t, res.body)
}

/** Every ra_*_total counter of what was done that moved between two scrapes, by how much. */
function counterDeltas (before: Scrape, after: Scrape): Record<string, number> {
  const moved: Record<string, number> = {}
  for (const [key, value] of after.samples) {
    // The write lock's figures move with every commit, not with what was done.
    if (!/^ra_\w+_total(\{|$)/.test(key) || key.startsWith('ra_sqlite_write_lock_')) continue
    const delta = value - (before.samples.get(key) ?? 0)
    if (delta !== 0) moved[key] = delta
  }
  return moved
}

const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|ra_[A-Za-z0-9_-]{20,}|@|\\/i

t.test('GET /metrics parses as Prometheus text and its counters move exactly as a whole session, refusals and an offer are done', async (t) => {
  const w = await world(t)
  const { alice, bob, carol } = w.tokens
  const before = await scrape(t, w)

  // An invitation, redeemed by the expert, accepted by the novice; control requested and granted; the expert ends.
  const created = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, alice)
  t.equal(created.statusCode, 201, created.body)
  const { ticket } = created.json()
  const redeemed = await w.call('POST', '/v1/redemptions', { ticket }, bob)
  t.equal(redeemed.statusCode, 201, redeemed.body)
  const session = redeemed.json().id
  t.equal((await w.call('POST', `/v1/sessions/${session}/accept`, { confirm: true }, alice)).statusCode, 200)
  const requested = await w.call('POST', `/v1/sessions/${session}/control-requests`, undefined, bob)
  t.equal(requested.statusCode, 201, requested.body)
  const rid = requested.json().controlRequest.id
  t.equal((await w.call('POST', `/v1/sessions/${session}/control-requests/${rid}/grant`, undefined, alice)).statusCode, 200)
  t.equal((await w.call('POST', `/v1/sessions/${session}/end`, undefined, bob)).json().state, 'ended')

  // Refusals: the ticket again (already redeemed), an invitation for someone else's computer, an offer by a non-helper.
  t.equal((await w.call('POST', '/v1/redemptions', { ticket }, carol)).json().code, 'TICKET_ALREADY_REDEEMED')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-XP' }, carol)).json().code, 'POLICY_DENIED')
  t.equal((await w.call('POST', '/v1/offers', { computer: 'CONTOSO\\PC-10' }, carol)).json().code, 'POLICY_DENIED')
  // An offer, which the novice declines.
  const offered = await w.call('POST', '/v1/offers', { computer: 'CONTOSO\\PC-10' }, bob)
  t.equal(offered.statusCode, 201, offered.body)
  t.equal((await w.call('POST', `/v1/sessions/${offered.json().id}/decline`, undefined, alice)).json().state, 'declined')
  // A request refused before any service ran (bad input) is no business event.
  t.equal((await w.call('POST', '/v1/redemptions', { ticket: 1 }, bob)).statusCode, 400)

  const after = await scrape(t, w)
  t.same(counterDeltas(before, after), {
    ra_invitations_created_total: 1,
    ra_invitations_redeemed_total: 1,
    'ra_invitations_refused_total{code="TICKET_ALREADY_REDEEMED",operation="redeem"}': 1,
    'ra_invitations_refused_total{code="POLICY_DENIED",operation="create"}': 1,
    'ra_sessions_opened_total{origin="invitation"}': 1,
    'ra_sessions_opened_total{origin="offer"}': 1,
    ra_sessions_accepted_total: 1,
    'ra_sessions_closed_total{outcome="ended"}': 1,
    'ra_sessions_closed_total{outcome="declined"}': 1,
    ra_control_grants_total: 1,
    ra_offers_created_total: 1,
    'ra_offers_refused_total{code="POLICY_DENIED"}': 1
  }, 'every counter moved by exactly what was done, and no other counter moved')

  const duration = after.families.find((f) => f.name === 'ra_http_request_duration_seconds')!
  t.equal(duration.type, 'histogram')
  const count = (route: string, method: string, status: string) =>
    after.samples.get(seriesKey('ra_http_request_duration_seconds_count', { method, route, status }))
  t.equal(count('/v1/sessions/:id/accept', 'POST', '200'), 1, 'one series per route template, method and status')
  t.equal(count('/v1/sessions/:id/control-requests/:rid/grant', 'POST', '200'), 1)
  t.equal(count('/v1/redemptions', 'POST', '409'), 1, 'a refusal is timed under its status')
  t.ok(after.samples.get(seriesKey('ra_http_request_duration_seconds_sum', { method: 'POST', route: '/v1/invitations', status: '201' }))! > 0,
    'durations are recorded')
  t.same(duration.samples.filter((x) => x.name.endsWith('_bucket') && x.labels['route'] === '/v1/sessions/:id/accept').map((x) => x.labels['le']),
    ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'])

  await w.call('GET', `/v1/no-such-route/${session}`)
  const labels = (await scrape(t, w)).families.flatMap((f) => f.samples.flatMap((x: Sample) => Object.values(x.labels)))
  t.ok(labels.includes('unmatched'), 'a 404 without a route is labelled unmatched, not with its URL')
  t.same(labels.filter((v) => ID.test(v)), [], 'no label value is an id, a token or a name')
})

t.test('an audit event is counted by a fixed set of label values: an unknown code or origin is "other"', async (t) => {
  const w = await build(t)
  const before = await scrape(t, w)
  w.app.metrics.observeAudit({ action: 'invitation.redeem-refused', details: { code: 'SOMETHING_ELSE' } })
  w.app.metrics.observeAudit({ action: 'offer.refused', details: { code: { nested: true } } })
  w.app.metrics.observeAudit({ action: 'session.created', details: { origin: 'elsewhere' } })
  w.app.metrics.observeAudit({ action: 'directory.import', details: null })
  t.same(counterDeltas(before, await scrape(t, w)), {
    'ra_invitations_refused_total{code="other",operation="redeem"}': 1,
    'ra_offers_refused_total{code="other"}': 1,
    'ra_sessions_opened_total{origin="other"}': 1
  })
})

t.test('on the main port /metrics needs the administrator or an integration with metrics:read', async (t) => {
  const w = await build(t)
  const integration = async (name: string, scopes: string[]): Promise<string> =>
    (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name, scopes } })).json().token
  const prometheus = await integration('prometheus', ['metrics:read'])
  const siem = await integration('siem', ['audit:read'])

  const anonymous = await w.call('GET', '/metrics', undefined, null)
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'AUTH_REQUIRED')
  t.match(anonymous.headers['www-authenticate'], /^Bearer/)
  const wrongScope = await w.call('GET', '/metrics', undefined, siem)
  t.equal(wrongScope.statusCode, 403)
  t.equal(wrongScope.json().code, 'INSUFFICIENT_SCOPE')
  const scraped = await scrape(t, w, prometheus)
  t.ok(scraped.samples.has('ra_invitations_created_total'), 'with metrics:read')
  t.equal((await w.call('GET', '/metrics')).statusCode, 200, 'the administrator')
  const denied = (await w.call('GET', '/v1/audit-events?action=auth.denied')).json().items
  t.match(denied, [{ actor: 'integration:siem', target: 'GET /metrics', details: { scope: 'metrics:read' } }], 'the refusal is audited')
})

t.test('with RA_METRICS_PORT, /metrics is served on its own listener without a token, and not on the main port', async (t) => {
  const w = await build(t, { RA_METRICS_PORT: '0' })
  const address = w.app.metricsServer!.address() as AddressInfo
  t.equal(address.address, '127.0.0.1', 'on RA_HOST')
  const base = `http://127.0.0.1:${address.port}`

  const main = await w.call('GET', '/metrics')
  t.equal(main.statusCode, 404, 'not on the main port, even for the administrator')
  t.equal(main.json().code, 'ROUTE_NOT_FOUND')

  const res = await fetch(`${base}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const { samples } = parseScrape(t, await res.text())
  t.ok(samples.has('ra_invitations_created_total'))
  t.ok(samples.has('nodejs_eventloop_lag_seconds'))
  t.ok(samples.get('ra_database_size_bytes')! > 0)
  t.equal((await fetch(`${base}/metrics?x=1`)).status, 200, 'a query string is ignored')
  t.equal((await fetch(`${base}/`)).status, 404, 'nothing else is served there')
  t.equal((await fetch(`${base}/v1/domains`)).status, 404)
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404)
  t.equal((await fetch(`${base}/metrics`, { method: 'HEAD' })).status, 200)

  await w.app.close()
  await t.rejects(fetch(`${base}/metrics`), 'the listener closes with the app')
})

t.test('SQLite: how this process uses the file\'s write lock (held, waited for); not on PostgreSQL', async (t) => {
  const w = await world(t)
  const names = ['ra_sqlite_write_lock_held_seconds_total', 'ra_sqlite_write_lock_wait_seconds_total', 'ra_sqlite_write_lock_waits_total']
  const before = await scrape(t, w)
  if (TEST_ENGINE === 'postgres') {
    for (const name of names) t.notOk(before.samples.has(name), `${name}: absent`)
    return
  }
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-XP' }, w.tokens.alice)).statusCode, 201)
  const after = await scrape(t, w)
  t.ok(after.samples.get(names[0]!)! > before.samples.get(names[0]!)!, 'the write lock was held for the invitation\'s commit')
  t.equal(after.samples.get(names[1]!), 0, 'no other process: never waited')
  t.equal(after.samples.get(names[2]!), 0)
})

t.test('PostgreSQL: work rolled back in a conflict with another transaction, by what came of it; not on SQLite', async (t) => {
  const w = await world(t)
  const retried = seriesKey('ra_postgres_conflict_retries_total', { outcome: 'retried' })
  const failed = seriesKey('ra_postgres_conflict_retries_total', { outcome: 'failed' })
  const before = await scrape(t, w)
  if (TEST_ENGINE === 'sqlite') {
    t.notOk([...before.samples.keys()].some((key) => key.startsWith('ra_postgres_')), 'absent')
    return
  }
  t.equal(before.samples.get(retried), 0)
  t.equal(before.samples.get(failed), 0)
  const outcome = await deadlockVictim(w.config.databaseUrl!, () =>
    w.app.services.storage.run('INSERT INTO counter VALUES (2, 0), (1, 0) ON CONFLICT (id) DO UPDATE SET n = counter.n + 10'))
  t.equal(outcome.status, 'fulfilled')
  const after = await scrape(t, w)
  // At least once: run again, it could (rarely, past its short wait) meet the other transaction once more.
  t.ok(after.samples.get(retried)! >= 1, 'the deadlock\'s victim ran again')
  t.equal(after.samples.get(failed), 0)
})

t.test('gauges: the e-mail outbox depth and oldest age move as invitation e-mail waits and is sent; open event streams; database size', async (t) => {
  // No RA_SMTP_URL: e-mail is written as .eml files into the mail folder.
  const w = await world(t)
  const { alice, bob } = w.tokens
  const gauge = (s: Scrape, name: string, labels: Record<string, string> = {}) => s.samples.get(seriesKey(name, labels))
  const depth = (s: Scrape, state: string, outbox = 'email') => gauge(s, 'ra_outbox_depth', { outbox, state })

  const idle = await scrape(t, w)
  for (const outbox of ['email', 'webhook']) {
    for (const state of ['queued', 'sending', 'retrying', 'failed']) t.equal(depth(idle, state, outbox), 0, `${outbox} ${state}: 0`)
    t.equal(gauge(idle, 'ra_outbox_oldest_pending_age_seconds', { outbox }), 0)
  }
  t.ok(gauge(idle, 'ra_database_size_bytes')! > 0, 'the database has a size')
  t.ok(idle.samples.has('nodejs_eventloop_lag_seconds'), 'event-loop lag (and the process\'s other figures)')
  t.equal(gauge(idle, 'ra_event_streams_open'), 0)

  // The outbox stopped, the message waits: two recipients queued.
  await w.app.services.outbox!.stop()
  const res = await w.call('POST', '/v1/invitations', {
    computer: 'CONTOSO\\PC-XP',
    delivery: { recipients: ['bob@contoso.com', 'helpdesk@contoso.com'] }
  }, alice)
  t.equal(res.statusCode, 201, res.body)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const waiting = await scrape(t, w)
  t.equal(depth(waiting, 'queued'), 2, 'two recipients queued')
  t.ok(gauge(waiting, 'ra_outbox_oldest_pending_age_seconds', { outbox: 'email' })! > 0, 'the oldest waits for some time now')
  t.equal(depth(waiting, 'queued', 'webhook'), 0)

  t.equal(await w.app.services.deliveries.runDue(), 2, 'both sent (as .eml files)')
  const sent = await scrape(t, w)
  t.equal(depth(sent, 'queued'), 0, 'nothing waits any more')
  t.equal(gauge(sent, 'ra_outbox_oldest_pending_age_seconds', { outbox: 'email' }), 0)

  // An open session event stream, counted while it is open.
  const invitation = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, alice)
  const session = (await w.call('POST', '/v1/redemptions', { ticket: invitation.json().ticket }, bob)).json().id
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (w.app.server.address() as AddressInfo).port
  const stream = await openStream(`http://127.0.0.1:${port}/v1/sessions/${session}/events`, alice)
  await stream.waitFor(() => stream.events.length > 0, 'the first event')
  t.equal(gauge(await scrape(t, w), 'ra_event_streams_open'), 1, 'one stream open')
  await stream.close()
  const deadline = Date.now() + 10_000
  let open: number | undefined
  while ((open = gauge(await scrape(t, w), 'ra_event_streams_open')) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(open, 0, 'closed when the client goes away')
})

t.test('a stream whose session ends closes, and is no longer counted', async (t) => {
  const w = await world(t)
  const { alice, bob } = w.tokens
  const invitation = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, alice)
  const session = (await w.call('POST', '/v1/redemptions', { ticket: invitation.json().ticket }, bob)).json().id
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (w.app.server.address() as AddressInfo).port
  const stream = await openStream(`http://127.0.0.1:${port}/v1/sessions/${session}/events`, alice)
  await stream.waitFor(() => stream.events.length > 0, 'the first event')
  t.equal((await scrape(t, w)).samples.get('ra_event_streams_open'), 1)
  await w.call('POST', `/v1/sessions/${session}/end`, undefined, bob)
  await stream.waitFor(() => stream.ended(), 'the end of the stream')
  t.equal((await scrape(t, w)).samples.get('ra_event_streams_open'), 0)
  await stream.close()
  const timed = (await scrape(t, w)).samples
    .get(seriesKey('ra_http_request_duration_seconds_count', { method: 'GET', route: '/v1/sessions/:id/events', status: '200' }))
  t.equal(timed, 1, 'the stream is timed under its route once it closed')
})
