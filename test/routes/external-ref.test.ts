import t from 'tap'
import type { Json } from '../helper.js'
import { world } from './invitations-helper.js'

t.test('S1 C1: the helpdesk\'s externalRef is kept on the invitation, carried to its session and audit events, and filtered on', async (t) => {
  const w = await world(t)
  const integration = (await w.call('POST', '/v1/tokens', {
    principal: { type: 'integration', name: 'servicenow', scopes: ['invitations:write', 'invitations:read', 'sessions:read', 'audit:read'] }
  })).json().token
  const created = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', novice: 'CONTOSO\\alice', externalRef: 'INC0012345' }, integration)
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().invitation.externalRef, 'INC0012345')
  await w.invite({ externalRef: 'INC0099999' })
  await w.invite()
  const filtered = (await w.call('GET', '/v1/invitations?externalRef=INC0012345', undefined, integration)).json().items as Json[]
  t.same(filtered.map((i) => i.id), [created.json().invitation.id], 'filtered on exactly')
  t.equal((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items.filter((i: Json) => i.externalRef === null).length, 1)

  const session = (await w.redeem(created.json().ticket)).json()
  t.equal(session.externalRef, 'INC0012345', 'the session carries its invitation\'s reference')
  t.same((await w.call('GET', '/v1/sessions?externalRef=INC0012345', undefined, integration)).json().items.map((s: Json) => s.id), [session.id])
  t.same((await w.call('GET', '/v1/sessions?externalRef=INC0000000', undefined, integration)).json().items, [])
  const history = (await w.call('GET', `/v1/sessions/${session.id}/history`, undefined, w.alice)).json().items as Json[]
  t.match(history[0], { type: 'session.created', data: { externalRef: 'INC0012345' } })

  const audit = (await w.call('GET', '/v1/audit-events?limit=100', undefined, integration)).json().items as Json[]
  for (const action of ['invitation.create', 'invitation.redeem', 'session.created']) {
    t.ok(audit.some((e) => e.action === action && e.details?.externalRef === 'INC0012345'), `${action} names the reference`)
  }
})

t.test('an externalRef is 1–128 printable characters without surrounding spaces: anything else is 400 naming it, and nothing is created', async (t) => {
  const w = await world(t)
  for (const bad of ['', ' INC1', 'INC1 ', 'INC\n1', 'INC\u00e91', 'x'.repeat(129)]) {
    const res = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', externalRef: bad }, w.alice)
    t.equal(res.statusCode, 400, JSON.stringify(bad))
    t.equal(res.json().field, 'externalRef')
  }
  const inner = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', externalRef: 'JSM-42 / Printer #3' }, w.alice)
  t.equal(inner.statusCode, 201, 'inner spaces')
  t.equal((await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10', externalRef: 'x'.repeat(128) }, w.alice)).statusCode, 201)
  t.equal((await w.call('GET', '/v1/invitations', undefined, w.alice)).json().items.length, 2)
  t.equal((await w.call('GET', '/v1/invitations?externalRef=%20x')).statusCode, 400, 'the filter is checked too')
})
