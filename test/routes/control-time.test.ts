import t from 'tap'
import { outsideRows, outsideSql, type Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'
import { FAST, receiver, subscribe } from './webhook-receiver.js'

const post = (w: InvitationWorld, id: string, path: string, token: string, body?: Json) => w.call('POST', `/v1/sessions/${id}${path}`, body, token)
const view = async (w: InvitationWorld, id: string, token = w.alice): Promise<Json> => (await w.call('GET', `/v1/sessions/${id}`, undefined, token)).json()
const types = async (w: InvitationWorld, id: string): Promise<string[]> =>
  (await w.call('GET', `/v1/sessions/${id}/history?limit=100`, undefined, w.alice)).json().items.map((e: Json) => e.type)

/** A session alice accepted, with bob's control request waiting: its id and the request's. */
async function requested (w: InvitationWorld): Promise<{ id: string, rid: string }> {
  const redeemed = await w.redeem((await w.invite()).ticket)
  const id = redeemed.json().id
  await post(w, id, '/accept', w.alice, { confirm: true })
  const rid = (await post(w, id, '/control-requests', w.bob)).json().controlRequest.id
  return { id, rid }
}

/** Moves the session's control times as if `ms` had passed (the sweep reads them against the clock). */
async function passTime (w: InvitationWorld, id: string, ms: number): Promise<void> {
  const shift = (iso: string | null) => iso === null ? null : new Date(Date.parse(iso) - ms).toISOString()
  const [row] = await outsideRows<{ control_until: string | null, control_warn_at: string | null }>(w.config,
    'SELECT control_until, control_warn_at FROM sessions WHERE id = ?', id)
  await outsideSql(w.config, 'UPDATE sessions SET control_until = ?, control_warn_at = ? WHERE id = ?',
    shift(row!.control_until), shift(row!.control_warn_at), id)
}

t.test('C4 control that runs out: a grant lasts the minutes the novice chose, at most RA_CONTROL_GRANT_MAX_MINUTES', async (t) => {
  const w = await world(t, { RA_CONTROL_GRANT_MAX_MINUTES: '60', RA_CONTROL_GRANT_DEFAULT_MINUTES: '20' })
  const { id, rid } = await requested(w)
  const tooLong = await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 61 })
  t.match(tooLong.json(), { statusCode: 422, code: 'GRANT_TOO_LONG', field: 'minutes', message: /at most 60 minutes/ })
  t.match(await view(w, id), { state: 'control-requested', control: null }, 'refused: nothing changed')
  t.match((await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 0 })).json(), { statusCode: 400, code: 'VALIDATION_FAILED' })

  const before = Date.now()
  const granted = (await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 15 })).json()
  t.match(granted, { state: 'in-control', mode: 'control', control: { moreTimeRequestedAt: null } })
  const until = Date.parse(granted.control.until)
  t.ok(until >= before + 15 * 60_000 && until <= Date.now() + 15 * 60_000, 'fifteen minutes from the grant')
  t.match((await view(w, id, w.bob)).control, { until: granted.control.until }, 'the expert sees the same end')
  const history = (await w.call('GET', `/v1/sessions/${id}/history?limit=50`, undefined, w.alice)).json().items
  t.match(history.find((e: Json) => e.type === 'control.granted').data, { minutes: 15, until: granted.control.until })

  // Without a body, the default.
  const other = await requested(w)
  const byDefault = (await post(w, other.id, `/control-requests/${other.rid}/grant`, w.alice)).json()
  t.ok(Math.abs(Date.parse(byDefault.control.until) - Date.now() - 20 * 60_000) < 60_000, 'RA_CONTROL_GRANT_DEFAULT_MINUTES')
})

t.test('C4 control that runs out: control.expiring a minute before, then back to view with control.expired; both to webhooks', async (t) => {
  const w = await world(t, FAST)
  const hooks = await receiver(t)
  await subscribe(w, hooks.url, ['control.granted', 'control.expiring', 'control.expired'])
  const { id, rid } = await requested(w)
  await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 5 })

  t.equal((await view(w, id)).state, 'in-control')
  await passTime(w, id, 4 * 60_000 + 1000) // 59 s left
  const warned = await view(w, id)
  t.match(warned, { state: 'in-control', mode: 'control' }, 'still in control a minute before its end')
  t.equal((await types(w, id)).filter((e) => e === 'control.expiring').length, 1)
  await view(w, id)
  t.equal((await types(w, id)).filter((e) => e === 'control.expiring').length, 1, 'announced once')

  await passTime(w, id, 60_000)
  const dropped = await view(w, id)
  t.match(dropped, { state: 'active', mode: 'view', control: null }, 'control dropped back to view')
  const all = await types(w, id)
  t.same(all.slice(-2), ['control.expiring', 'control.expired'])
  const expired = (await w.call('GET', `/v1/sessions/${id}/history?limit=50`, undefined, w.alice)).json().items.at(-1)
  t.match(expired, { actor: 'system', data: { from: 'in-control', to: 'active', mode: 'view', reason: /time the novice granted control for is up/ } })
  t.match((await post(w, id, '/control/renew', w.alice)).json(), { statusCode: 409, code: 'NOT_IN_CONTROL' }, 'nothing left to renew')

  await hooks.until(() => hooks.all.some((r) => r.payload.type === 'control.expired'))
  t.same(hooks.all.map((r) => r.payload.type), ['control.granted', 'control.expiring', 'control.expired'])
  t.match(hooks.all[1]!.payload.data, { sessionId: id, until: /Z$/ })
})

t.test('C4/C5 control that runs out: the expert asks for more time, the novice renews with one click; stopping still works at once', async (t) => {
  const w = await world(t)
  const { id, rid } = await requested(w)
  await post(w, id, `/control-requests/${rid}/grant`, w.alice, { minutes: 5 })
  t.match((await post(w, id, '/control/more-time', w.alice)).json(), { statusCode: 403, code: 'NOT_SESSION_EXPERT' })
  t.match((await post(w, id, '/control/renew', w.bob)).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' })
  const asked = (await post(w, id, '/control/more-time', w.bob)).json()
  t.match(asked, { state: 'in-control', control: { moreTimeRequestedAt: /Z$/ } })

  await passTime(w, id, 4 * 60_000 + 30_000) // announced
  await view(w, id)
  const renewed = await post(w, id, '/control/renew', w.alice, { minutes: 30 })
  t.equal(renewed.statusCode, 200, renewed.body)
  t.match(renewed.json(), { state: 'in-control', control: { moreTimeRequestedAt: null } })
  t.ok(Date.parse(renewed.json().control.until) > Date.now() + 29 * 60_000, 'thirty minutes from now')
  await passTime(w, id, 29 * 60_000 + 30_000)
  await view(w, id)
  t.same((await types(w, id)).filter((e) => e.startsWith('control.')),
    ['control.requested', 'control.granted', 'control.more-time-requested', 'control.expiring', 'control.renewed', 'control.expiring'],
    'the renewal is announced again before its own end')

  const stopped = (await post(w, id, '/control/stop', w.alice)).json()
  t.match(stopped, { state: 'active', mode: 'view', control: null }, 'C5: the novice stops control at any time')
  await passTime(w, id, 3_600_000)
  t.equal((await types(w, id)).includes('control.expired'), false, 'a stopped grant does not expire later')
  t.match((await post(w, id, '/control/more-time', w.bob)).json(), { statusCode: 409, code: 'NOT_IN_CONTROL' })
})
