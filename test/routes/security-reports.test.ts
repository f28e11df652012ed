import t from 'tap'
import type { Json } from '../helper.js'
import { world, type InvitationWorld } from './invitations-helper.js'
import { FAST, receiver, subscribe } from './webhook-receiver.js'

const post = (w: InvitationWorld, id: string, p: string, token: string, body?: Json) => w.call('POST', `/v1/sessions/${id}${p}`, body, token)
const view = async (w: InvitationWorld, id: string, token = w.alice): Promise<Json> => (await w.call('GET', `/v1/sessions/${id}`, undefined, token)).json()

/** FABRIKAM, trusted by CONTOSO, with frank, a helper from there. */
async function withFrank (w: InvitationWorld): Promise<string> {
  const res = await w.call('POST', '/v1/directory/import', {
    domains: [{ name: 'FABRIKAM' }, { name: 'CONTOSO', trusts: ['FABRIKAM'] }],
    users: [{ name: 'FABRIKAM\\frank', displayName: 'Frank' }]
  })
  if (res.statusCode !== 200) throw new Error(res.body)
  return (await w.call('POST', '/v1/tokens', { principal: { type: 'user', user: 'FABRIKAM\\frank' } })).json().token
}

t.test('C1 this isn\'t who I expected: the prompt says when the expert is from another domain, and when they never helped this novice', async (t) => {
  const w = await world(t)
  const frank = await withFrank(w)
  const first = await w.redeem((await w.invite()).ticket)
  t.match(first.json().consent, { expertFromOtherDomain: false, firstTimeHelper: true }, 'bob, of CONTOSO, has not helped alice yet')
  await post(w, first.json().id, '/decline', w.alice)
  const second = (await w.redeem((await w.invite()).ticket)).json()
  t.match(second.consent, { firstTimeHelper: true }, 'a declined session is no help given')
  await post(w, second.id, '/accept', w.alice, { confirm: true })
  await post(w, second.id, '/end', w.alice)
  const third = (await w.redeem((await w.invite()).ticket)).json()
  t.match(third.consent, { expertFromOtherDomain: false, firstTimeHelper: false }, 'bob helped alice before: accepted once')
  t.match((await view(w, third.id)).consent, { firstTimeHelper: false }, 'as the novice sees it')

  const byFrank = await w.redeem((await w.invite()).ticket, undefined, frank)
  t.equal(byFrank.statusCode, 201, byFrank.body)
  t.match((await view(w, byFrank.json().id)).consent, { expert: { name: 'FABRIKAM\\frank' }, expertFromOtherDomain: true, firstTimeHelper: true })
})

t.test('C1 "helped this novice before" is answered from an index of accepted sessions only: opening a session writes no entry to it', async (t) => {
  const w = await world(t)
  const storage = w.app.services.storage
  const row = storage.engine === 'postgres'
    ? await storage.get<{ def: string }>('SELECT indexdef AS def FROM pg_indexes WHERE indexname = \'sessions_pair\'')
    : await storage.get<{ def: string }>('SELECT sql AS def FROM sqlite_master WHERE type = \'index\' AND name = \'sessions_pair\'')
  t.match(row?.def, /\(\s*expert_id\s*,\s*novice_id\s*\)/, 'on the pair')
  t.match(row?.def, /WHERE\s*\(?\s*accepted_at IS NOT NULL\s*\)?\s*$/i, 'partial: accepted sessions only')
})

t.test('C5 this isn\'t who I expected: a report ends a live session at once, control too; to the audit trail, webhooks and administrators', async (t) => {
  const w = await world(t, FAST)
  const hooks = await receiver(t)
  await subscribe(w, hooks.url, ['security.reported', 'session.ended'])
  const id = (await w.redeem((await w.invite({ externalRef: 'INC-42' })).ticket)).json().id
  await post(w, id, '/accept', w.alice, { confirm: true })
  const rid = (await post(w, id, '/control-requests', w.bob)).json().controlRequest.id
  await post(w, id, `/control-requests/${rid}/grant`, w.alice)
  t.equal((await view(w, id)).mode, 'control')

  t.match((await post(w, id, '/report', w.bob, { words: 'the novice is lying' })).json(), { statusCode: 403, code: 'NOT_SESSION_NOVICE' })
  t.match((await post(w, id, '/report', w.alice, { words: '' })).json(), { statusCode: 400, code: 'VALIDATION_FAILED' })
  t.match((await post(w, id, '/report', w.alice, {})).json(), { statusCode: 400 })
  t.equal((await view(w, id)).state, 'in-control', 'refusals changed nothing')

  const words = 'He called me on the phone and said he was from Microsoft.'
  const reported = await post(w, id, '/report', w.alice, { words })
  t.equal(reported.statusCode, 200, reported.body)
  t.match(reported.json(), { state: 'ended', mode: 'none', control: null, endReason: /reported that this is not who they expected/ })
  t.match(reported.json().securityEvents, [{ kind: 'reported', details: { words } }])
  t.match((await post(w, id, '/control/stop', w.alice)).json(), { code: 'SESSION_NOT_ACTIVE' }, 'nothing left to stop')
  t.match((await post(w, id, '/report', w.alice, { words })).json(), { statusCode: 409, code: 'SESSION_NOT_ACTIVE' }, 'an ended session is reported no more')

  const history = (await w.call('GET', `/v1/sessions/${id}/history?limit=50`, undefined, w.alice)).json().items.map((e: Json) => e.type)
  t.same(history.slice(-2), ['security.reported', 'session.ended'])
  const audit = (await w.call('GET', '/v1/audit-events?action=security.reported&limit=5')).json().items
  t.match(audit, [{ actor: 'CONTOSO\\alice', target: `sessions/${id}`, outcome: 'denied', details: { words } }])

  const reports = await w.call('GET', '/v1/security-reports?limit=10')
  t.equal(reports.statusCode, 200, reports.body)
  t.match(reports.json(), {
    items: [{ sessionId: id, computer: 'CONTOSO\\PC-10', novice: 'CONTOSO\\alice', expert: { name: 'CONTOSO\\bob' }, words, reportedAt: /Z$/ }],
    nextCursor: null
  })
  t.match((await w.call('GET', '/v1/security-reports', undefined, w.alice)).json(), { statusCode: 403, code: 'ADMIN_REQUIRED' }, 'users do not list reports')
  const auditor = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'siem', scopes: ['audit:read'] } })).json().token
  t.equal((await w.call('GET', '/v1/security-reports', undefined, auditor)).json().items.length, 1, 'an integration with audit:read does')

  await hooks.until(() => hooks.all.length >= 2)
  // Deliveries go out in several lanes at once (WebhookService.runDue): the receiver may get them in either order.
  t.same(hooks.all.map((r) => r.payload.type).sort(), ['security.reported', 'session.ended'])
  const reportedHook = hooks.all.find((r) => r.payload.type === 'security.reported')!
  t.match(reportedHook.payload.data, { sessionId: id, externalRef: 'INC-42', novice: 'CONTOSO\\alice', expert: 'CONTOSO\\bob', words })
})

t.test('C5 this isn\'t who I expected: the novice may report before accepting; reports page newest first', async (t) => {
  const w = await world(t)
  const ids: string[] = []
  for (const n of [1, 2, 3]) {
    const id = (await w.redeem((await w.invite()).ticket)).json().id
    t.equal((await post(w, id, '/report', w.alice, { words: `report ${n}` })).json().state, 'ended')
    ids.push(id)
  }
  const first = (await w.call('GET', '/v1/security-reports?limit=2')).json()
  t.same(first.items.map((r: Json) => r.words), ['report 3', 'report 2'])
  const rest = (await w.call('GET', `/v1/security-reports?limit=2&cursor=${first.nextCursor}`)).json()
  t.same(rest.items.map((r: Json) => r.sessionId), [ids[0]])
  t.equal(rest.nextCursor, null)
})
