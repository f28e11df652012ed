import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { WEBHOOK_EVENT_TYPES } from '../../src/domain/webhooks.js'
import { WebhookSender } from '../../src/services/webhook-sender.js'
import { assertNoSecrets, type Json, outsideRows, outsideSql } from '../helper.js'
import { FAST, Receiver, receiver, subscribe } from './webhook-receiver.js'
import { helpdeskWorld } from './helpdesk-helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const deliveries = async (w: InvitationWorld, id: string): Promise<Json[]> => (await w.call('GET', `/v1/webhooks/${id}/deliveries?limit=100`)).json().items

/** Waits until the webhook worker has nothing due now (what was sent, and how, is in the table). */
async function settled (_w: InvitationWorld, predicate: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the webhook worker')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The whole life of an invitation and its session, by the API: what each step is expected to send, in order. */
async function lifecycle (w: InvitationWorld, externalRef: string): Promise<{ ticket: string, sessionId: string, invitationId: string, created: Json }> {
  const created = await w.invite({ externalRef, password: 'S3cr3t-pass' })
  const redeemed = await w.redeem(created.ticket, 'S3cr3t-pass')
  if (redeemed.statusCode !== 201) throw new Error(redeemed.body)
  const sessionId = redeemed.json().id
  const act = async (path: string, token: string, body?: Json): Promise<Json> => {
    const res = await w.call('POST', `/v1/sessions/${sessionId}${path}`, body, token)
    if (res.statusCode >= 300) throw new Error(`${path}: ${res.body}`)
    return res.json()
  }
  await act('/accept', w.alice, { confirm: true })
  const requestId = (await act('/control-requests', w.bob)).controlRequest.id
  await act(`/control-requests/${requestId}/grant`, w.alice)
  await act('/control/stop', w.alice)
  await act('/end', w.bob)
  return { ticket: created.ticket, sessionId, invitationId: created.invitation.id, created }
}

const LIFECYCLE = ['invitation.created', 'invitation.redeemed', 'session.accepted', 'control.requested', 'control.granted', 'control.stopped', 'session.ended']

t.test('a receiver gets every event of a whole session, signed (standardwebhooks verifies each), in order, with the reference and no secret', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const { webhook, secret } = await subscribe(w, r.url)
  r.secrets = [secret]
  t.match(webhook, { url: r.url, enabled: true, owner: 'admin', events: [...WEBHOOK_EVENT_TYPES].sort(), consecutiveFailures: 0 })
  t.notOk(JSON.stringify((await w.call('GET', `/v1/webhooks/${webhook.id}`)).json()).includes('whsec_'), 'the secret is shown once, at creation')

  const { ticket, sessionId, invitationId, created } = await lifecycle(w, 'INC0012345')
  await r.until(() => r.all.length >= LIFECYCLE.length)
  t.equal(r.verified.length, r.all.length, 'every delivery verifies with the standardwebhooks package')
  // Not promised in arrival order (several are sent at once): webhook-ids are time-ordered, in the order of the changes.
  const inOrder = [...r.all].sort((a, b) => String(a.headers['webhook-id']).localeCompare(String(b.headers['webhook-id'])))
  t.same(inOrder.map((e) => e.payload.type), LIFECYCLE, 'the events of the lifecycle, in the order they happened')
  for (const e of r.all) {
    t.equal(e.headers['content-type'], 'application/json')
    t.match(e.headers['webhook-id'], /^msg_[0-9a-f-]{36}$/)
    t.match(e.payload, {
      timestamp: String,
      data: { invitationId, externalRef: 'INC0012345', novice: 'CONTOSO\\alice', computer: 'CONTOSO\\PC-10', rules: Array }
    })
    t.notOk(e.body.includes(ticket) || e.body.includes('S3cr3t') || e.body.includes(secret) || e.body.includes(w.bob), 'no ticket, password, token or secret')
    assertNoSecrets(e.body, `payload of ${e.payload.type}`)
  }
  const byType = new Map(r.all.map((e) => [e.payload.type, e.payload.data]))
  t.match(byType.get('invitation.created'), { actor: 'CONTOSO\\alice', sessionId: null, expert: null, passwordProtected: true })
  t.same(byType.get('invitation.created').rules, created.checks.map((c: Json) => c.rule), 'the rules that decided, as the creation answered them')
  t.match(byType.get('invitation.redeemed'), { actor: 'CONTOSO\\bob', sessionId, expert: 'CONTOSO\\bob', permittedMode: 'control' })
  t.match(byType.get('control.granted'), { actor: 'CONTOSO\\alice', sessionId, to: 'in-control', mode: 'control', rules: ['S6'] })
  t.match(byType.get('session.ended'), { actor: 'CONTOSO\\bob', to: 'ended' })

  await settled(w, async () => (await deliveries(w, webhook.id)).every((d) => d.state === 'delivered'))
  const listed = await deliveries(w, webhook.id)
  t.equal(listed.length, LIFECYCLE.length)
  t.ok(listed.every((d) => d.state === 'delivered' && d.lastStatusCode === 200 && d.attempts.length === 1 && d.attempts[0].statusCode === 200))
  t.same(new Set(listed.map((d) => d.webhookId)), new Set(r.all.map((e) => e.headers['webhook-id'])), 'the deliveries list names each webhook-id')
})

t.test('subscriptions: checked input, events a subscription did not ask for are not sent, disabled ones get nothing', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const bad = [
    [{ url: r.url, events: ['invitation.nope'] }, 400],
    [{ url: r.url, events: [] }, 400],
    [{ url: 'ftp://example.com/', events: ['invitation.created'] }, 422],
    [{ url: 'https://user:pw@example.com/', events: ['invitation.created'] }, 422],
    [{ url: 'http://169.254.169.254/latest/meta-data/', events: ['invitation.created'] }, 422],
    [{ url: 'http://[fd00:ec2::254]/', events: ['invitation.created'] }, 422],
    [{ url: 'http://10.0.0.5/hooks', events: ['invitation.created'] }, 422]
  ] as const
  for (const [body, status] of bad) {
    const res = await w.call('POST', '/v1/webhooks', body)
    t.equal(res.statusCode, status, JSON.stringify(body))
    if (status === 422) t.match(res.json(), { code: 'WEBHOOK_URL_REFUSED', field: 'url' })
  }
  t.equal((await w.call('GET', '/v1/webhooks')).json().items.length, 0, 'nothing was created')
  const paused = await w.call('POST', '/v1/webhooks', { url: r.url, events: ['invitation.revoked'], enabled: false })
  t.match(paused.json().webhook, { enabled: false, events: ['invitation.revoked'] }, 'created disabled when asked')
  await w.call('DELETE', `/v1/webhooks/${paused.json().webhook.id}`)

  const { webhook, secret } = await subscribe(w, r.url, ['invitation.revoked'])
  r.secrets = [secret]
  const refused = await w.call('PATCH', `/v1/webhooks/${webhook.id}`, { url: 'http://169.254.169.254/' })
  t.match(refused.json(), { statusCode: 422, code: 'WEBHOOK_URL_REFUSED' })
  t.equal((await w.call('GET', `/v1/webhooks/${webhook.id}`)).json().url, r.url, 'a refused change changes nothing')

  const first = await w.invite()
  await w.call('DELETE', `/v1/invitations/${first.invitation.id}`, undefined, w.alice)
  await r.until(() => r.all.length === 1)
  t.same(r.all.map((e) => e.payload.type), ['invitation.revoked'], 'only the type asked for')
  t.match(r.all[0]!.payload.data, { previousState: 'open', state: 'revoked', actor: 'CONTOSO\\alice' })

  t.match((await w.call('PATCH', `/v1/webhooks/${webhook.id}`, { enabled: false })).json(), { enabled: false })
  const second = await w.invite()
  await w.call('DELETE', `/v1/invitations/${second.invitation.id}`, undefined, w.alice)
  await w.app.services.webhookWorker!.idle()
  t.equal((await deliveries(w, webhook.id)).length, 1, 'a disabled subscription gets nothing queued')

  t.equal((await w.call('DELETE', `/v1/webhooks/${webhook.id}`)).statusCode, 204)
  t.equal((await w.call('GET', `/v1/webhooks/${webhook.id}`)).statusCode, 404)
  const audit = (await w.call('GET', '/v1/audit-events?limit=100')).json().items.map((e: Json) => e.action)
  t.ok(['webhook.create', 'webhook.update', 'webhook.delete'].every((a) => audit.includes(a)), 'changes are audited')
})

t.test('a subscription belongs to its creator: an integration sees and changes only its own', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const tokenFor = async (name: string, scopes: string[]): Promise<string> =>
    (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name, scopes } })).json().token
  const servicenow = await tokenFor('servicenow', ['webhooks:write'])
  const jira = await tokenFor('jira', ['webhooks:write'])
  const reader = await tokenFor('reader', ['audit:read'])
  const mine = (await subscribe(w, r.url, ['invitation.created'], servicenow)).webhook
  t.equal(mine.owner, 'integration:servicenow')
  const theirs = (await subscribe(w, r.url, ['invitation.created'], jira)).webhook
  const list = (token: string) => w.call('GET', '/v1/webhooks', undefined, token).then((res) => res.json().items.map((h: Json) => h.id))
  t.same(await list(servicenow), [mine.id])
  t.same(await list(jira), [theirs.id])
  t.same((await list(w.config.bootstrapAdminToken!)).sort(), [mine.id, theirs.id].sort(), 'the administrator sees all')
  t.equal((await w.call('GET', `/v1/webhooks/${theirs.id}`, undefined, servicenow)).statusCode, 404)
  t.equal((await w.call('PATCH', `/v1/webhooks/${theirs.id}`, { enabled: false }, servicenow)).statusCode, 404)
  t.equal((await w.call('DELETE', `/v1/webhooks/${theirs.id}`, undefined, servicenow)).statusCode, 404)
  t.equal((await w.call('POST', `/v1/webhooks/${theirs.id}/secret`, {}, servicenow)).statusCode, 404)
  t.equal((await w.call('GET', `/v1/webhooks/${theirs.id}/deliveries`, undefined, servicenow)).statusCode, 404)
  t.match((await w.call('GET', '/v1/webhooks', undefined, reader)).json(), { statusCode: 403, code: 'INSUFFICIENT_SCOPE' })
  t.match((await w.call('GET', '/v1/webhooks', undefined, w.bob)).json(), { statusCode: 403, code: 'ADMIN_REQUIRED' })
  t.equal((await w.call('GET', `/v1/webhooks/${theirs.id}`, undefined, jira)).json().enabled, true, 'untouched')
})

t.test('the receiver is down, then up: every event arrives, with the webhook-id of its first attempt', async (t) => {
  const r = new Receiver()
  await r.listen()
  const port = (r.server.address() as AddressInfo).port
  const url = r.url
  await r.close() // down: connections are refused
  const w = await world(t, FAST)
  const { webhook, secret } = await subscribe(w, url, ['invitation.created', 'invitation.revoked'])
  r.secrets = [secret]
  const a = await w.invite()
  await w.call('DELETE', `/v1/invitations/${a.invitation.id}`, undefined, w.alice)
  await settled(w, async () => (await deliveries(w, webhook.id)).every((d) => d.attempts.length >= 2))
  const before = await deliveries(w, webhook.id)
  t.ok(before.every((d) => d.state === 'retrying' || d.state === 'sending'), 'still trying')
  t.ok(before.every((d) => d.attempts.every((x: Json) => x.statusCode === null && /ECONNREFUSED/.test(x.error))), 'each attempt recorded with its error')
  t.equal((await w.call('GET', `/v1/webhooks/${webhook.id}`)).json().consecutiveFailures, 0, 'retries are not failures for good')

  await r.listen(port) // up again
  t.teardown(() => r.close())
  await r.until(() => r.all.length >= 2)
  t.same(new Set(r.all.map((e) => e.headers['webhook-id'])), new Set(before.map((d) => d.webhookId)), 'the same webhook-id as the first attempt')
  t.equal(r.verified.length, r.all.length)
  await settled(w, async () => (await deliveries(w, webhook.id)).every((d) => d.state === 'delivered'))
})

t.test('410 Gone is final; after the configured failures in a row the subscription is disabled, and that is audited', async (t) => {
  const r = await receiver(t)
  r.answer = (_r, res) => { res.writeHead(410).end() }
  const w = await world(t, { ...FAST, RA_WEBHOOK_DISABLE_AFTER_FAILURES: '3' })
  const { webhook } = await subscribe(w, r.url, ['invitation.created'])
  for (let i = 0; i < 3; i++) {
    await w.invite()
    await settled(w, async () => (await deliveries(w, webhook.id)).filter((d) => d.state === 'failed').length === i + 1)
  }
  const listed = await deliveries(w, webhook.id)
  t.ok(listed.every((d) => d.attempts.length === 1 && d.lastStatusCode === 410), 'a 410 is not retried')
  const after = (await w.call('GET', `/v1/webhooks/${webhook.id}`)).json()
  t.match(after, { enabled: false, consecutiveFailures: 3, disabledReason: /3 deliveries in a row failed; the last: the receiver answered 410/ })
  const audit = (await w.call('GET', '/v1/audit-events?action=webhook.disabled')).json().items
  t.match(audit, [{ actor: 'system', target: `webhooks/${webhook.id}`, details: { failures: 3 } }])
  await w.invite()
  await w.app.services.webhookWorker!.idle()
  t.equal(r.all.length, 3, 'nothing more is sent')

  // Enabled again: the count starts over.
  r.answer = (_r, res) => { res.writeHead(204).end() }
  t.match((await w.call('PATCH', `/v1/webhooks/${webhook.id}`, { enabled: true })).json(), { enabled: true, consecutiveFailures: 0, disabledReason: null })
})

t.test('a redirect is not followed; 4xx is final but 408 and 429 are retried, and Retry-After is honoured', async (t) => {
  const target = await receiver(t)
  const r = await receiver(t)
  r.answer = (_r, res) => { res.writeHead(307, { location: target.url }).end() }
  const w = await world(t, FAST)
  const { webhook } = await subscribe(w, r.url, ['invitation.created'])
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id))[0]?.state === 'failed')
  t.equal(target.all.length, 0, 'the redirect target was never called')
  t.match((await deliveries(w, webhook.id))[0], { lastStatusCode: 307, lastError: /redirects are not followed/, attempts: [{ statusCode: 307 }] })

  r.answer = (_r, res) => { res.writeHead(400).end() }
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id)).filter((d) => d.state === 'failed').length === 2)
  t.equal((await deliveries(w, webhook.id))[0].attempts.length, 1, '400: final, not retried')

  let calls = 0
  r.answer = (_r, res) => { if (++calls === 1) res.writeHead(429, { 'retry-after': '2' }).end(); else res.writeHead(200).end() }
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id))[0].state === 'delivered')
  const [throttled] = await deliveries(w, webhook.id)
  t.match(throttled.attempts, [{ statusCode: 429 }, { statusCode: 200 }])
  const gap = Date.parse(throttled.attempts[1].at) - Date.parse(throttled.attempts[0].at)
  t.ok(gap >= 1900, `Retry-After: 2 was waited for (${gap} ms), not the 50 ms backoff`)
})

t.test('a receiver that does not answer in time, or answers without end, is cut off', async (t) => {
  const r = await receiver(t)
  r.answer = () => {} // never answers
  const w = await world(t, { ...FAST, RA_WEBHOOK_TIMEOUT_MS: '300', RA_WEBHOOK_MAX_ATTEMPTS: '2' })
  const { webhook } = await subscribe(w, r.url, ['invitation.created'])
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id))[0]?.state === 'failed')
  t.match((await deliveries(w, webhook.id))[0], {
    attempts: [{ error: /no answer within 300 ms/ }, { error: /no answer within 300 ms/ }],
    lastError: /gave up after 2 attempts/
  })

  // An endless answer is read up to the cap, then dropped: the 200 counts.
  r.answer = (_r, res) => {
    res.writeHead(200)
    const chunk = Buffer.alloc(16 * 1024, 'x')
    const pump = (): void => { while (res.write(chunk)); res.once('drain', pump) }
    pump()
  }
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id))[0].state !== 'queued' && (await deliveries(w, webhook.id))[0].state !== 'sending')
  t.match((await deliveries(w, webhook.id))[0], { state: 'delivered', lastStatusCode: 200 })
})

t.test('rotation: both secrets sign during the overlap, then only the new one; a delivery can be sent again with its webhook-id', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const { webhook, secret: oldSecret } = await subscribe(w, r.url, ['invitation.created'])
  const rotated = (await w.call('POST', `/v1/webhooks/${webhook.id}/secret`, { overlapMinutes: 60 }))
  t.equal(rotated.headers['cache-control'], 'no-store')
  const { secret: newSecret, webhook: after } = rotated.json()
  t.not(newSecret, oldSecret)
  t.ok(Date.parse(after.previousSecretValidUntil) > Date.now() + 59 * 60_000)
  await w.invite()
  await r.until(() => r.all.length === 1)
  const signatures = String(r.all[0]!.headers['webhook-signature']).split(' ')
  t.equal(signatures.length, 2, 'two signatures during the overlap')
  for (const s of [oldSecret, newSecret]) {
    r.secrets = [s]
    const { body, headers } = r.all[0]!
    t.doesNotThrow(() => new Webhook(s).verify(body, headers as Record<string, string>), 'a receiver with either secret verifies')
  }

  const ended = (await w.call('POST', `/v1/webhooks/${webhook.id}/secret`, { overlapMinutes: 0 })).json()
  t.equal(ended.webhook.previousSecretValidUntil, null)
  const [delivered] = await deliveries(w, webhook.id)
  const again = await w.call('POST', `/v1/webhooks/${webhook.id}/deliveries/${delivered.id}/retry`)
  t.equal(again.statusCode, 202)
  await r.until(() => r.all.length === 2)
  t.equal(r.all[1]!.headers['webhook-id'], r.all[0]!.headers['webhook-id'], 'sent again with the same webhook-id')
  t.equal(String(r.all[1]!.headers['webhook-signature']).split(' ').length, 1, 'only the newest secret signs after the overlap')
  t.throws(() => new Webhook(oldSecret).verify(r.all[1]!.body, r.all[1]!.headers as Record<string, string>), 'the old secret no longer verifies')
  t.doesNotThrow(() => new Webhook(ended.secret).verify(r.all[1]!.body, r.all[1]!.headers as Record<string, string>))
  await settled(w, async () => (await deliveries(w, webhook.id))[0].attempts.length === 2)
  // A queued delivery is not sent twice on request.
  r.answer = () => {}
  await w.invite()
  const [pending] = await deliveries(w, webhook.id)
  t.match((await w.call('POST', `/v1/webhooks/${webhook.id}/deliveries/${pending.id}/retry`)).json(), { statusCode: 409, code: 'DELIVERY_PENDING' })
  t.equal((await w.call('POST', `/v1/webhooks/${webhook.id}/deliveries/00000000-0000-7000-8000-000000000000/retry`)).statusCode, 404)
})

t.test('expiry, a lock, a reused ticket, a refused offer and policy changes reach webhooks', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const { secret } = await subscribe(w, r.url)
  r.secrets = [secret]
  // Expiry, recorded by the sweep without anyone asking.
  const short = await w.invite({ lifetime: { value: 1, unit: 'minutes' }, externalRef: 'INC-EXP' })
  await w.app.services.store.work(async (u) => {
    await u.sql.run('UPDATE invitations SET expires_at = ? WHERE id = ?', new Date(Date.now() - 1000).toISOString(), short.invitation.id)
  })
  // Locked after wrong passwords.
  const locked = await w.invite({ password: 'Password1-right' })
  for (let i = 0; i < 5; i++) await w.redeem(locked.ticket, `wrong-${i}`)
  // A redeemed ticket presented again.
  const used = await w.invite()
  await w.redeem(used.ticket)
  await w.redeem(used.ticket)
  // An offer refused (no policy allows offering help here).
  t.equal((await w.call('POST', '/v1/offers', { computer: 'CONTOSO\\PC-10', externalRef: 'INC-OFFER' }, w.bob)).statusCode, 403)
  // Policy changed.
  await w.call('POST', '/v1/policies', { name: 'Webhooks', settings: {} })
  const expected = ['invitation.expired', 'invitation.locked', 'security.ticket-reused', 'offer.refused', 'policy.changed']
  await r.until(() => expected.every((type) => r.all.some((e) => e.payload.type === type)))
  const of = (type: string): Json => r.all.find((e) => e.payload.type === type)!.payload.data
  t.match(of('invitation.expired'), { invitationId: short.invitation.id, externalRef: 'INC-EXP', actor: 'system', state: 'expired' })
  t.match(of('invitation.locked'), { invitationId: locked.invitation.id, state: 'locked' })
  t.match(of('security.ticket-reused'), { invitationId: used.invitation.id, actor: 'CONTOSO\\bob' })
  t.match(of('offer.refused'), { expert: 'CONTOSO\\bob', computer: 'CONTOSO\\PC-10', externalRef: 'INC-OFFER', code: 'POLICY_DENIED', rules: Array })
  t.ok(of('offer.refused').rules.length > 0, 'the rules that refused it')
  t.match(of('policy.changed'), { change: 'create', policy: 'Webhooks', actor: 'admin' })
  t.equal(r.verified.length, r.all.length)
})

t.test('addresses are checked as the connection resolves them, at every send: a name that now resolves to a refused address is not called', async (t) => {
  const r = await receiver(t)
  const port = (r.server.address() as AddressInfo).port
  // `localhost` resolves to loopback, which a sender that allows no loopback refuses, as it would 169.254.169.254.
  const strict = new WebhookSender({ timeoutMs: 2000, allowLoopback: false })
  t.match(await strict.send({ url: `http://localhost:${port}/hooks`, headers: {}, body: '{}' }),
    { kind: 'refused', error: /localhost resolves to a refused address: .*loopback/ })
  t.match(await strict.send({ url: 'http://169.254.169.254/latest/meta-data/', headers: {}, body: '{}' }), { kind: 'refused', error: /link-local/ })
  t.match(await strict.addressProblem(`http://localhost:${port}/`), /loopback/)
  t.equal(r.all.length, 0, 'nothing reached the receiver')
  const lax = new WebhookSender({ timeoutMs: 2000, allowLoopback: true })
  t.match(await lax.send({ url: `http://localhost:${port}/hooks`, headers: {}, body: '{}' }), { kind: 'answered', status: 200 })
  t.equal(r.all.length, 1)
})

t.test('an event is written with its change, in one unit of work: a change that rolls back leaves no event and sends nothing', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const { webhook } = await subscribe(w, r.url, ['policy.changed'])
  const store = w.app.services.store
  await t.rejects(store.work(async (u) => {
    await u.sql.run('INSERT INTO policies (id, name, name_key, description, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      '00000000-0000-7000-8000-00000000abcd', 'Rolled back', 'ROLLED BACK', null, '{}', new Date().toISOString(), new Date().toISOString())
    await u.webhooks.publish('policy.changed', { actor: 'test', change: 'create' })
    throw new Error('the change fails after its event was written')
  }), /the change fails/)
  await w.app.services.webhookWorker!.idle()
  t.same(await deliveries(w, webhook.id), [], 'no delivery')
  t.equal((await store.repos.sql.all('SELECT id FROM policies WHERE id = ?', '00000000-0000-7000-8000-00000000abcd')).length, 0, 'no change')
  t.equal((await store.repos.sql.all('SELECT id FROM webhook_events')).length, 0, 'no event')
  t.equal(r.all.length, 0, 'nothing sent')
})

t.test('who subscribed is cached with the directory: a change in the database, by any process, is seen by the next event', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const events = async (): Promise<number> => (await outsideRows(w.config, 'SELECT id FROM webhook_events')).length
  const { webhook } = await subscribe(w, r.url, ['invitation.redeemed'])
  await w.invite()
  t.equal(await events(), 0, 'no subscription asks for invitation.created: nothing is written (and that answer is cached)')

  // Another process (an instance, the CLI, a hand edit) subscribes it to invitation.created.
  await outsideSql(w.config, 'INSERT INTO webhook_subscription_events (subscription_id, event_type) VALUES (?, ?)', webhook.id, 'invitation.created')
  const created = await w.invite()
  t.equal(await events(), 1, 'the next creation is published: the change bumped the directory version')
  await w.app.services.webhookWorker!.idle()
  await r.until(() => r.all.length >= 1)
  t.same(r.all.map((e) => [e.payload.type, e.payload.data.invitationId]), [['invitation.created', created.invitation.id]])

  await outsideSql(w.config, 'UPDATE webhook_subscriptions SET enabled = 0 WHERE id = ?', webhook.id)
  await w.invite()
  t.equal(await events(), 1, 'disabled elsewhere: the next creation queues nothing')
  await outsideSql(w.config, 'UPDATE webhook_subscriptions SET enabled = 1 WHERE id = ?', webhook.id)
  await w.invite()
  t.equal(await events(), 2, 'enabled again: published again')
})

t.test('a list of subscribers looked up before the unit of work queues only for the subscriptions that still want the event', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const kept = (await subscribe(w, r.url, ['invitation.created'])).webhook
  const disabled = (await subscribe(w, r.url, ['invitation.created'])).webhook
  const moved = (await subscribe(w, r.url, ['invitation.created'])).webhook
  const deleted = (await subscribe(w, r.url, ['invitation.created'])).webhook
  const store = w.app.services.store
  const known = await store.repos.webhooks.subscribers('invitation.created')
  t.same([...known].sort(), [kept.id, disabled.id, moved.id, deleted.id].sort(), 'the four, looked up')
  // Changed after the lookup, before the unit: as a concurrent request or another instance would.
  t.equal((await w.call('PATCH', `/v1/webhooks/${disabled.id}`, { enabled: false })).statusCode, 200)
  t.equal((await w.call('PATCH', `/v1/webhooks/${moved.id}`, { events: ['invitation.redeemed'] })).statusCode, 200)
  t.equal((await w.call('DELETE', `/v1/webhooks/${deleted.id}`)).statusCode, 204)
  const id = await store.work((u) => u.webhooks.publish('invitation.created', { actor: 'test' }, known))
  t.ok(id, 'published')
  const queued = await outsideRows<{ subscription_id: string }>(w.config, 'SELECT subscription_id FROM webhook_deliveries WHERE event_id = ?', id)
  t.same(queued.map((d) => d.subscription_id), [kept.id], 'one delivery: to the subscription that still asks for it')

  // All of them gone: no event is kept, and the unit does not fail on the deleted subscription's key.
  t.equal((await w.call('DELETE', `/v1/webhooks/${kept.id}`)).statusCode, 204)
  t.equal(await store.work((u) => u.webhooks.publish('invitation.created', { actor: 'test' }, known)), null, 'nothing to publish')
  t.same((await outsideRows<{ id: string }>(w.config, 'SELECT id FROM webhook_events')).map((e) => e.id), [id], 'only the first event is stored')
})

t.test('e-mail delivery, a declined session, denied and dropped control, a revoked session and an accepted offer reach webhooks', async (t) => {
  const r = await receiver(t)
  const w = await helpdeskWorld(t, FAST)
  const { secret } = await subscribe(w, r.url)
  r.secrets = [secret]
  const { alice, bob } = w.tokens
  const call = (method: string, url: string, token: string, body?: Json): Promise<Json> => w.call(method, url, body, token).then((res) => {
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.body}`)
    return res.json()
  })
  const invite = (body: Json = {}): Promise<Json> => call('POST', '/v1/invitations', alice, { computer: 'CONTOSO\\PC-10', ...body })
  const redeem = async (ticket: string): Promise<string> => (await call('POST', '/v1/redemptions', bob, { ticket })).id
  const types = (): string[] => r.all.map((e) => e.payload.type)
  const of = (type: string): Json[] => r.all.filter((e) => e.payload.type === type).map((e) => e.payload.data)

  // E-mailed (the default mailer writes .eml files): delivered once the outbox has sent it.
  const mailed = await invite({ delivery: { recipients: ['bob@contoso.com'] }, externalRef: 'INC-MAIL' })
  await r.until(() => types().includes('invitation.delivered'))
  t.match(of('invitation.delivered')[0], {
    invitationId: mailed.invitation.id, externalRef: 'INC-MAIL', method: 'smapi', recipient: 'bob@contoso.com', actor: 'system'
  })

  // Declined by the novice.
  const declined = await redeem(mailed.ticket)
  await call('POST', `/v1/sessions/${declined}/decline`, alice)
  // Control asked for, denied, asked again, granted; then policy takes control away (dropped), and revoking ends the session.
  const second = await invite()
  const session = await redeem(second.ticket)
  await call('POST', `/v1/sessions/${session}/accept`, alice, { confirm: true })
  const first = (await call('POST', `/v1/sessions/${session}/control-requests`, bob)).controlRequest.id
  await call('POST', `/v1/sessions/${session}/control-requests/${first}/deny`, alice)
  const again = (await call('POST', `/v1/sessions/${session}/control-requests`, bob)).controlRequest.id
  await call('POST', `/v1/sessions/${session}/control-requests/${again}/grant`, alice)
  const viewOnly = (await call('POST', '/v1/policies', w.config.bootstrapAdminToken!, {
    name: 'View only', settings: { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } }
  })).policy
  const contoso = (await call('GET', '/v1/domains', w.config.bootstrapAdminToken!)).items[0].id
  const links = (await call('GET', `/v1/domains/${contoso}/policy-links`, w.config.bootstrapAdminToken!)).links.map((l: Json) => l.policyId)
  await call('PUT', `/v1/domains/${contoso}/policy-links`, w.config.bootstrapAdminToken!, { policies: [viewOnly.id, ...links] })
  await call('DELETE', `/v1/invitations/${second.invitation.id}`, alice)
  // An offer, accepted.
  const offered = (await call('POST', '/v1/offers', bob, { computer: 'CONTOSO\\PC-10', externalRef: 'INC-OFFER' })).id
  await call('POST', `/v1/sessions/${offered}/accept`, alice, { confirm: true })

  const expected = ['session.declined', 'control.denied', 'control.granted', 'control.dropped', 'invitation.revoked', 'session.terminated', 'offer.created']
  await r.until(() => expected.every((type) => types().includes(type)) && of('session.accepted').length === 2)
  t.match(of('session.declined')[0], { sessionId: declined, actor: 'CONTOSO\\alice', to: 'declined' })
  t.match(of('control.denied')[0], { sessionId: session, actor: 'CONTOSO\\alice', requestId: first, to: 'active' })
  t.match(of('control.dropped')[0], { sessionId: session, actor: 'system', to: 'active', reason: /no longer permits remote control/ })
  t.ok(of('control.dropped')[0].rules.length > 0, 'the rules that took control away')
  t.match(of('session.terminated')[0], { sessionId: session, invitationId: second.invitation.id, reason: /revoked/ })
  t.match(of('invitation.revoked')[0], { invitationId: second.invitation.id, endedSession: true })
  t.match(of('offer.created')[0], { sessionId: offered, invitationId: null, expert: 'CONTOSO\\bob', externalRef: 'INC-OFFER', origin: 'offer' })
  t.match(of('session.accepted').find((d) => d.sessionId === offered), { externalRef: 'INC-OFFER', origin: 'offer' })
  t.equal(r.verified.length, r.all.length, 'every one verifies')
})

t.test('with RA_KEY_ENCRYPTION_SECRET, signing secrets are stored encrypted, and deliveries still verify', async (t) => {
  const r = await receiver(t)
  const w = await world(t, { ...FAST, RA_KEY_ENCRYPTION_SECRET: 'an-encryption-secret-of-at-least-32-chars' })
  const { webhook, secret } = await subscribe(w, r.url, ['invitation.created'])
  r.secrets = [secret]
  const [row] = await w.app.services.repos.sql.all<{ secret: string }>('SELECT secret FROM webhook_subscriptions WHERE id = ?', webhook.id)
  t.notOk(row!.secret.includes('whsec_') || row!.secret.includes(secret.slice(6)), 'not in clear in the database')
  t.match(JSON.parse(row!.secret), { kdf: 'scrypt', ct: String })
  await w.invite()
  await r.until(() => r.all.length === 1)
  t.equal(r.verified.length, 1, 'signed with the decrypted secret')
})

t.test('deliveries that ended are purged after the retention period, with their events; pending ones stay; a batch at a time', async (t) => {
  const r = await receiver(t)
  const w = await world(t, FAST)
  const { webhook } = await subscribe(w, r.url, ['invitation.created'])
  await w.invite()
  await settled(w, async () => (await deliveries(w, webhook.id))[0]?.state === 'delivered')
  await w.app.services.webhookWorker!.stop() // what is queued next stays queued
  await w.invite()
  await w.app.services.purges!.idle()
  const old = new Date(Date.now() - 40 * 86_400_000).toISOString()
  // 2,500 more deliveries that ended long ago, each with its event, and as many rate-limit windows: more than two batches each.
  const series = 'WITH RECURSIVE n (x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2500)'
  await w.app.services.store.work(async (u) => {
    await u.sql.run('UPDATE webhook_deliveries SET updated_at = ?', old)
    await u.sql.run('UPDATE webhook_events SET occurred_at = ?', old)
    await u.sql.run(`INSERT INTO webhook_events (id, type, occurred_at, payload) ${series}
      SELECT 'old-event-' || x, type, occurred_at, payload FROM n, (SELECT * FROM webhook_events LIMIT 1) e`)
    await u.sql.run(`INSERT INTO webhook_deliveries (id, subscription_id, event_id, state, attempts, created_at, updated_at) ${series}
      SELECT 'old-delivery-' || x, ?, 'old-event-' || x, 'failed', 1, ?, ? FROM n`, webhook.id, old, old)
    await u.sql.run(`INSERT INTO limit_windows (key, window_start, count) ${series} SELECT 'old-window-' || x, ?, 1 FROM n`, Date.now() - 7_200_000)
    await u.sql.run('INSERT INTO limit_windows (key, window_start, count) VALUES (?, ?, 1)', 'current-window', Date.now())
  })
  const count = async (table: string): Promise<number> =>
    Number((await w.app.services.repos.sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n)
  t.equal(await count('webhook_deliveries'), 2502)
  w.app.services.purges!.kick()
  await w.app.services.purges!.idle()
  t.match(await deliveries(w, webhook.id), [{ state: 'queued' }], 'the pending one stays; the delivered one and the 2,500 failed ones went')
  t.equal(await count('webhook_deliveries'), 1)
  t.equal(await count('webhook_events'), 1, 'only the event still needed')
  t.equal(await count('webhook_attempts'), 0, 'attempts go with their delivery')
  t.same(await w.app.services.repos.sql.all('SELECT key FROM limit_windows WHERE key LIKE ?', '%-window%'), [{ key: 'current-window' }],
    'rate-limit windows over for an hour went; the current one stays')
})
