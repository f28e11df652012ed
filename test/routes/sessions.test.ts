import type { AddressInfo } from 'node:net'
import t from 'tap'
import { atTime, type Json } from '../helper.js'
import { runWorker } from '../workers.js'
import { openStream, type SseEvent } from '../sse.js'
import { setPolicy, world, type InvitationWorld } from './invitations-helper.js'

/** alice invites, bob redeems: a session awaiting alice. */
async function sessionOf (w: InvitationWorld, invite: Json = {}): Promise<string> {
  const { ticket } = await w.invite(invite)
  const res = await w.redeem(ticket)
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().id
}
const get = async (w: InvitationWorld, id: string, token?: string) => (await w.call('GET', `/v1/sessions/${id}`, undefined, token ?? w.alice)).json()
const post = (w: InvitationWorld, id: string, path: string, token: string, body?: Json) => w.call('POST', `/v1/sessions/${id}${path}`, body, token)
const accept = (w: InvitationWorld, id: string) => post(w, id, '/accept', w.alice, { confirm: true })
const requestControl = async (w: InvitationWorld, id: string): Promise<string> => {
  const res = await post(w, id, '/control-requests', w.bob)
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().controlRequest.id
}
const events = async (w: InvitationWorld, id: string): Promise<string[]> => {
  const db = w.app.services.repos.sessions
  return (await db.events(id, 0)).map((e) => e.type)
}

t.test('C1: before acceptance nothing but state is visible; consent shows the verified expert, the origin and the policy message', async (t) => {
  const w = await world(t)
  const bob = (await w.call('GET', '/v1/users?limit=50')).json().items.find((u: Json) => u.name === 'CONTOSO\\bob')
  await w.call('PATCH', `/v1/users/${bob.id}`, { displayName: 'Bob Expert' })
  await setPolicy(w, {
    solicitedRemoteAssistance: { state: 'enabled' },
    customMessages: {
      state: 'enabled',
      viewMessage: 'Only helpdesk staff may connect.',
      shareControlMessage: 'You are about to share control.'
    }
  })
  const id = await sessionOf(w)
  const s = await get(w, id, w.bob)
  t.match(s, { state: 'awaiting-novice', mode: 'none', origin: 'invitation' })
  t.same(s.consent, {
    expert: { name: 'CONTOSO\\bob', displayName: 'Bob Expert' },
    solicited: true,
    messageBeforeConnecting: 'Only helpdesk staff may connect.',
    messageBeforeSharingControl: 'You are about to share control.',
    acceptBy: s.consent.acceptBy,
    expertFromOtherDomain: false,
    firstTimeHelper: true
  })
  t.ok(Date.parse(s.consent.acceptBy) - Date.parse(s.createdAt) === 120_000, 'two minutes to answer by default')
  t.match((await post(w, id, '/accept', w.alice, { confirm: false })).json(), { statusCode: 422, code: 'CONFIRMATION_REQUIRED' })
  t.match((await post(w, id, '/accept', w.alice)).json(), { statusCode: 400 }, 'no body, no consent')
  t.match((await post(w, id, '/accept', w.bob, { confirm: true })).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' })
  t.equal((await post(w, id, '/accept', w.carol, { confirm: true })).statusCode, 404, 'a stranger does not learn it exists')
  t.match((await post(w, id, '/control-requests', w.bob)).json(), { statusCode: 409, code: 'SESSION_NOT_ACTIVE' }, 'C3: not before acceptance')
  t.equal((await get(w, id)).state, 'awaiting-novice', 'refusals changed nothing')
  const accepted = await accept(w, id)
  t.match(accepted.json(), { state: 'active', mode: 'view', acceptedAt: /Z$/ }, 'C2: view once accepted')
})

t.test('C3/C4: control only after a request by the expert and a grant by the novice', async (t) => {
  const w = await world(t)
  const id = await sessionOf(w)
  await accept(w, id)
  t.match((await post(w, id, '/control-requests', w.alice)).json(), { statusCode: 403, code: 'NOT_SESSION_EXPERT' })
  const rid = await requestControl(w, id)
  t.match(await get(w, id), { state: 'control-requested', mode: 'view', controlRequest: { id: rid, state: 'pending' } })
  t.match((await post(w, id, '/control-requests', w.bob)).json(), { statusCode: 409, code: 'CONTROL_REQUEST_PENDING' })
  t.match((await post(w, id, `/control-requests/${rid}/grant`, w.bob)).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' })
  t.match(
    (await post(w, id, '/control-requests/00000000-0000-4000-8000-000000000000/grant', w.alice)).json(),
    { statusCode: 409, code: 'CONTROL_REQUEST_NOT_PENDING' }
  )
  const granted = (await post(w, id, `/control-requests/${rid}/grant`, w.alice)).json()
  t.match(granted, { state: 'in-control', mode: 'control', controlRequest: null })
  t.match(
    (await post(w, id, `/control-requests/${rid}/grant`, w.alice)).json(),
    { statusCode: 409, code: 'CONTROL_REQUEST_NOT_PENDING' },
    'a request is granted once'
  )
  const denyFlow = await requestControl(w, id).catch((e: Error) => e.message)
  t.match(denyFlow, /ALREADY_IN_CONTROL/)
  t.same(await events(w, id), ['session.created', 'session.accepted', 'control.requested', 'control.granted'])
})

t.test('C5: the novice stops control at any time, also while a request waits; either side ends', async (t) => {
  const w = await world(t)
  const id = await sessionOf(w)
  await accept(w, id)
  const rid = await requestControl(w, id)
  t.match((await post(w, id, '/control/stop', w.alice)).json(), { state: 'active', mode: 'view', controlRequest: null }, 'stop while the request waits')
  t.match(
    (await post(w, id, `/control-requests/${rid}/grant`, w.alice)).json(),
    { code: 'CONTROL_REQUEST_NOT_PENDING' },
    'the stopped request cannot be granted later'
  )
  const rid2 = await requestControl(w, id)
  await post(w, id, `/control-requests/${rid2}/grant`, w.alice)
  t.match((await post(w, id, '/control/stop', w.bob)).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' })
  t.match((await post(w, id, '/control/stop', w.alice)).json(), { state: 'active', mode: 'view' }, 'immediately back to view only')
  t.match((await post(w, id, '/control/stop', w.alice)).json(), { state: 'active' }, 'stopping again is harmless')
  const rid3 = await requestControl(w, id)
  t.match((await post(w, id, `/control-requests/${rid3}/deny`, w.alice)).json(), { state: 'active' })
  t.match((await post(w, id, '/end', w.bob)).json(), { state: 'ended', mode: 'none', endReason: 'session.ended' }, 'the expert ends')
  t.match((await post(w, id, '/control-requests', w.bob)).json(), { statusCode: 409, code: 'SESSION_NOT_ACTIVE' })
  const other = await sessionOf(w)
  await accept(w, other)
  t.match((await post(w, other, '/end', w.alice)).json(), { state: 'ended' }, 'the novice ends')
})

t.test('S2: a view-only policy refuses control requests with the checks; a session opened view-only stays so', async (t) => {
  const w = await world(t)
  const policy = await setPolicy(w, { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } })
  const id = await sessionOf(w)
  t.equal((await get(w, id)).permittedMode, 'view')
  await accept(w, id)
  const refused = (await post(w, id, '/control-requests', w.bob)).json()
  t.match(refused, { statusCode: 403, code: 'CONTROL_NOT_PERMITTED', checks: [{ rule: 'S2', passed: false }] })
  await w.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control' } } })
  t.match((await post(w, id, '/control-requests', w.bob)).json(), { statusCode: 403, checks: [{ rule: 'S2', passed: true }, { rule: 'S2', passed: false, detail: /viewing only/ }] }, 'opened for viewing: stays so')
})

t.test('a policy switched to view only while control is granted drops control at once, and the events say why', async (t) => {
  const w = await world(t)
  const policy = await setPolicy(w, { solicitedRemoteAssistance: { state: 'enabled' } })
  const id = await sessionOf(w)
  await accept(w, id)
  const rid = await requestControl(w, id)
  await post(w, id, `/control-requests/${rid}/grant`, w.alice)
  t.equal((await get(w, id)).mode, 'control')
  await w.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view' } } })
  t.match(await get(w, id), { state: 'active', mode: 'view' }, 'the very next read shows it (O9)')
  const dropped = (await w.app.services.repos.sessions.events(id, 0)).find((e) => e.type === 'control.dropped')
  t.match(JSON.parse(dropped!.data!), { reason: 'policy no longer permits remote control', checks: [{ rule: 'S2', passed: false }] })
  await w.call('PATCH', `/v1/policies/${policy}`, { settings: { solicitedRemoteAssistance: { state: 'disabled' } } })
  t.match(await get(w, id), { state: 'ended', endReason: 'policy no longer allows this session' }, 'S5: Solicited RA disabled ends it')
})

t.test('a disabled account, a revoked expert token or a revoked invitation ends live sessions at once', async (t) => {
  const w = await world(t)
  const users = (await w.call('GET', '/v1/users?limit=50')).json().items
  const first = await sessionOf(w)
  await accept(w, first)
  await w.call('PATCH', `/v1/users/${users.find((u: Json) => u.name === 'CONTOSO\\carol').id}`, { enabled: false })
  t.equal((await get(w, first)).state, 'active', 'another account changes nothing')

  const tokens = (await w.call('GET', '/v1/tokens?limit=50')).json().items
  const bobToken = tokens.find((x: Json) => x.principal.user === 'CONTOSO\\bob')
  await w.call('DELETE', `/v1/tokens/${bobToken.id}`)
  t.match(await get(w, first), { state: 'ended', endReason: 'the expert\'s token was revoked' })

  const bob2 = (await w.call('POST', '/v1/tokens', { principal: { type: 'user', user: 'CONTOSO\\bob' } })).json().token
  const { invitation, ticket } = await w.invite()
  const second = (await w.redeem(ticket, undefined, bob2)).json().id
  t.match((await w.call('DELETE', `/v1/invitations/${invitation.id}`, undefined, w.alice)).json(), { state: 'revoked' })
  t.match(await get(w, second), { state: 'ended', endReason: 'the novice revoked the invitation' })

  const third = (await w.redeem((await w.invite()).ticket, undefined, bob2)).json().id
  await w.call('PATCH', `/v1/users/${users.find((u: Json) => u.name === 'CONTOSO\\bob').id}`, { enabled: false })
  t.match(await get(w, third), { state: 'ended', endReason: 'an account of this session was disabled' })
  t.match(
    (await w.call('DELETE', `/v1/users/${users.find((u: Json) => u.name === 'CONTOSO\\bob').id}`)).json(),
    { statusCode: 409, code: 'IN_USE' },
    'its history keeps the account'
  )
})

t.test('with a controlled clock: an unanswered session expires, an unanswered control request is denied', async (t) => {
  const w = await world(t)
  const quiet = await sessionOf(w)
  const id = await sessionOf(w)
  await accept(w, id)
  const rid = await requestControl(w, id)
  const requested = await get(w, id)
  await atTime(Date.parse(requested.controlRequest.answerBy) - 1000, async () => {
    t.equal((await get(w, id)).state, 'control-requested', 'a second before the deadline: still waiting')
  })
  await atTime(Date.parse(requested.controlRequest.answerBy), async () => {
    t.match(await get(w, id), { state: 'active', mode: 'view', controlRequest: null }, 'no answer is a no')
  })
  const acceptBy = Date.parse((await get(w, quiet)).consent.acceptBy)
  await atTime(acceptBy - 1000, async () => { t.equal((await get(w, quiet)).state, 'awaiting-novice') })
  await atTime(acceptBy, async () => {
    t.match(await get(w, quiet), { state: 'expired', mode: 'none' })
    t.match((await post(w, quiet, '/accept', w.alice, { confirm: true })).json(), { statusCode: 409, code: 'SESSION_NOT_ACTIVE' }, 'too late to accept')
  })
  t.ok((await events(w, id)).includes('control.request-expired'))
  t.match(await w.app.services.repos.sessions.request(rid), { state: 'expired' })
  t.ok((await events(w, quiet)).includes('session.expired'))
})

t.test('C4/C5: grants and stops raced from three service processes on one database file leave one consistent state', async (t) => {
  // Within one process every command runs synchronously, so only other processes can race it for real.
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  const id = await sessionOf(w)
  await accept(w, id)
  for (let round = 0; round < 4; round++) {
    const rid = await requestControl(w, id)
    const commands = Array.from({ length: 40 }, (_, i) => i % 2 === 0
      ? { method: 'POST', url: `/v1/sessions/${id}/control-requests/${rid}/grant`, token: w.alice }
      : { method: 'POST', url: `/v1/sessions/${id}/control/stop`, token: w.alice })
    const startAt = Date.now() + 2500
    const outcomes = (await Promise.all([
      runWorker(w.config, dir, commands, startAt),
      runWorker(w.config, dir, commands, startAt),
      new Promise((resolve) => setTimeout(resolve, startAt - Date.now()))
        .then(() => Promise.all(commands.map((c) => w.call(c.method, c.url, undefined, c.token))))
        .then((rs) => rs.map((r) => ({ status: r.statusCode, code: r.statusCode < 400 ? null : r.json().code as string })))
    ])).flatMap((results) => results.map((r, i) => ({ ...r, grant: i % 2 === 0 })))
    const grants = outcomes.filter((o) => o.grant && o.status === 200)
    t.ok(grants.length <= 1, `round ${round}: at most one grant of request ${rid} succeeded across the processes (${grants.length})`)
    t.ok(outcomes.every((o) => o.status === 200 || o.code === 'CONTROL_REQUEST_NOT_PENDING'), 'losers are told why')
    const s = await get(w, id)
    t.ok(['active', 'in-control'].includes(s.state))
    t.equal(s.mode, s.state === 'in-control' ? 'control' : 'view')
    await post(w, id, '/control/stop', w.alice)
  }
  // Replaying the stored events through the rules gives the stored state: no grant without a pending request.
  const log = await events(w, id)
  let state = 'awaiting-novice'
  const next: Record<string, string> = {
    'session.created': 'awaiting-novice',
    'session.accepted': 'active',
    'control.requested': 'control-requested',
    'control.granted': 'in-control',
    'control.stopped': 'active',
    'control.denied': 'active'
  }
  for (const type of log) {
    if (type === 'control.granted') t.equal(state, 'control-requested', 'a grant follows a request')
    state = next[type] ?? state
  }
  t.equal(state, (await get(w, id)).state)
})

/** Reads a session's SSE stream from a listening server until `count` events arrived (or the stream ends). */
async function readEvents (
  url: string,
  token: string,
  count: number,
  lastEventId?: string
): Promise<{ events: SseEvent[], ended: boolean, abort: () => void }> {
  const stream = await openStream(url, token, lastEventId)
  await stream.waitFor(() => stream.events.length >= count || stream.ended(), `${count} events`).catch(() => {})
  return { events: stream.events.slice(0, count), ended: stream.ended(), abort: () => { stream.close().catch(() => {}) } }
}

t.test('live events: a client that reconnects with Last-Event-ID gets every missed event once, in order; the stream closes at the end', async (t) => {
  const w = await world(t, { RA_SSE_HEARTBEAT_MS: '200' })
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`
  const id = await sessionOf(w)
  const url = `${base}/v1/sessions/${id}/events`

  const first = await readEvents(url, w.alice, 1)
  t.same(first.events.map((e) => e.event), ['session.created'])
  const live = readEvents(url, w.bob, 2)
  await accept(w, id)
  t.same((await live).events.map((e) => e.event), ['session.created', 'session.accepted'], 'pushed live to the expert')
  ;(await live).abort()
  first.abort()

  // While nobody listens: three more transitions.
  const rid = await requestControl(w, id)
  await post(w, id, `/control-requests/${rid}/grant`, w.alice)
  await post(w, id, '/control/stop', w.alice)
  const resumed = await readEvents(url, w.alice, 4, first.events[0]!.id)
  t.same(
    resumed.events.map((e) => e.event),
    ['session.accepted', 'control.requested', 'control.granted', 'control.stopped'],
    'exactly what was missed, in order'
  )
  const ids = resumed.events.map((e) => Number(e.id))
  t.ok(ids.every((n, i) => i === 0 || n > ids[i - 1]!), 'increasing ids')
  t.match(resumed.events[2]!.data, {
    type: 'control.granted',
    actor: 'CONTOSO\\alice',
    from: 'control-requested',
    to: 'in-control',
    mode: 'control',
    requestId: rid
  })
  resumed.abort()

  const lastSeen = resumed.events[3]!.id
  const tail = readEvents(url, w.alice, 100, lastSeen)
  await post(w, id, '/end', w.bob)
  const closing = await tail
  t.same(closing.events.map((e) => e.event), ['session.ended'], 'nothing seen before is sent again')
  t.equal(closing.ended, true, 'the stream closes when the session ends')

  const integration = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'watcher', scopes: ['sessions:read'] } })).json().token
  const all = await readEvents(url, integration, 100)
  t.equal(all.events.length, 6, 'an integration with sessions:read replays the whole log')
  const stranger = await fetch(url, { headers: { authorization: `Bearer ${w.carol}`, accept: 'text/event-stream' } })
  t.equal(stranger.status, 404)
  await stranger.text()
  await w.app.close()
})

// Every stream of a session, however it joined, gets each event once and in order, also one stored by another process on the
// database file; a stream that leaves stops none of the others; all of them end with the session.
t.test('C1–C5 live events: many streams of one session, one event stored by another process', async (t) => {
  const dir = t.testdir()
  const w = await world(t, {}, dir)
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  const id = await sessionOf(w)
  const url = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}/v1/sessions/${id}/events`
  const early = await Promise.all(Array.from({ length: 20 }, (_, i) => openStream(url, i % 2 === 0 ? w.alice : w.bob)))
  await Promise.all(early.map((s) => s.waitFor(() => s.events.length >= 1, 'session.created')))
  await accept(w, id)
  await Promise.all(early.map((s) => s.waitFor(() => s.events.length >= 2, 'session.accepted')))
  // Two that join later: one from the start, one resuming after the first event.
  const fromStart = await openStream(url, w.alice)
  const resumed = await openStream(url, w.bob, early[0]!.events[0]!.id)
  await fromStart.waitFor(() => fromStart.events.length >= 2, 'the events so far')
  await resumed.waitFor(() => resumed.events.length >= 1, 'session.accepted')
  const leaver = early.pop()!
  await leaver.close()
  // Another service process on the same database file asks for control: no notification reaches this one, its poll finds it.
  const [asked] = await runWorker(w.config, dir, [{ method: 'POST', url: `/v1/sessions/${id}/control-requests`, token: w.bob }], Date.now())
  t.equal(asked!.status, 201, 'the other process stored control.requested')
  const all = [...early, fromStart, resumed]
  await Promise.all(all.map((s) => s.waitFor(() => s.events.length >= (s === resumed ? 2 : 3), 'control.requested')))
  t.equal(w.app.services.streams.size, 21, 'the stream that left is no longer served')
  await post(w, id, '/end', w.alice)
  await Promise.all(all.map((s) => s.waitFor(() => s.ended(), 'the end of the stream')))
  const whole = ['session.created', 'session.accepted', 'control.requested', 'session.ended']
  for (const [i, s] of all.entries()) {
    t.same(s.events.map((e) => e.event), s === resumed ? whole.slice(1) : whole, `stream ${i}: each event once, in order`)
    const ids = s.events.map((e) => Number(e.id))
    t.ok(ids.every((n, j) => j === 0 || n > ids[j - 1]!), `stream ${i}: increasing ids`)
  }
  const requested = (s: typeof fromStart) => s.events.filter((e) => e.event === 'control.requested').map((e) => ({ id: e.id, data: e.data }))
  t.same(all.map((s) => requested(s)), all.map(() => requested(fromStart)), 'the same id and data on every stream')
  t.equal(w.app.services.streams.size, 0, 'nothing is served after the end')
  await w.app.close()
})

t.test('live events: an idle stream gets heartbeat comments; an unauthenticated one gets 401', async (t) => {
  const w = await world(t, { RA_SSE_HEARTBEAT_MS: '100' })
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}/v1/sessions/${await sessionOf(w)}/events`
  const controller = new AbortController()
  const res = await fetch(url, { headers: { authorization: `Bearer ${w.alice}`, accept: 'text/event-stream' }, signal: controller.signal })
  t.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream')
  const reader = res.body!.getReader()
  let text = ''
  while (!/^:.*heartbeat/m.test(text)) text += new TextDecoder().decode((await reader.read()).value)
  t.match(text, /^: ?heartbeat/m, 'a comment line keeps the idle stream open')
  controller.abort()
  const anonymous = await fetch(url, { headers: { accept: 'text/event-stream' } })
  t.equal(anonymous.status, 401)
  await anonymous.text()
  await w.app.close()
})

t.test('C1–C5 commands without a body work when a client sends content-type: application/json and an empty body', async (t) => {
  const w = await world(t)
  const bare = (id: string, path: string, token: string) => w.app.inject({
    method: 'POST', url: `/v1/sessions/${id}${path}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: ''
  })
  const declined = await sessionOf(w)
  t.match((await bare(declined, '/decline', w.alice)).json(), { state: 'declined' }, 'decline')
  const id = await sessionOf(w)
  t.equal((await accept(w, id)).statusCode, 200)
  const requested = await bare(id, '/control-requests', w.bob)
  t.equal(requested.statusCode, 201, `control request: ${requested.body}`)
  const rid = requested.json().controlRequest.id
  t.match((await bare(id, `/control-requests/${rid}/deny`, w.alice)).json(), { state: 'active' }, 'deny')
  const again = (await bare(id, '/control-requests', w.bob)).json().controlRequest.id
  t.match((await bare(id, `/control-requests/${again}/grant`, w.alice)).json(), { state: 'in-control' }, 'grant')
  t.match((await bare(id, '/control/stop', w.alice)).json(), { state: 'active', mode: 'view' }, 'C5: stop control')
  t.match((await bare(id, '/end', w.bob)).json(), { state: 'ended' }, 'end')
  const broken = await w.app.inject({
    method: 'POST',
    url: `/v1/sessions/${id}/end`,
    headers: { authorization: `Bearer ${w.bob}`, 'content-type': 'application/json' },
    payload: '{'
  })
  t.match(broken.json(), { statusCode: 400, code: 'INVALID_JSON' }, 'a malformed body is still refused')
})
