import t, { type Test } from 'tap'
import { build, type Json } from '../helper.js'

/** CONTOSO with alice (a user), Helpdesk (a group) and PC-1 (a computer alice sits at). */
async function directory (t: Test) {
  const app = await build(t)
  const res = await app.call('POST', '/v1/directory/import', {
    domains: [{ name: 'CONTOSO' }],
    users: [{ name: 'CONTOSO\\alice' }, { name: 'CONTOSO\\bob' }],
    groups: [{ name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob'] }],
    computers: [{ name: 'CONTOSO\\PC-1', platform: 'windows-10', dcomEnabled: 'Y', users: ['CONTOSO\\alice'], offerRaHelpers: ['CONTOSO\\Helpdesk'] }]
  })
  t.equal(res.statusCode, 200, res.body)
  return app
}

t.test('path parameters name users, groups, computers and domains by id or by name (%5C for the backslash), any case', async (t) => {
  const { call } = await directory(t)
  const byId = async (path: string): Promise<Json> => (await call('GET', path)).json()
  const pc = (await byId('/v1/computers')).items[0]
  t.match(await byId('/v1/computers/CONTOSO%5CPC-1'), { id: pc.id, name: 'CONTOSO\\PC-1' })
  t.match(await byId('/v1/computers/contoso%5Cpc-1'), { id: pc.id }, 'names compare case-insensitively')
  t.match(await byId('/v1/users/CONTOSO%5Calice'), { name: 'CONTOSO\\alice' })
  t.match(await byId('/v1/groups/CONTOSO%5CHelpdesk'), { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob'] })
  t.match(await byId('/v1/domains/CONTOSO'), { name: 'CONTOSO' })
  t.same(
    await byId('/v1/computers/CONTOSO%5CPC-1/effective-policy'),
    await byId(`/v1/computers/${pc.id}/effective-policy`),
    'S6: the same resultant policy by name'
  )
  t.same(await byId('/v1/computers/CONTOSO%5CPC-1/readiness'), await byId(`/v1/computers/${pc.id}/readiness`))
  t.match(await byId('/v1/computers/CONTOSO%5CPC-1/offer-check?expert=CONTOSO%5Cbob'), { allowed: false })
  t.match(await byId('/v1/computers/CONTOSO%5CPC-1/local-policy'), { computer: 'CONTOSO\\PC-1' })
  t.match(await byId('/v1/domains/CONTOSO/policy-links'), { domain: 'CONTOSO', links: [] })

  t.match((await call('PATCH', '/v1/users/CONTOSO%5Calice', { displayName: 'Alice' })).json(), { displayName: 'Alice' }, 'PATCH by name')
  const policy = (await call('POST', '/v1/policies', { name: 'RA', settings: { solicitedRemoteAssistance: { state: 'enabled' } } })).json().policy
  t.equal((await call('PUT', '/v1/domains/CONTOSO/policy-links', { policies: [policy.id] })).statusCode, 200, 'PUT by a domain\'s name')
  t.equal((await call('DELETE', '/v1/groups/CONTOSO%5CHelpdesk')).statusCode, 204, 'DELETE by name')
  t.equal((await call('GET', '/v1/groups/CONTOSO%5CHelpdesk')).statusCode, 404, 'gone')
})

t.test('a name that names nothing of that kind is 404; a malformed one is 400 naming the field', async (t) => {
  const { call } = await directory(t)
  t.match((await call('GET', '/v1/computers/CONTOSO%5CPC-9')).json(), { statusCode: 404, code: 'NOT_FOUND', message: /PC-9/ })
  t.match((await call('GET', '/v1/users/CONTOSO%5CHelpdesk')).json(), { statusCode: 404 }, 'a group is not a user')
  t.match((await call('GET', '/v1/groups/CONTOSO%5Calice')).json(), { statusCode: 404 }, 'a user is not a group')
  t.match((await call('GET', '/v1/domains/FABRIKAM/policy-links')).json(), { statusCode: 404 })
  t.match((await call('GET', '/v1/computers/%5CPC-1/effective-policy')).json(), { statusCode: 400, code: 'VALIDATION_FAILED', field: 'id' })
  t.match((await call('GET', '/v1/users/alice')).json(), { statusCode: 400, field: 'id' })
})
