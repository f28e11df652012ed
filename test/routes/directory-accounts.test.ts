// Users and groups: names, nested groups and their cycles, renames and deletes.
import t from 'tap'
import { build, listAll } from '../helper.js'
import { isError, refused, created, get, patched, seed, names, type Json } from './directory-helper.js'

t.test('names compare case-insensitively: contoso\\ALICE resolves to CONTOSO\\alice, and contoso\\Alice is a duplicate', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)

  const g = await created(t, call, '/v1/groups', { name: 'contoso\\Readers', members: ['contoso\\ALICE'] })
  t.strictSame(g.members, ['CONTOSO\\alice'])
  t.equal(g.name, 'CONTOSO\\Readers', 'the domain part takes the domain\'s stored spelling')
  t.strictSame((await get(call, `/v1/users/${s.alice.id}`)).memberOf, ['CONTOSO\\Readers'])

  const err = await refused(t, call, 'POST', '/v1/users', { name: 'contoso\\Alice' }, 409, 'DUPLICATE_NAME', 'name')
  t.match(err.message, /alice/i)
  await refused(t, call, 'POST', '/v1/domains', { name: 'Contoso' }, 409, 'DUPLICATE_NAME', 'name')
  await refused(t, call, 'POST', '/v1/computers', { name: 'contoso\\pc-0042' }, 409, 'DUPLICATE_NAME', 'name')
  // Renaming onto another's name (in another case) is a duplicate too.
  await refused(t, call, 'PATCH', `/v1/users/${s.bob.id}`, { name: 'CONTOSO\\ALICE' }, 409, 'DUPLICATE_NAME', 'name')
  // …but changing only the case of one's own name is not.
  const renamed = await patched(t, call, `/v1/users/${s.alice.id}`, { name: 'CONTOSO\\Alice' })
  t.equal(renamed.name, 'CONTOSO\\Alice')
})

t.test('a user and a group cannot share a name in one domain (either way round), but may in different domains', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\ALICE' }, 409, 'DUPLICATE_NAME', 'name')
  await refused(t, call, 'POST', '/v1/users', { name: 'contoso\\helpdesk' }, 409, 'DUPLICATE_NAME', 'name')
  await refused(t, call, 'PATCH', `/v1/groups/${s.tier2.id}`, { name: 'CONTOSO\\bob' }, 409, 'DUPLICATE_NAME', 'name')
  const other = await created(t, call, '/v1/groups', { name: 'FABRIKAM\\alice' })
  t.equal(other.name, 'FABRIKAM\\alice')
})

t.test('a group cycle (Helpdesk contains Tier2, then Tier2 made to contain Helpdesk) is 409 GROUP_CYCLE at members[i] and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(
    t, call, 'PATCH', `/v1/groups/${s.tier2.id}`, { members: ['FABRIKAM\\carol', 'CONTOSO\\Helpdesk'] },
    409, 'GROUP_CYCLE', 'members[1]'
  )
  t.match(err.message, /Helpdesk/)
  t.strictSame((await get(call, `/v1/groups/${s.tier2.id}`)).members, ['FABRIKAM\\carol'], 'Tier2 kept its members')
})

t.test('a group containing itself is 409 GROUP_CYCLE, on create and on update', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'PATCH', `/v1/groups/${s.tier2.id}`, { members: ['CONTOSO\\alice', 'contoso\\TIER2'] }, 409, 'GROUP_CYCLE', 'members[1]')
  await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\Loop', members: ['CONTOSO\\Loop'] }, 409, 'GROUP_CYCLE', 'members[0]')
  t.equal(
    (await call('GET', '/v1/groups?domain=CONTOSO')).json().items.some((g: Json) => g.name === 'CONTOSO\\Loop'),
    false,
    'the refused group was not created'
  )
})

t.test('a longer loop A→B→C→A is 409 GROUP_CYCLE at the member that closes it, and changes nothing', async (t) => {
  const { call } = await build(t)
  await seed(t, call)
  const c = await created(t, call, '/v1/groups', { name: 'CONTOSO\\C', members: ['CONTOSO\\alice'] })
  const b = await created(t, call, '/v1/groups', { name: 'CONTOSO\\B', members: ['CONTOSO\\C'] })
  await created(t, call, '/v1/groups', { name: 'CONTOSO\\A', members: ['CONTOSO\\B', 'CONTOSO\\bob'] })
  const err = await refused(
    t, call, 'PATCH', `/v1/groups/${c.id}`, { members: ['CONTOSO\\alice', 'CONTOSO\\Tier2', 'CONTOSO\\A'] },
    409, 'GROUP_CYCLE', 'members[2]'
  )
  t.match(err.message, /CONTOSO\\A/)
  // A loop through a nested path that does not close is fine: C may contain Tier2 (no path back to C).
  const ok = await patched(t, call, `/v1/groups/${c.id}`, { members: ['CONTOSO\\alice', 'CONTOSO\\Tier2'] })
  t.strictSame(ok.members, ['CONTOSO\\alice', 'CONTOSO\\Tier2'])
  // A diamond (B contains C directly and through another group) is not a cycle either.
  await created(t, call, '/v1/groups', { name: 'CONTOSO\\D', members: ['CONTOSO\\C'] })
  const diamond = await patched(t, call, `/v1/groups/${b.id}`, { members: ['CONTOSO\\C', 'CONTOSO\\D'] })
  t.strictSame(diamond.members, ['CONTOSO\\C', 'CONTOSO\\D'])
  t.strictSame((await get(call, `/v1/groups/${c.id}`)).memberOf, ['CONTOSO\\B', 'CONTOSO\\D'])
})

t.test('an unknown member is 422 UNKNOWN_REFERENCE naming members[1], and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(
    t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\New', members: ['CONTOSO\\alice', 'CONTOSO\\nobody'] },
    422, 'UNKNOWN_REFERENCE', 'members[1]'
  )
  t.match(err.message, /nobody/)
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\bob', 'NOWHERE\\bob'] }, 422, 'UNKNOWN_REFERENCE', 'members[1]')
  await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { localAdministrators: ['CONTOSO\\Helpdesk', 'CONTOSO\\ghost'] },
    422, 'UNKNOWN_REFERENCE', 'localAdministrators[1]'
  )
  await refused(t, call, 'POST', '/v1/domains', { name: 'NEWDOM', trusts: ['CONTOSO', 'NOWHERE'] }, 422, 'UNKNOWN_REFERENCE', 'trusts[1]')
})

t.test('renaming a user into another existing domain works and every reference follows', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const bob = await patched(t, call, `/v1/users/${s.bob.id}`, { name: 'fabrikam\\Robert' })
  t.strictSame([bob.name, bob.domain, bob.email, bob.memberOf], ['FABRIKAM\\Robert', 'FABRIKAM', 'bob@contoso.com', ['CONTOSO\\Helpdesk']])
  t.strictSame((await get(call, `/v1/groups/${s.helpdesk.id}`)).members, ['FABRIKAM\\Robert', 'CONTOSO\\Tier2'])
  t.strictSame((await get(call, `/v1/computers/${s.pc.id}`)).offerRaHelpers, ['FABRIKAM\\Robert'])
  t.strictSame(names(await listAll(call, '/v1/users?domain=FABRIKAM')), ['FABRIKAM\\carol', 'FABRIKAM\\Robert'])
  t.strictSame(names(await listAll(call, '/v1/users?domain=CONTOSO')), ['CONTOSO\\alice'])
  // The old name is free again; the new one is taken.
  t.equal((await created(t, call, '/v1/users', { name: 'CONTOSO\\bob' })).name, 'CONTOSO\\bob')
  await refused(t, call, 'POST', '/v1/users', { name: 'FABRIKAM\\robert' }, 409, 'DUPLICATE_NAME', 'name')

  // A domain rename carries its accounts along.
  const dom = await patched(t, call, `/v1/domains/${s.fabrikam.id}`, { name: 'FABRIKAM2' })
  t.equal(dom.name, 'FABRIKAM2')
  t.strictSame(dom.trusts, ['CONTOSO'])
  t.equal((await get(call, `/v1/users/${s.bob.id}`)).name, 'FABRIKAM2\\Robert')
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, ['FABRIKAM2'])
  await refused(t, call, 'PATCH', `/v1/domains/${s.fabrikam.id}`, { name: 'contoso' }, 409, 'DUPLICATE_NAME', 'name')
})

t.test('deleting a user removes it from groups and from computers\' lists', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await patched(t, call, `/v1/computers/${s.pc.id}`, { localAdministrators: ['CONTOSO\\Helpdesk', 'CONTOSO\\bob'], users: ['CONTOSO\\alice', 'CONTOSO\\bob'] })
  const res = await call('DELETE', `/v1/users/${s.bob.id}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  isError(t, await call('GET', `/v1/users/${s.bob.id}`), 404, 'NOT_FOUND')
  t.strictSame((await get(call, `/v1/groups/${s.helpdesk.id}`)).members, ['CONTOSO\\Tier2'])
  const pc = await get(call, `/v1/computers/${s.pc.id}`)
  t.strictSame([pc.localAdministrators, pc.users, pc.offerRaHelpers], [['CONTOSO\\Helpdesk'], ['CONTOSO\\alice'], []])
  t.strictSame(names(await listAll(call, '/v1/users')), ['CONTOSO\\alice', 'FABRIKAM\\carol'])
  isError(t, await call('DELETE', `/v1/users/${s.bob.id}`), 404, 'NOT_FOUND')

  // Deleting a group unnests it.
  t.equal((await call('DELETE', `/v1/groups/${s.tier2.id}`)).statusCode, 204)
  t.strictSame((await get(call, `/v1/groups/${s.helpdesk.id}`)).members, [])
  t.strictSame((await get(call, `/v1/users/${s.carol.id}`)).memberOf, [])
  // Deleting a computer.
  t.equal((await call('DELETE', `/v1/computers/${s.pc.id}`)).statusCode, 204)
  t.strictSame(await listAll(call, '/v1/computers'), [])
})
