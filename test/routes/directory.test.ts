// The directory as a whole: create and read back, refusals that change nothing, PATCH, paging, authorization, audit.
import t from 'tap'
import { ADMIN_TOKEN, build, listAll, snapshot } from '../helper.js'
import {
  UUID, ISO, MISSING, HELPCTR, SESSMGR, HELPSVC, PORT_135,
  isError, raw, refused, created, get, patched, seed, names, strip, type Json
} from './directory-helper.js'

t.test('domains, a trust, users, nested groups and computers are created and read back by id and in lists, with memberOf and trustedBy derived', async (t) => {
  const { call } = await build(t)

  const contoso = await created(t, call, '/v1/domains', { name: 'CONTOSO', dnsName: 'contoso.com' })
  t.match(contoso.id, UUID)
  t.strictSame(strip(contoso), { name: 'CONTOSO', dnsName: 'contoso.com', trusts: [], trustedBy: [] })
  t.match(contoso.createdAt, ISO)
  t.equal(contoso.updatedAt, contoso.createdAt)
  // The trust names CONTOSO in another case: it resolves to the stored spelling.
  const fabrikam = await created(t, call, '/v1/domains', { name: 'FABRIKAM', dnsName: 'fabrikam.com', trusts: ['contoso'] })
  t.strictSame(fabrikam.trusts, ['CONTOSO'], 'FABRIKAM trusts CONTOSO')
  t.strictSame(fabrikam.trustedBy, [])
  const litware = await created(t, call, '/v1/domains', { name: 'LITWARE', trusts: ['CONTOSO', 'FABRIKAM'] })
  t.equal(litware.dnsName, null, 'dnsName defaults to null')

  const contosoNow = await get(call, `/v1/domains/${contoso.id}`)
  t.strictSame(contosoNow.trusts, [], 'trust is directed: CONTOSO trusts nobody')
  t.strictSame(contosoNow.trustedBy, ['FABRIKAM', 'LITWARE'], 'trustedBy is derived from the other domains\' trusts')
  t.strictSame((await get(call, `/v1/domains/${fabrikam.id}`)).trustedBy, ['LITWARE'])
  t.strictSame(names(await listAll(call, '/v1/domains')), ['CONTOSO', 'FABRIKAM', 'LITWARE'])

  const alice = await created(t, call, '/v1/users', { name: 'CONTOSO\\alice', displayName: 'Alice Novice', email: 'alice@contoso.com' })
  t.match(alice.id, UUID)
  t.strictSame(strip(alice), {
    name: 'CONTOSO\\alice', domain: 'CONTOSO', displayName: 'Alice Novice', email: 'alice@contoso.com', enabled: true, memberOf: []
  })
  const bob = await created(t, call, '/v1/users', { name: 'CONTOSO\\bob' })
  t.strictSame([bob.displayName, bob.email, bob.enabled], [null, null, true], 'optional user fields default to null / enabled')
  const carol = await created(t, call, '/v1/users', { name: 'FABRIKAM\\carol', enabled: false })
  t.equal(carol.enabled, false)
  t.equal(carol.domain, 'FABRIKAM')

  const tier2 = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Tier2', description: 'Second line', members: ['fabrikam\\CAROL'] })
  t.strictSame(tier2.members, ['FABRIKAM\\carol'], 'members come back in their stored spelling')
  const helpdesk = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob', 'contoso\\tier2'] })
  t.strictSame(helpdesk.members, ['CONTOSO\\bob', 'CONTOSO\\Tier2'], 'a group nested in a group')
  t.strictSame(helpdesk.memberOf, [])
  const empty = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Empty' })
  t.strictSame([empty.members, empty.description], [[], null])

  const pc = await created(t, call, '/v1/computers', {
    name: 'CONTOSO\\PC-0042',
    platform: 'xp-pro-sp2',
    dcomEnabled: 'Y',
    localAdministrators: ['CONTOSO\\Helpdesk', 'CONTOSO\\bob'],
    offerRaHelpers: ['contoso\\TIER2'],
    users: ['CONTOSO\\alice'],
    firewall: {
      domain: { programExceptions: [HELPCTR, SESSMGR, HELPSVC], portExceptions: [PORT_135] },
      standard: {
        enabled: false,
        programExceptions: [SESSMGR],
        portExceptions: ['135:tcp:localsubnet:Disabled:Offer Remote Assistance'],
        allowRemoteDesktopException: true
      }
    },
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: false, maxInvitationTime: { value: 30, unit: 'days' } }
  })
  t.strictSame({ ...strip(pc), firewall: undefined }, {
    firewall: undefined,
    name: 'CONTOSO\\PC-0042',
    domain: 'CONTOSO',
    platform: 'xp-pro-sp2',
    dcomEnabled: 'Y',
    localAdministrators: ['CONTOSO\\Helpdesk', 'CONTOSO\\bob'],
    offerRaHelpers: ['CONTOSO\\Tier2'],
    users: ['CONTOSO\\alice'],
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: false, maxInvitationTime: { value: 30, unit: 'days' } }
  })
  t.strictSame(pc.firewall, {
    // A profile's `enabled` defaults to true when not given; the entries are kept verbatim.
    domain: { enabled: true, programExceptions: [HELPCTR, SESSMGR, HELPSVC], portExceptions: [PORT_135] },
    standard: {
      enabled: false,
      programExceptions: [SESSMGR],
      portExceptions: ['135:tcp:localsubnet:Disabled:Offer Remote Assistance'],
      allowRemoteDesktopException: true
    }
  })
  const srv = await created(t, call, '/v1/computers', { name: 'FABRIKAM\\SRV-01', platform: 'server-2003-sp1', dcomEnabled: 'N' })
  t.equal(srv.dcomEnabled, 'N')
  const ws = await created(t, call, '/v1/computers', { name: 'CONTOSO\\ws_0007', platform: 'windows-10', dcomEnabled: null, controlPanel: null })
  t.strictSame([ws.dcomEnabled, ws.controlPanel, ws.firewall, ws.users], [null, null, {}, []])
  const bare = await created(t, call, '/v1/computers', { name: 'CONTOSO\\BARE' })
  t.strictSame([bare.platform, bare.dcomEnabled, bare.controlPanel], [null, null, null], 'a missing EnableDCOM / platform is null')

  // GET by id returns what the create returned (carol and Tier2 were since put in a group: only memberOf differs).
  const readBack: Array<[string, Json]> = [
    ['domains', litware], ['users', alice], ['users', { ...carol, memberOf: ['CONTOSO\\Tier2'] }], ['groups', { ...tier2, memberOf: ['CONTOSO\\Helpdesk'] }],
    ['groups', helpdesk], ['computers', pc], ['computers', srv], ['computers', ws]
  ]
  for (const [path, obj] of readBack) {
    t.strictSame(await get(call, `/v1/${path}/${obj.id}`), obj, `GET /v1/${path}/${obj.name}`)
  }

  // Derived memberOf: direct groups only.
  t.strictSame((await get(call, `/v1/users/${bob.id}`)).memberOf, ['CONTOSO\\Helpdesk'])
  t.strictSame((await get(call, `/v1/users/${carol.id}`)).memberOf, ['CONTOSO\\Tier2'], 'carol is in Tier2 directly, Helpdesk only through nesting')
  t.strictSame((await get(call, `/v1/users/${alice.id}`)).memberOf, [])
  t.strictSame((await get(call, `/v1/groups/${tier2.id}`)).memberOf, ['CONTOSO\\Helpdesk'])

  // Lists: by domain, then name (case-insensitively), and items equal the single reads.
  const users = await listAll(call, '/v1/users')
  t.strictSame(names(users), ['CONTOSO\\alice', 'CONTOSO\\bob', 'FABRIKAM\\carol'])
  t.strictSame(users[2], await get(call, `/v1/users/${carol.id}`))
  const groups = await listAll(call, '/v1/groups')
  t.strictSame(names(groups), ['CONTOSO\\Empty', 'CONTOSO\\Helpdesk', 'CONTOSO\\Tier2'])
  t.strictSame(groups[1], await get(call, `/v1/groups/${helpdesk.id}`))
  const computers = await listAll(call, '/v1/computers')
  t.strictSame(names(computers), ['CONTOSO\\BARE', 'CONTOSO\\PC-0042', 'CONTOSO\\ws_0007', 'FABRIKAM\\SRV-01'])
  t.strictSame(computers[1], pc)
  t.strictSame(names(await listAll(call, '/v1/computers?domain=fabrikam')), ['FABRIKAM\\SRV-01'])
  t.strictSame(names(await listAll(call, '/v1/groups?domain=FABRIKAM')), [])
})

t.test('derived lists (trustedBy, memberOf) are in the same case-insensitive name order as every other list', async (t) => {
  const { call } = await build(t)
  const delta = await created(t, call, '/v1/domains', { name: 'DELTA' })
  for (const name of ['CHARLIE', 'alpha', 'Beta']) await created(t, call, '/v1/domains', { name, trusts: ['DELTA'] })
  const echo = await created(t, call, '/v1/domains', { name: 'ECHO', trusts: ['CHARLIE', 'alpha', 'Beta'] })
  t.strictSame(echo.trusts, ['alpha', 'Beta', 'CHARLIE'], 'trusts: case-insensitive order')
  t.strictSame(names(await listAll(call, '/v1/domains')), ['alpha', 'Beta', 'CHARLIE', 'DELTA', 'ECHO'], 'the list: case-insensitive order')
  t.strictSame((await get(call, `/v1/domains/${delta.id}`)).trustedBy, ['alpha', 'Beta', 'CHARLIE'], 'trustedBy: the same order')

  const user = await created(t, call, '/v1/users', { name: 'DELTA\\dora' })
  for (const g of ['DELTA\\Zeta', 'DELTA\\eta', 'DELTA\\Theta']) await created(t, call, '/v1/groups', { name: g, members: ['DELTA\\dora'] })
  t.strictSame((await get(call, `/v1/users/${user.id}`)).memberOf, ['DELTA\\eta', 'DELTA\\Theta', 'DELTA\\Zeta'], 'memberOf: the same order')
})

t.test('malformed names are 400 VALIDATION_FAILED on name, and change nothing', async (t) => {
  const { call } = await build(t)
  await seed(t, call)
  for (const name of [
    'CONTOSOalice', 'CONTOSO\\a@b', 'ABCDEFGHIJKLMNOP\\alice', 'CONTOSO\\', '\\alice', 'CONTOSO\\alice.', 'CONTOSO\\ alice', 'CONTOSO\\a\\b', ''
  ]) {
    await refused(t, call, 'POST', '/v1/users', { name }, 400, 'VALIDATION_FAILED', 'name')
  }
  await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\a:b' }, 400, 'VALIDATION_FAILED', 'name')
  await refused(t, call, 'POST', '/v1/domains', { name: 'ABCDEFGHIJKLMNOP' }, 400, 'VALIDATION_FAILED', 'name')
  await refused(t, call, 'POST', '/v1/domains', { name: '-CONTOSO' }, 400, 'VALIDATION_FAILED', 'name')
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC 42' }, 400, 'VALIDATION_FAILED', 'name')
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\ABCDEFGHIJKLMNOP' }, 400, 'VALIDATION_FAILED', 'name')
  // A 15-character domain is the longest that is allowed.
  t.equal((await created(t, call, '/v1/domains', { name: 'ABCDEFGHIJKLMNO' })).name, 'ABCDEFGHIJKLMNO')
  // A malformed name inside a list names its index.
  await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\G', members: ['CONTOSO\\alice', 'CONTOSOalice'] }, 400, 'VALIDATION_FAILED', 'members[1]')
})

t.test('a name in an unknown domain is 422 UNKNOWN_REFERENCE on name, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'POST', '/v1/users', { name: 'NOWHERE\\alice' }, 422, 'UNKNOWN_REFERENCE', 'name')
  await refused(t, call, 'POST', '/v1/groups', { name: 'NOWHERE\\Helpers' }, 422, 'UNKNOWN_REFERENCE', 'name')
  await refused(t, call, 'POST', '/v1/computers', { name: 'NOWHERE\\PC-1' }, 422, 'UNKNOWN_REFERENCE', 'name')
  await refused(t, call, 'PATCH', `/v1/users/${s.alice.id}`, { name: 'NOWHERE\\alice' }, 422, 'UNKNOWN_REFERENCE', 'name')
})

t.test('the same account listed twice in different case is 422 INVALID_VALUE, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(
    t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\bob', 'CONTOSO\\alice', 'contoso\\BOB'] },
    422, 'INVALID_VALUE', 'members[2]'
  )
  await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { offerRaHelpers: ['CONTOSO\\Tier2', 'CONTOSO\\tier2'] },
    422, 'INVALID_VALUE', 'offerRaHelpers[1]'
  )
  await refused(t, call, 'PATCH', `/v1/domains/${s.contoso.id}`, { trusts: ['FABRIKAM', 'fabrikam'] }, 422, 'INVALID_VALUE', 'trusts[1]')
  // The exact same spelling twice is refused by the schema.
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\bob', 'CONTOSO\\bob'] }, 400, 'VALIDATION_FAILED')
})

t.test('an unknown body field is 400 UNKNOWN_FIELD naming the field, at any depth, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(t, call, 'POST', '/v1/users', { name: 'CONTOSO\\dave', nickname: 'D' }, 400, 'UNKNOWN_FIELD', 'nickname')
  t.match(err.message, /nickname/)
  await refused(t, call, 'PATCH', `/v1/users/${s.alice.id}`, { displayName: 'A', memberOf: ['CONTOSO\\Helpdesk'] }, 400, 'UNKNOWN_FIELD', 'memberOf')
  await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { firewall: { domain: { programExceptions: [HELPCTR], portExceptionz: [PORT_135] } } },
    400, 'UNKNOWN_FIELD', 'firewall.domain.portExceptionz'
  )
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { firewall: { home: {} } }, 400, 'UNKNOWN_FIELD', 'firewall.home')
  await refused(t, call, 'POST', '/v1/domains', { name: 'X', id: MISSING }, 400, 'UNKNOWN_FIELD', 'id')
})

t.test('a wrong type is 400, never coerced, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'POST', '/v1/users', { name: 'CONTOSO\\dave', enabled: 'yes' }, 400, 'VALIDATION_FAILED', 'enabled')
  await refused(t, call, 'PATCH', `/v1/users/${s.alice.id}`, { enabled: 'false' }, 400, 'VALIDATION_FAILED', 'enabled')
  await refused(t, call, 'PATCH', `/v1/users/${s.alice.id}`, { enabled: 0 }, 400, 'VALIDATION_FAILED', 'enabled')
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: 'CONTOSO\\bob' }, 400, 'VALIDATION_FAILED', 'members')
  await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`,
    { controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: '5', unit: 'days' } } },
    400, 'VALIDATION_FAILED'
  )
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { dcomEnabled: 'yes' }, 400, 'VALIDATION_FAILED', 'dcomEnabled')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { platform: 'windows-95' }, 400, 'VALIDATION_FAILED', 'platform')
  await refused(t, call, 'POST', '/v1/users', { name: 'CONTOSO\\dave', email: 'not an address' }, 400, 'VALIDATION_FAILED', 'email')
  await refused(t, call, 'POST', '/v1/users', ['CONTOSO\\dave'], 400, 'VALIDATION_FAILED')
  t.equal((await get(call, `/v1/users/${s.alice.id}`)).enabled, true, 'alice is still enabled')
})

t.test('a malformed JSON body is 400 INVALID_JSON, and changes nothing', async (t) => {
  const { app, call } = await build(t)
  await seed(t, call)
  const before = await snapshot(call)
  for (const payload of ['{"name": "CONTOSO\\\\dave"', '{name: "x"}', 'null x']) {
    const res = await raw(app, 'POST', '/v1/users', payload)
    isError(t, res, 400, 'INVALID_JSON')
  }
  // An empty body with a JSON content type is no body (as many clients send it): here a body is required.
  isError(t, await raw(app, 'POST', '/v1/users', ''), 400, 'VALIDATION_FAILED')
  t.strictSame(await snapshot(call), before)
})

t.test('a body over 16 KiB is 413 BODY_TOO_LARGE, and changes nothing', async (t) => {
  const { call, config } = await build(t)
  const s = await seed(t, call)
  t.equal(config.bodyLimit, 16384, 'the default limit is 16 KiB')
  const big = 'x'.repeat(17 * 1024)
  await refused(t, call, 'POST', '/v1/users', { name: 'CONTOSO\\dave', displayName: big }, 413, 'BODY_TOO_LARGE')
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { description: big }, 413, 'BODY_TOO_LARGE')
  // Just under the limit is read (and here refused by the schema, not for its size).
  const under = { name: 'CONTOSO\\dave', description: 'y'.repeat(16384 - 60) }
  t.ok(JSON.stringify(under).length < 16384)
  await refused(t, call, 'POST', '/v1/users', under, 400, 'UNKNOWN_FIELD', 'description')
})

t.test('a __proto__ (or constructor.prototype) key in the body is 400, and changes nothing', async (t) => {
  const { app, call } = await build(t)
  const s = await seed(t, call)
  const before = await snapshot(call)
  const bodies: Array<[string, string, string]> = [
    ['POST', '/v1/users', '{"name":"CONTOSO\\\\eve","__proto__":{"enabled":false}}'],
    ['PATCH', `/v1/users/${s.alice.id}`, '{"displayName":"Eve","__proto__":{"isAdmin":true}}'],
    ['PATCH', `/v1/computers/${s.pc.id}`, '{"firewall":{"domain":{"__proto__":{"enabled":false}}}}'],
    ['POST', '/v1/users', '{"name":"CONTOSO\\\\eve","constructor":{"prototype":{"polluted":true}}}']
  ]
  for (const [method, url, payload] of bodies) {
    const res = await raw(app, method, url, payload)
    t.equal(res.statusCode, 400, `${method} ${url} ${payload}`)
    t.equal(res.json().statusCode, 400)
    t.type(res.json().code, 'string')
  }
  t.strictSame(await snapshot(call), before)
  t.equal(({} as Json).enabled, undefined, 'Object.prototype is untouched')
  t.equal(({} as Json).polluted, undefined)
})

t.test('PATCH changes only the fields given; lists given replace the whole list', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)

  const alice = await patched(t, call, `/v1/users/${s.alice.id}`, { displayName: 'Alice N.' })
  t.strictSame({ ...alice, updatedAt: undefined }, { ...s.alice, displayName: 'Alice N.', updatedAt: undefined }, 'only displayName changed')
  t.equal(alice.createdAt, s.alice.createdAt)
  t.ok(alice.updatedAt >= s.alice.updatedAt)
  const alice2 = await patched(t, call, `/v1/users/${s.alice.id}`, { email: null, enabled: false })
  t.strictSame([alice2.displayName, alice2.email, alice2.enabled], ['Alice N.', null, false], 'null clears a field; others stay')

  // Lists replace: Helpdesk had [bob, Tier2]; now only [alice].
  const hd = await patched(t, call, `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\alice'] })
  t.strictSame(hd.members, ['CONTOSO\\alice'])
  t.strictSame((await get(call, `/v1/users/${s.bob.id}`)).memberOf, [], 'bob left Helpdesk')
  t.strictSame((await get(call, `/v1/groups/${s.tier2.id}`)).memberOf, [], 'Tier2 left Helpdesk')
  const hd2 = await patched(t, call, `/v1/groups/${s.helpdesk.id}`, { description: 'Front line' })
  t.strictSame(hd2.members, ['CONTOSO\\alice'], 'members untouched when not given')
  t.equal(hd2.description, 'Front line')
  t.strictSame((await patched(t, call, `/v1/groups/${s.helpdesk.id}`, { members: [] })).members, [])

  // Computers: one list replaced, the others and every other field kept.
  const pc = await patched(t, call, `/v1/computers/${s.pc.id}`, { localAdministrators: ['CONTOSO\\bob', 'FABRIKAM\\carol'] })
  t.strictSame({ ...pc, updatedAt: undefined }, { ...s.pc, localAdministrators: ['CONTOSO\\bob', 'FABRIKAM\\carol'], updatedAt: undefined })
  const pc2 = await patched(t, call, `/v1/computers/${s.pc.id}`, { dcomEnabled: null, firewall: { standard: { allowRemoteDesktopException: true } } })
  t.equal(pc2.dcomEnabled, null, 'EnableDCOM can be made missing')
  t.strictSame(pc2.firewall, { standard: { enabled: true, allowRemoteDesktopException: true } }, 'the firewall given replaces the whole firewall')
  t.strictSame([pc2.platform, pc2.users, pc2.offerRaHelpers], ['xp-pro-sp2', ['CONTOSO\\alice'], ['CONTOSO\\bob']])
  t.strictSame(pc2.controlPanel, s.pc.controlPanel)
  const pc3 = await patched(t, call, `/v1/computers/${s.pc.id}`, { controlPanel: null, platform: 'windows-11', dcomEnabled: 'Y' })
  t.strictSame([pc3.controlPanel, pc3.platform, pc3.dcomEnabled], [null, 'windows-11', 'Y'])
  t.strictSame(await get(call, `/v1/computers/${s.pc.id}`), pc3, 'the change is stored')

  // Domains.
  const dom = await patched(t, call, `/v1/domains/${s.contoso.id}`, { trusts: ['FABRIKAM'] })
  t.strictSame([dom.trusts, dom.dnsName, dom.trustedBy], [['FABRIKAM'], 'contoso.com', ['FABRIKAM']])
  const fab = await patched(t, call, `/v1/domains/${s.fabrikam.id}`, { trusts: [] })
  t.strictSame(fab.trusts, [])
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, [], 'FABRIKAM no longer trusts CONTOSO')
})

t.test('PATCH with {} is 400; GET/PATCH/DELETE of an unknown uuid are 404 NOT_FOUND; neither an id nor a name is 400', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const ids: Record<string, string> = { domains: s.contoso.id, users: s.alice.id, groups: s.helpdesk.id, computers: s.pc.id }
  for (const [path, id] of Object.entries(ids)) {
    await refused(t, call, 'PATCH', `/v1/${path}/${id}`, {}, 400, 'VALIDATION_FAILED')
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const body = method === 'PATCH'
        ? (path === 'domains' ? { dnsName: null } : path === 'groups' ? { description: 'x' } : path === 'users' ? { enabled: true } : { dcomEnabled: 'Y' })
        : undefined
      const err = await refused(t, call, method, `/v1/${path}/${MISSING}`, body, 404, 'NOT_FOUND', null)
      t.match(err.message, MISSING)
      await refused(t, call, method, `/v1/${path}/not%20an%20id%20or%20a%20name!`, body, 400, 'VALIDATION_FAILED', 'id')
    }
  }
  // An id of the wrong kind of object is not found either.
  await refused(t, call, 'GET', `/v1/users/${s.helpdesk.id}`, undefined, 404, 'NOT_FOUND')
  await refused(t, call, 'PATCH', `/v1/groups/${s.alice.id}`, { description: 'x' }, 404, 'NOT_FOUND')
  await refused(t, call, 'DELETE', `/v1/users/${s.tier2.id}`, undefined, 404, 'NOT_FOUND')
  await refused(t, call, 'DELETE', `/v1/groups/${s.bob.id}`, undefined, 404, 'NOT_FOUND')
})

t.test('lists page with limit and nextCursor: every user once, in case-insensitive name order; ?domain= filters', async (t) => {
  const { call } = await build(t)
  await created(t, call, '/v1/domains', { name: 'CONTOSO' })
  await created(t, call, '/v1/domains', { name: 'fabrikam' })
  const contosoNames = ['mallory', 'Bob', 'alice', 'Eve', 'dave', 'Carol', 'frank', 'Zed']
  for (const n of contosoNames) await created(t, call, '/v1/users', { name: `CONTOSO\\${n}` })
  await created(t, call, '/v1/users', { name: 'fabrikam\\Anna' })
  await created(t, call, '/v1/users', { name: 'fabrikam\\zoe' })
  // Groups share the name space but are not users.
  await created(t, call, '/v1/groups', { name: 'CONTOSO\\Admins' })

  const expected = [...contosoNames].sort((a, b) => a.toUpperCase() < b.toUpperCase() ? -1 : 1).map((n) => `CONTOSO\\${n}`)
  t.strictSame(expected.slice(0, 3), ['CONTOSO\\alice', 'CONTOSO\\Bob', 'CONTOSO\\Carol'], 'sanity: the expected order is case-insensitive')
  expected.push('fabrikam\\Anna', 'fabrikam\\zoe')

  const seen: string[] = []
  const pages: number[] = []
  let cursor: string | null = null
  do {
    const url: string = `/v1/users?limit=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const page = await get(call, url)
    pages.push(page.items.length)
    seen.push(...names(page.items))
    cursor = page.nextCursor
    t.ok(pages.length <= 10, 'paging ends')
  } while (cursor !== null && pages.length <= 10)
  t.strictSame(seen, expected, 'every user once, in order')
  t.strictSame(pages, [3, 3, 3, 1])

  // A limit equal to the count: one full page and no next cursor.
  const all = await get(call, '/v1/users?limit=10')
  t.equal(all.items.length, 10)
  t.equal(all.nextCursor, null)

  t.strictSame(
    names(await listAll(call, '/v1/users?domain=FABRIKAM', 1)),
    ['fabrikam\\Anna', 'fabrikam\\zoe'],
    '?domain= filters, case-insensitively, across pages'
  )
  t.strictSame(names(await listAll(call, '/v1/users?domain=contoso', 2)), expected.slice(0, 8))
  t.strictSame(await listAll(call, '/v1/users?domain=NOWHERE'), [])
  t.strictSame(names(await listAll(call, '/v1/domains', 1)), ['CONTOSO', 'fabrikam'])

  // Garbage cursors and bad paging parameters.
  for (const cursor of ['garbage', '!!!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["x"]').toString('base64url')]) {
    isError(t, await call('GET', `/v1/users?limit=3&cursor=${encodeURIComponent(cursor)}`), 400, 'VALIDATION_FAILED', 'cursor')
  }
  const domainCursor = (await get(call, '/v1/domains?limit=1')).nextCursor
  t.type(domainCursor, 'string')
  isError(t, await call('GET', `/v1/users?cursor=${encodeURIComponent(domainCursor)}`), 400, 'VALIDATION_FAILED', 'cursor')
  isError(t, await call('GET', `/v1/users?cursor=${'a'.repeat(600)}`), 400, 'VALIDATION_FAILED', 'cursor')
  isError(t, await call('GET', '/v1/users?limit=0'), 400, 'VALIDATION_FAILED', 'limit')
  isError(t, await call('GET', '/v1/users?limit=501'), 400, 'VALIDATION_FAILED', 'limit')
  isError(t, await call('GET', '/v1/users?limit=two'), 400, 'VALIDATION_FAILED', 'limit')
  isError(t, await call('GET', '/v1/users?domain=NOT%20A%20DOMAIN'), 400, 'VALIDATION_FAILED', 'domain')
  isError(t, await call('GET', '/v1/domains?domain=CONTOSO'), 400, 'UNKNOWN_FIELD', 'domain')
  isError(t, await call('GET', '/v1/users?sort=name'), 400, 'UNKNOWN_FIELD', 'sort')
})

t.test('an integration token with directory:read can list and read but gets 403 INSUFFICIENT_SCOPE on writes; ' +
  'a user token gets 403 ADMIN_REQUIRED', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const mk = async (principal: Json): Promise<string> => {
    const res = await call('POST', '/v1/tokens', { principal })
    t.equal(res.statusCode, 201, `token for ${JSON.stringify(principal)}`)
    return res.json().token
  }
  const reader = await mk({ type: 'integration', name: 'helpdesk', scopes: ['directory:read'] })
  const writer = await mk({ type: 'integration', name: 'provisioner', scopes: ['directory:write'] })
  const alice = await mk({ type: 'user', user: 'CONTOSO\\alice' })

  const list = await call('GET', '/v1/users', undefined, reader)
  t.equal(list.statusCode, 200)
  t.strictSame(names(list.json().items), ['CONTOSO\\alice', 'CONTOSO\\bob', 'FABRIKAM\\carol'])
  t.equal((await call('GET', `/v1/computers/${s.pc.id}`, undefined, reader)).statusCode, 200)
  t.equal((await call('GET', '/v1/domains', undefined, reader)).statusCode, 200)

  const before = await snapshot(call)
  const writes: Array<[string, string, unknown]> = [
    ['POST', '/v1/users', { name: 'CONTOSO\\mallory' }],
    ['PATCH', `/v1/users/${s.alice.id}`, { enabled: false }],
    ['DELETE', `/v1/groups/${s.tier2.id}`, undefined],
    ['POST', '/v1/domains', { name: 'EVIL' }],
    ['PATCH', `/v1/computers/${s.pc.id}`, { localAdministrators: ['CONTOSO\\alice'] }],
    ['POST', '/v1/directory/import', { users: [{ name: 'CONTOSO\\mallory' }] }]
  ]
  for (const [method, url, body] of writes) {
    const r = isError(t, await call(method, url, body, reader), 403, 'INSUFFICIENT_SCOPE')
    t.match(r.message, /directory:write/)
    isError(t, await call(method, url, body, alice), 403, 'ADMIN_REQUIRED')
  }
  // A user token cannot read the directory either; the reader cannot read the audit trail.
  isError(t, await call('GET', '/v1/users', undefined, alice), 403, 'ADMIN_REQUIRED')
  isError(t, await call('GET', '/v1/audit-events', undefined, reader), 403, 'INSUFFICIENT_SCOPE')
  // A write-only integration cannot list.
  isError(t, await call('GET', '/v1/users', undefined, writer), 403, 'INSUFFICIENT_SCOPE')

  const after = await snapshot(call)
  t.strictSame({ ...after, audit: undefined }, { ...before, audit: undefined }, 'the directory is unchanged')
  const added = after.audit!.filter((e) => !before.audit!.some((b) => b.id === e.id))
  t.ok(added.length > 0 && added.every((e) => e.action === 'auth.denied' && e.outcome === 'denied'), 'only auth.denied events were added')
  t.ok(added.some((e) => e.actor === 'CONTOSO\\alice') && added.some((e) => e.actor === 'integration:helpdesk'))

  // With directory:write the integration may change the directory, and is named in the audit trail.
  const res = await call('POST', '/v1/users', { name: 'CONTOSO\\dave' }, writer)
  t.equal(res.statusCode, 201)
  const ev = (await get(call, `/v1/audit-events?target=users/${res.json().id}`)).items
  t.strictSame(ev.map((e: Json) => [e.action, e.actor, e.outcome]), [['user.create', 'integration:provisioner', 'success']])
  // Without a token, or with a wrong one, nothing is reachable.
  isError(t, await call('POST', '/v1/users', { name: 'CONTOSO\\x' }, null), 401, 'AUTH_REQUIRED')
  isError(t, await call('GET', '/v1/users', undefined, 'ra_wrong-token-value'), 401, 'TOKEN_INVALID')
})

t.test('every successful change is an audit event with actor admin, outcome success and its request id; ' +
  'no token appears in the audit trail or logs', async (t) => {
  const { call, logs } = await build(t)
  const s = await seed(t, call)
  const tokenRes = await call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'helpdesk', scopes: ['directory:read', 'audit:read'] } })
  const integrationToken: string = tokenRes.json().token
  t.match(integrationToken, /^ra_/)
  t.equal((await call('GET', '/v1/audit-events', undefined, integrationToken)).statusCode, 200)

  await patched(t, call, `/v1/users/${s.alice.id}`, { displayName: 'Alice' })
  await patched(t, call, `/v1/groups/${s.tier2.id}`, { description: 'T2' })
  await patched(t, call, `/v1/computers/${s.pc.id}`, { dcomEnabled: 'N' })
  await patched(t, call, `/v1/domains/${s.contoso.id}`, { dnsName: 'corp.contoso.com' })
  t.equal((await call('DELETE', `/v1/users/${s.bob.id}`)).statusCode, 204)
  // Refused changes leave no success event.
  await call('POST', '/v1/users', { name: 'CONTOSO\\alice' })

  const creates = (await get(call, '/v1/audit-events?action=user.create')).items
  t.strictSame(
    creates.map((e: Json) => e.target).sort(),
    [`users/${s.alice.id}`, `users/${s.bob.id}`, `users/${s.carol.id}`].sort(),
    'one user.create per user created'
  )
  t.ok(creates.every((e: Json) => e.action === 'user.create'))

  const aliceEvents = (await get(call, `/v1/audit-events?target=users/${s.alice.id}`)).items
  t.strictSame(aliceEvents.map((e: Json) => e.action), ['user.update', 'user.create'], 'newest first')
  t.match(aliceEvents[1].details, { name: 'CONTOSO\\alice' })
  t.strictSame(aliceEvents[0].details.fields, ['displayName'], 'the update names the fields it was given')

  const expected: Array<[string, string, string, string]> = [
    ['domain.create', `domains/${s.contoso.id}`, 'POST', '/v1/domains'],
    ['domain.create', `domains/${s.fabrikam.id}`, 'POST', '/v1/domains'],
    ['user.create', `users/${s.alice.id}`, 'POST', '/v1/users'],
    ['group.create', `groups/${s.tier2.id}`, 'POST', '/v1/groups'],
    ['group.create', `groups/${s.helpdesk.id}`, 'POST', '/v1/groups'],
    ['computer.create', `computers/${s.pc.id}`, 'POST', '/v1/computers'],
    ['user.update', `users/${s.alice.id}`, 'PATCH', `/v1/users/${s.alice.id}`],
    ['group.update', `groups/${s.tier2.id}`, 'PATCH', `/v1/groups/${s.tier2.id}`],
    ['computer.update', `computers/${s.pc.id}`, 'PATCH', `/v1/computers/${s.pc.id}`],
    ['domain.update', `domains/${s.contoso.id}`, 'PATCH', `/v1/domains/${s.contoso.id}`],
    ['user.delete', `users/${s.bob.id}`, 'DELETE', `/v1/users/${s.bob.id}`]
  ]
  const incoming = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed')
  const requestIds = new Set<string>()
  for (const [action, target, method, url] of expected) {
    const events = (await get(call, `/v1/audit-events?action=${action}&target=${encodeURIComponent(target)}`)).items
    t.equal(events.length, 1, `one ${action} event for ${target}`)
    const e = events[0]
    t.match(e, { action, target, actor: 'admin', outcome: 'success' }, `${action} ${target}`)
    t.match(e.occurredAt, ISO)
    t.match(e.requestId, UUID, 'carries a request id')
    t.type(e.actorTokenId, 'string')
    const req = incoming.filter((l) => l.reqId === e.requestId)
    t.equal(req.length, 1, 'the request id is that of one logged request')
    t.strictSame([req[0]?.req?.method, req[0]?.req?.url], [method, url], 'the request that made the change')
    requestIds.add(e.requestId)
  }
  t.equal(requestIds.size, expected.length, 'every change has its own request id')
  const successes = (await get(call, '/v1/audit-events?outcome=success&action=user.create')).items
  t.equal(successes.length, 3, 'the refused duplicate left no user.create event')

  const auditJson = JSON.stringify(await listAll(call, '/v1/audit-events'))
  const logText = logs.join('')
  t.ok(logText.length > 0 && auditJson.length > 0)
  for (const secret of [ADMIN_TOKEN, integrationToken, integrationToken.slice(3)]) {
    t.notOk(auditJson.includes(secret), 'no token in the audit trail')
    t.notOk(logText.includes(secret), 'no token in the logs')
  }
  t.notOk(/bearer /i.test(logText), 'no Authorization header in the logs')
})
