import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, build, listAll, snapshot, type TestApp } from '../helper.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- API bodies are checked field by field below */
type Call = TestApp['call']
type Json = any

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const MISSING = '00000000-0000-4000-8000-000000000000'

// Seed-quoted firewall entries (SPEC F1, F3, F4), in the exact Windows string forms.
const HELPCTR = '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice'
const SESSMGR = '%WINDIR%\\SYSTEM32\\Sessmgr.exe:*: Enabled: Remote Assistance'
const HELPSVC = '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpsvc.exe:*:Enabled:Offer Remote Assistance'
const PORT_135 = '135:TCP:*:Enabled:Offer Remote Assistance'

// Helpers -------------------------------------------------------------------------------

/** The response is the error body with this status, stable code and (when given) field. */
function isError (t: Test, res: LightMyRequestResponse, statusCode: number, code: string, field?: string | null): Json {
  t.equal(res.statusCode, statusCode, `status ${statusCode} (${res.body})`)
  const body = res.json()
  t.equal(body.statusCode, statusCode, 'statusCode in the body')
  t.equal(body.code, code, `code ${code}`)
  t.type(body.error, 'string')
  t.type(body.message, 'string')
  t.ok(body.message.length > 0, 'a message for humans')
  if (field === null) t.notOk('field' in body, 'no field')
  else if (field !== undefined) t.equal(body.field, field, `field ${field}`)
  return body
}

/**
 * Makes a request that must be refused, and checks that it changed nothing: every
 * listing and the whole audit trail (so no new *.create / *.update event either)
 * are identical before and after.
 */
async function refused (
  t: Test, call: Call, method: string, url: string, body: unknown,
  statusCode: number, code: string, field?: string | null
): Promise<Json> {
  const before = await snapshot(call)
  const res = await call(method, url, body)
  const error = isError(t, res, statusCode, code, field)
  const after = await snapshot(call)
  t.strictSame(after, before, `${method} ${url} changed nothing`)
  const changes = after.audit!.filter((e) => /\.(create|update|delete)$/.test(e.action) && !before.audit!.some((b) => b.id === e.id))
  t.strictSame(changes, [], 'no new change event in the audit trail')
  return error
}

/** A raw (not JSON-encoded by the test) request, for malformed bodies. */
function raw (app: TestApp['app'], method: string, url: string, payload: string, contentType = 'application/json'): Promise<LightMyRequestResponse> {
  return app.inject({
    method: method as 'POST',
    url,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType },
    payload
  })
}

async function created (t: Test, call: Call, path: string, body: unknown): Promise<Json> {
  const res = await call('POST', path, body)
  t.equal(res.statusCode, 201, `POST ${path} ${JSON.stringify(body).slice(0, 80)} → 201 (${res.statusCode === 201 ? 'ok' : res.body})`)
  return res.json()
}

async function get (call: Call, path: string): Promise<Json> {
  const res = await call('GET', path)
  if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

async function patched (t: Test, call: Call, path: string, body: unknown): Promise<Json> {
  const res = await call('PATCH', path, body)
  t.equal(res.statusCode, 200, `PATCH ${path} → 200 (${res.statusCode === 200 ? 'ok' : res.body})`)
  return res.json()
}

interface Seeded {
  contoso: Json
  fabrikam: Json
  alice: Json
  bob: Json
  carol: Json
  helpdesk: Json
  tier2: Json
  pc: Json
}

/** Two domains (FABRIKAM trusts CONTOSO), three users, Helpdesk ⊃ Tier2, one computer. */
async function seed (t: Test, call: Call): Promise<Seeded> {
  const contoso = await created(t, call, '/v1/domains', { name: 'CONTOSO', dnsName: 'contoso.com' })
  const fabrikam = await created(t, call, '/v1/domains', { name: 'FABRIKAM', trusts: ['CONTOSO'] })
  const alice = await created(t, call, '/v1/users', { name: 'CONTOSO\\alice', displayName: 'Alice Novice', email: 'alice@contoso.com' })
  const bob = await created(t, call, '/v1/users', { name: 'CONTOSO\\bob', email: 'bob@contoso.com' })
  const carol = await created(t, call, '/v1/users', { name: 'FABRIKAM\\carol' })
  const tier2 = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Tier2', members: ['FABRIKAM\\carol'] })
  const helpdesk = await created(t, call, '/v1/groups', { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob', 'CONTOSO\\Tier2'] })
  const pc = await created(t, call, '/v1/computers', {
    name: 'CONTOSO\\PC-0042',
    platform: 'xp-pro-sp2',
    dcomEnabled: 'Y',
    localAdministrators: ['CONTOSO\\Helpdesk'],
    offerRaHelpers: ['CONTOSO\\bob'],
    users: ['CONTOSO\\alice'],
    firewall: { domain: { programExceptions: [HELPCTR, SESSMGR], portExceptions: [PORT_135] } },
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: 30, unit: 'days' } }
  })
  return { contoso, fabrikam, alice, bob, carol, helpdesk, tier2, pc }
}

const names = (items: Json[]): string[] => items.map((i) => i.name)
/** An object without its id and time stamps, to compare the rest exactly. */
const strip = (o: Json): Json => {
  const { id, createdAt, updatedAt, ...rest } = o
  return rest
}

// Create and read back ------------------------------------------------------------------

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
      standard: { enabled: false, programExceptions: [SESSMGR], portExceptions: ['135:tcp:localsubnet:Disabled:Offer Remote Assistance'], allowRemoteDesktopException: true }
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
    standard: { enabled: false, programExceptions: [SESSMGR], portExceptions: ['135:tcp:localsubnet:Disabled:Offer Remote Assistance'], allowRemoteDesktopException: true }
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

// Names ----------------------------------------------------------------------------------

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

// Refusals -------------------------------------------------------------------------------

t.test('a group cycle (Helpdesk contains Tier2, then Tier2 made to contain Helpdesk) is 409 GROUP_CYCLE at members[i] and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(t, call, 'PATCH', `/v1/groups/${s.tier2.id}`, { members: ['FABRIKAM\\carol', 'CONTOSO\\Helpdesk'] }, 409, 'GROUP_CYCLE', 'members[1]')
  t.match(err.message, /Helpdesk/)
  t.strictSame((await get(call, `/v1/groups/${s.tier2.id}`)).members, ['FABRIKAM\\carol'], 'Tier2 kept its members')
})

t.test('a group containing itself is 409 GROUP_CYCLE, on create and on update', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'PATCH', `/v1/groups/${s.tier2.id}`, { members: ['CONTOSO\\alice', 'contoso\\TIER2'] }, 409, 'GROUP_CYCLE', 'members[1]')
  await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\Loop', members: ['CONTOSO\\Loop'] }, 409, 'GROUP_CYCLE', 'members[0]')
  t.equal((await call('GET', '/v1/groups?domain=CONTOSO')).json().items.some((g: Json) => g.name === 'CONTOSO\\Loop'), false, 'the refused group was not created')
})

t.test('a longer loop A→B→C→A is 409 GROUP_CYCLE at the member that closes it, and changes nothing', async (t) => {
  const { call } = await build(t)
  await seed(t, call)
  const c = await created(t, call, '/v1/groups', { name: 'CONTOSO\\C', members: ['CONTOSO\\alice'] })
  const b = await created(t, call, '/v1/groups', { name: 'CONTOSO\\B', members: ['CONTOSO\\C'] })
  await created(t, call, '/v1/groups', { name: 'CONTOSO\\A', members: ['CONTOSO\\B', 'CONTOSO\\bob'] })
  const err = await refused(t, call, 'PATCH', `/v1/groups/${c.id}`, { members: ['CONTOSO\\alice', 'CONTOSO\\Tier2', 'CONTOSO\\A'] }, 409, 'GROUP_CYCLE', 'members[2]')
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
  const err = await refused(t, call, 'POST', '/v1/groups', { name: 'CONTOSO\\New', members: ['CONTOSO\\alice', 'CONTOSO\\nobody'] }, 422, 'UNKNOWN_REFERENCE', 'members[1]')
  t.match(err.message, /nobody/)
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\bob', 'NOWHERE\\bob'] }, 422, 'UNKNOWN_REFERENCE', 'members[1]')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { localAdministrators: ['CONTOSO\\Helpdesk', 'CONTOSO\\ghost'] }, 422, 'UNKNOWN_REFERENCE', 'localAdministrators[1]')
  await refused(t, call, 'POST', '/v1/domains', { name: 'NEWDOM', trusts: ['CONTOSO', 'NOWHERE'] }, 422, 'UNKNOWN_REFERENCE', 'trusts[1]')
})

t.test('malformed names are 400 VALIDATION_FAILED on name, and change nothing', async (t) => {
  const { call } = await build(t)
  await seed(t, call)
  for (const name of ['CONTOSOalice', 'CONTOSO\\a@b', 'ABCDEFGHIJKLMNOP\\alice', 'CONTOSO\\', '\\alice', 'CONTOSO\\alice.', 'CONTOSO\\ alice', 'CONTOSO\\a\\b', '']) {
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

t.test('a group in a computer\'s users list is 422 INVALID_REFERENCE, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { users: ['CONTOSO\\alice', 'CONTOSO\\Helpdesk'] }, 422, 'INVALID_REFERENCE', 'users[1]')
  t.match(err.message, /group/)
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC-2', users: ['CONTOSO\\Tier2'] }, 422, 'INVALID_REFERENCE', 'users[0]')
  // A domain listing itself as trusted is refused the same way.
  await refused(t, call, 'PATCH', `/v1/domains/${s.contoso.id}`, { trusts: ['FABRIKAM', 'contoso'] }, 422, 'INVALID_REFERENCE', 'trusts[1]')
})

t.test('the same account listed twice in different case is 422 INVALID_VALUE, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'PATCH', `/v1/groups/${s.helpdesk.id}`, { members: ['CONTOSO\\bob', 'CONTOSO\\alice', 'contoso\\BOB'] }, 422, 'INVALID_VALUE', 'members[2]')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { offerRaHelpers: ['CONTOSO\\Tier2', 'CONTOSO\\tier2'] }, 422, 'INVALID_VALUE', 'offerRaHelpers[1]')
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
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { firewall: { domain: { programExceptions: [HELPCTR], portExceptionz: [PORT_135] } } }, 400, 'UNKNOWN_FIELD', 'firewall.domain.portExceptionz')
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
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: '5', unit: 'days' } } }, 400, 'VALIDATION_FAILED')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { dcomEnabled: 'yes' }, 400, 'VALIDATION_FAILED', 'dcomEnabled')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { platform: 'windows-95' }, 400, 'VALIDATION_FAILED', 'platform')
  await refused(t, call, 'POST', '/v1/users', { name: 'CONTOSO\\dave', email: 'not an address' }, 400, 'VALIDATION_FAILED', 'email')
  await refused(t, call, 'POST', '/v1/users', ['CONTOSO\\dave'], 400, 'VALIDATION_FAILED')
  t.equal((await get(call, `/v1/users/${s.alice.id}`)).enabled, true, 'alice is still enabled')
})

t.test('a bad firewall entry is 422 INVALID_VALUE naming the entry, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const bad: Array<[Json, string]> = [
    [{ domain: { portExceptions: ['135:ICMP:*:Enabled:Offer Remote Assistance'] } }, 'firewall.domain.portExceptions[0]'],
    [{ domain: { portExceptions: [PORT_135, '70000:TCP:*:Enabled:Too high'] } }, 'firewall.domain.portExceptions[1]'],
    [{ domain: { portExceptions: ['135:TCP:*:On:Offer Remote Assistance'] } }, 'firewall.domain.portExceptions[0]'],
    [{ standard: { programExceptions: [HELPCTR, 'Sessmgr.exe'] } }, 'firewall.standard.programExceptions[1]'],
    [{ private: { programExceptions: ['%WINDIR%\\System32\\msra.exe:*:Maybe:Remote Assistance'] } }, 'firewall.private.programExceptions[0]']
  ]
  for (const [firewall, field] of bad) {
    await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { firewall }, 422, 'INVALID_VALUE', field)
  }
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC-9', firewall: bad[0]![0] }, 422, 'INVALID_VALUE', 'firewall.domain.portExceptions[0]')
  // A program path with a drive letter (a colon of its own) is a valid entry.
  const ok = await patched(t, call, `/v1/computers/${s.pc.id}`, { firewall: { public: { programExceptions: ['C:\\Windows\\System32\\msra.exe:*:Enabled:Remote Assistance'], portExceptions: ['3389:UDP:*:disabled:RDP'] } } })
  t.strictSame(ok.firewall.public.programExceptions, ['C:\\Windows\\System32\\msra.exe:*:Enabled:Remote Assistance'])
})

t.test('a controlPanel maxInvitationTime of 100, 0 or unit weeks is 400, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const cp = (value: unknown, unit: unknown) => ({ controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value, unit } } })
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(100, 'days'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(0, 'hours'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(1.5, 'hours'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(2, 'weeks'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.unit')
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC-7', ...cp(100, 'minutes') }, 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true } }, 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime')
  // The bounds themselves are accepted.
  t.strictSame((await patched(t, call, `/v1/computers/${s.pc.id}`, cp(99, 'minutes'))).controlPanel.maxInvitationTime, { value: 99, unit: 'minutes' })
  t.strictSame((await patched(t, call, `/v1/computers/${s.pc.id}`, cp(1, 'hours'))).controlPanel.maxInvitationTime, { value: 1, unit: 'hours' })
})

t.test('an all-digit computer name is 400 VALIDATION_FAILED on name, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\12345' }, 400, 'VALIDATION_FAILED', 'name')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { name: 'CONTOSO\\0042' }, 400, 'VALIDATION_FAILED', 'name')
  t.equal((await created(t, call, '/v1/computers', { name: 'CONTOSO\\12345A' })).name, 'CONTOSO\\12345A', 'digits with a letter are fine')
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

// PATCH ----------------------------------------------------------------------------------

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

t.test('PATCH with {} is 400; GET/PATCH/DELETE of an unknown uuid are 404 NOT_FOUND; neither an id nor a name is 400', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const ids: Record<string, string> = { domains: s.contoso.id, users: s.alice.id, groups: s.helpdesk.id, computers: s.pc.id }
  for (const [path, id] of Object.entries(ids)) {
    await refused(t, call, 'PATCH', `/v1/${path}/${id}`, {}, 400, 'VALIDATION_FAILED')
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const body = method === 'PATCH' ? (path === 'domains' ? { dnsName: null } : path === 'groups' ? { description: 'x' } : path === 'users' ? { enabled: true } : { dcomEnabled: 'Y' }) : undefined
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

// DELETE ---------------------------------------------------------------------------------

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

t.test('a domain that still has users is 409 DOMAIN_NOT_EMPTY and nothing changes; an empty one is deleted with its trusts', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const lit = await created(t, call, '/v1/domains', { name: 'LITWARE', trusts: ['CONTOSO'] })
  await patched(t, call, `/v1/domains/${s.contoso.id}`, { trusts: ['LITWARE'] })
  await refused(t, call, 'DELETE', `/v1/domains/${s.fabrikam.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  await refused(t, call, 'DELETE', `/v1/domains/${s.contoso.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  // A domain holding only a computer is not empty either.
  const nw = await created(t, call, '/v1/domains', { name: 'NORTHWIND' })
  const c = await created(t, call, '/v1/computers', { name: 'NORTHWIND\\PC-1' })
  await refused(t, call, 'DELETE', `/v1/domains/${nw.id}`, undefined, 409, 'DOMAIN_NOT_EMPTY')
  t.equal((await call('DELETE', `/v1/computers/${c.id}`)).statusCode, 204)
  t.equal((await call('DELETE', `/v1/domains/${nw.id}`)).statusCode, 204)

  // LITWARE trusts CONTOSO and is trusted by CONTOSO: both trusts go with it.
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, ['FABRIKAM', 'LITWARE'])
  const res = await call('DELETE', `/v1/domains/${lit.id}`)
  t.equal(res.statusCode, 204)
  isError(t, await call('GET', `/v1/domains/${lit.id}`), 404, 'NOT_FOUND')
  const contoso = await get(call, `/v1/domains/${s.contoso.id}`)
  t.strictSame([contoso.trusts, contoso.trustedBy], [[], ['FABRIKAM']])
  t.strictSame(names(await listAll(call, '/v1/domains')), ['CONTOSO', 'FABRIKAM'])
  // Emptying FABRIKAM lets it go too, and CONTOSO is then trusted by nobody.
  await patched(t, call, `/v1/groups/${s.tier2.id}`, { members: [] })
  t.equal((await call('DELETE', `/v1/users/${s.carol.id}`)).statusCode, 204)
  t.equal((await call('DELETE', `/v1/domains/${s.fabrikam.id}`)).statusCode, 204)
  t.strictSame((await get(call, `/v1/domains/${s.contoso.id}`)).trustedBy, [])
  // The name is free again.
  t.strictSame((await created(t, call, '/v1/domains', { name: 'LITWARE' })).trustedBy, [])
})

// Paging ---------------------------------------------------------------------------------

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

  t.strictSame(names(await listAll(call, '/v1/users?domain=FABRIKAM', 1)), ['fabrikam\\Anna', 'fabrikam\\zoe'], '?domain= filters, case-insensitively, across pages')
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

// Authorization --------------------------------------------------------------------------

t.test('an integration token with directory:read can list and read but gets 403 INSUFFICIENT_SCOPE on writes; a user token gets 403 ADMIN_REQUIRED', async (t) => {
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

// Audit ----------------------------------------------------------------------------------

t.test('every successful change is an audit event with actor admin, outcome success and its request id; no token appears in the audit trail or logs', async (t) => {
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
  t.strictSame(creates.map((e: Json) => e.target).sort(), [`users/${s.alice.id}`, `users/${s.bob.id}`, `users/${s.carol.id}`].sort(), 'one user.create per user created')
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
