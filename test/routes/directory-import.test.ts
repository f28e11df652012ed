import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, SAMPLE_DIRECTORY, build, listAll, snapshot, type TestApp } from '../helper.js'

type Call = TestApp['call']
type Json = any

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const IMPORT = '/v1/directory/import'
const PORT_135 = '135:TCP:*:Enabled:Offer Remote Assistance'

// Helpers -------------------------------------------------------------------------------

const byName = (items: Json[]): Record<string, Json> => Object.fromEntries(items.map((i) => [i.name, i]))
const names = (items: Json[]): string[] => items.map((i) => i.name)
const counts = (d: number[], u: number[], g: number[], c: number[]) => ({
  domains: { created: d[0], updated: d[1] },
  users: { created: u[0], updated: u[1] },
  groups: { created: g[0], updated: g[1] },
  computers: { created: c[0], updated: c[1] }
})

function isError (t: Test, res: LightMyRequestResponse, statusCode: number, code: string, field?: string): Json {
  t.equal(res.statusCode, statusCode, `status ${statusCode} (${res.body})`)
  const body = res.json()
  t.equal(body.statusCode, statusCode)
  t.equal(body.code, code, `code ${code}`)
  t.type(body.message, 'string')
  if (field !== undefined) t.equal(body.field, field, `field ${field}`)
  return body
}

/** The import is refused as expected and NOTHING changed: listings of all four resources and the audit trail are identical. */
async function refusedImport (t: Test, call: Call, doc: unknown, statusCode: number, code: string, field?: string): Promise<Json> {
  const before = await snapshot(call)
  const error = isError(t, await call('POST', IMPORT, doc), statusCode, code, field)
  const after = await snapshot(call)
  t.strictSame(after, before, 'the refused import changed nothing')
  t.equal(after.audit!.length, before.audit!.length, 'no audit event was added')
  return error
}

async function imported (t: Test, call: Call, doc: unknown): Promise<Json> {
  const res = await call('POST', IMPORT, doc)
  t.equal(res.statusCode, 200, `import → 200 (${res.statusCode === 200 ? 'ok' : res.body})`)
  return res.json()
}

/** A copy of the sample that tests may change. */
const sample = (): Json => structuredClone(SAMPLE_DIRECTORY) as Json

// Happy paths ----------------------------------------------------------------------------

t.test('importing SAMPLE_DIRECTORY creates every object, answers the counts, and reads back like objects created one by one', async (t) => {
  const { call } = await build(t)
  const result = await imported(t, call, SAMPLE_DIRECTORY)
  t.strictSame(result, counts([2, 0], [3, 0], [2, 0], [1, 0]))

  const domains = byName(await listAll(call, '/v1/domains'))
  t.strictSame(Object.keys(domains), ['CONTOSO', 'FABRIKAM'])
  t.strictSame([domains['FABRIKAM'].trusts, domains['FABRIKAM'].dnsName], [['CONTOSO'], 'fabrikam.com'])
  t.strictSame([domains['CONTOSO'].trusts, domains['CONTOSO'].trustedBy], [[], ['FABRIKAM']])

  const users = byName(await listAll(call, '/v1/users'))
  t.strictSame(Object.keys(users), ['CONTOSO\\alice', 'CONTOSO\\bob', 'FABRIKAM\\carol'])
  t.strictSame(
    [users['CONTOSO\\alice'].email, users['CONTOSO\\alice'].displayName, users['CONTOSO\\alice'].enabled],
    ['alice@contoso.com', 'Alice Novice', true]
  )
  t.equal(users['FABRIKAM\\carol'].enabled, false)
  t.strictSame(users['CONTOSO\\bob'].memberOf, ['CONTOSO\\Helpdesk'])

  const groups = byName(await listAll(call, '/v1/groups'))
  t.strictSame(groups['CONTOSO\\Helpdesk'].members, ['CONTOSO\\bob', 'CONTOSO\\Tier2'], 'Helpdesk lists Tier2, defined after it')
  t.strictSame(groups['CONTOSO\\Tier2'].memberOf, ['CONTOSO\\Helpdesk'])

  const [pc, ...more] = await listAll(call, '/v1/computers')
  t.equal(more.length, 0)
  t.match(pc.id, UUID)
  t.strictSame({ ...pc, id: undefined, createdAt: undefined, updatedAt: undefined }, {
    id: undefined,
    name: 'CONTOSO\\PC-0042',
    domain: 'CONTOSO',
    platform: 'xp-pro-sp2',
    dcomEnabled: 'Y',
    localAdministrators: ['CONTOSO\\Helpdesk'],
    offerRaHelpers: [],
    users: ['CONTOSO\\alice'],
    firewall: { domain: { enabled: true, ...SAMPLE_DIRECTORY.computers[0].firewall.domain } },
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value: 30, unit: 'days' } },
    createdAt: undefined,
    updatedAt: undefined
  })

  // One audit event for the whole import, by the administrator, with the counts.
  const events = (await call('GET', '/v1/audit-events?action=directory.import')).json().items
  t.equal(events.length, 1)
  t.match(events[0], { actor: 'admin', outcome: 'success', target: 'directory' })
  t.match(events[0].requestId, UUID)
  t.strictSame(events[0].details, result)
})

t.test('importing the same document again updates every object and duplicates nothing', async (t) => {
  const { call } = await build(t)
  await imported(t, call, SAMPLE_DIRECTORY)
  const first = await snapshot(call)
  const again = await imported(t, call, SAMPLE_DIRECTORY)
  t.strictSame(again, counts([0, 2], [0, 3], [0, 2], [0, 1]))
  const second = await snapshot(call)
  for (const kind of ['domains', 'users', 'groups', 'computers']) {
    const strip = (items: Json[]) => items.map((i) => ({ ...i, updatedAt: undefined }))
    t.strictSame(strip(second[kind]!), strip(first[kind]!), `${kind}: same objects (same ids), same content`)
  }
  t.equal((await call('GET', '/v1/audit-events?action=directory.import')).json().items.length, 2)

  // Matching is by name, case-insensitively (the document's spelling is the name field it
  // gives, so it is adopted); fields given change, fields not given stay, lists given
  // replace, and objects not in the document are left alone.
  const alice = byName(second.users!)['CONTOSO\\alice']
  const pcBefore = second.computers![0]
  const extra = await call('POST', '/v1/users', { name: 'CONTOSO\\dave' })
  t.equal(extra.statusCode, 201)
  const third = await imported(t, call, {
    domains: [{ name: 'CONTOSO', dnsName: 'corp.contoso.com' }],
    users: [{ name: 'CONTOSO\\ALICE', displayName: 'Alice N.' }],
    groups: [{ name: 'contoso\\helpdesk', members: ['contoso\\alice'] }, { name: 'CONTOSO\\Tier2', description: 'Second line' }],
    computers: [{ name: 'CONTOSO\\pc-0042', dcomEnabled: 'N' }]
  })
  t.strictSame(third, counts([0, 1], [0, 1], [0, 2], [0, 1]), 'all matched: nothing created')
  const now = await snapshot(call)
  for (const kind of ['domains', 'users', 'groups', 'computers']) {
    t.equal(now[kind]!.length, (second[kind]!.length) + (kind === 'users' ? 1 : 0), `${kind}: no new object`)
  }
  const users = byName(now.users!)
  t.strictSame(names(now.users!), ['CONTOSO\\ALICE', 'CONTOSO\\bob', 'CONTOSO\\dave', 'FABRIKAM\\carol'])
  t.equal(users['CONTOSO\\ALICE'].id, alice.id, 'the same user, now spelt as the document spells it')
  t.strictSame([users['CONTOSO\\ALICE'].displayName, users['CONTOSO\\ALICE'].email], ['Alice N.', 'alice@contoso.com'], 'email kept')
  const groups = byName(now.groups!)
  t.strictSame(
    groups['contoso\\helpdesk'] === undefined && groups['CONTOSO\\helpdesk'] !== undefined,
    true,
    'the group takes the document\'s spelling; the domain keeps its own'
  )
  t.strictSame(groups['CONTOSO\\helpdesk'].members, ['CONTOSO\\ALICE'], 'members replaced')
  t.strictSame([groups['CONTOSO\\Tier2'].description, groups['CONTOSO\\Tier2'].members], ['Second line', []])
  const pc = now.computers![0]
  t.equal(pc.id, pcBefore.id)
  t.strictSame([pc.dcomEnabled, pc.platform, pc.users, pc.localAdministrators], ['N', 'xp-pro-sp2', ['CONTOSO\\ALICE'], ['CONTOSO\\helpdesk']])
  t.strictSame(pc.firewall, pcBefore.firewall, 'firewall not given is kept')
  const contoso = byName(now.domains!)['CONTOSO']
  t.strictSame([contoso.dnsName, contoso.trustedBy], ['corp.contoso.com', ['FABRIKAM']], 'trusts not given are kept')
})

t.test('references may point to objects defined later in the same document (groups, trusts, domains of names)', async (t) => {
  const { call } = await build(t)
  const doc = {
    computers: [
      { name: 'NORTH\\PC-1', platform: 'windows-10', localAdministrators: ['NORTH\\Admins'], offerRaHelpers: ['SOUTH\\Helpers'], users: ['SOUTH\\sam'] }
    ],
    groups: [
      { name: 'NORTH\\Admins', members: ['SOUTH\\Helpers', 'NORTH\\nina'] },
      { name: 'SOUTH\\Helpers', members: ['SOUTH\\Tier3'] },
      { name: 'SOUTH\\Tier3', members: ['SOUTH\\sam'] }
    ],
    users: [{ name: 'NORTH\\nina' }, { name: 'SOUTH\\sam' }],
    domains: [{ name: 'NORTH', trusts: ['SOUTH', 'WEST'] }, { name: 'SOUTH' }, { name: 'WEST', trusts: ['NORTH'] }]
  }
  t.strictSame(await imported(t, call, doc), counts([3, 0], [2, 0], [3, 0], [1, 0]))
  const domains = byName(await listAll(call, '/v1/domains'))
  t.strictSame(domains['NORTH'].trusts, ['SOUTH', 'WEST'])
  t.strictSame(domains['NORTH'].trustedBy, ['WEST'])
  t.strictSame(domains['SOUTH'].trustedBy, ['NORTH'])
  const groups = byName(await listAll(call, '/v1/groups'))
  t.strictSame(groups['NORTH\\Admins'].members, ['SOUTH\\Helpers', 'NORTH\\nina'])
  t.strictSame(groups['SOUTH\\Helpers'].members, ['SOUTH\\Tier3'])
  t.strictSame(groups['SOUTH\\Tier3'].memberOf, ['SOUTH\\Helpers'])
  const users = byName(await listAll(call, '/v1/users'))
  t.strictSame(users['SOUTH\\sam'].memberOf, ['SOUTH\\Tier3'])
  const [pc] = await listAll(call, '/v1/computers')
  t.strictSame([pc.localAdministrators, pc.offerRaHelpers, pc.users], [['NORTH\\Admins'], ['SOUTH\\Helpers'], ['SOUTH\\sam']])
})

t.test('an import may re-nest existing groups in any order of the document (the end state decides, not the order)', async (t) => {
  const { call } = await build(t)
  await imported(t, call, SAMPLE_DIRECTORY) // Helpdesk ⊃ Tier2
  // Swap the nesting: Tier2 ⊃ Helpdesk. Listed in this order, Tier2's new members are
  // set while Helpdesk still holds Tier2; the final directory has no cycle.
  const doc = { groups: [{ name: 'CONTOSO\\Tier2', members: ['CONTOSO\\Helpdesk'] }, { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob'] }] }
  const res = await call('POST', IMPORT, doc)
  t.equal(res.statusCode, 200, `swapping the nesting in one document is accepted (${res.body})`)
  const groups = byName(await listAll(call, '/v1/groups'))
  t.strictSame(groups['CONTOSO\\Tier2']?.members, ['CONTOSO\\Helpdesk'])
  t.strictSame(groups['CONTOSO\\Helpdesk']?.members, ['CONTOSO\\bob'])
})

t.test('an import body over 16 KiB but under RA_IMPORT_BODY_LIMIT is accepted, while the same body to POST /v1/users is 413', async (t) => {
  const { call, config } = await build(t)
  const users = Array.from({ length: 200 }, (_, i) => ({
    name: `CONTOSO\\user${String(i).padStart(3, '0')}`,
    displayName: `User number ${i} of the large import document`,
    email: `user${i}@contoso.com`
  }))
  const doc = { domains: [{ name: 'CONTOSO' }], users }
  const size = Buffer.byteLength(JSON.stringify(doc))
  t.ok(size > config.bodyLimit, `the document (${size} bytes) is over the general body limit (${config.bodyLimit})`)
  t.ok(size < config.importBodyLimit, 'and under the import limit')

  const before = await snapshot(call)
  isError(t, await call('POST', '/v1/users', doc), 413, 'BODY_TOO_LARGE')
  t.strictSame(await snapshot(call), before, 'the 413 changed nothing')

  t.strictSame(await imported(t, call, doc), counts([1, 0], [200, 0], [0, 0], [0, 0]))
  const all = await listAll(call, '/v1/users')
  t.equal(all.length, 200)
  t.equal(new Set(all.map((u) => u.id)).size, 200)
  t.strictSame(names(all), users.map((u) => u.name))
})

t.test('the import has its own limit: RA_IMPORT_BODY_LIMIT applies to it and nothing else', async (t) => {
  const { call, config } = await build(t, { RA_IMPORT_BODY_LIMIT: '24576' })
  t.equal(config.importBodyLimit, 24576)
  const doc = (n: number) => ({
    domains: [{ name: 'CONTOSO' }],
    users: Array.from({ length: n }, (_, i) => ({
      name: `CONTOSO\\u${i}`,
      displayName: `Import user number ${i}, padded to a size`,
      email: `u${i}@contoso.com`
    }))
  })
  let small = 1
  while (Buffer.byteLength(JSON.stringify(doc(small))) < 20000) small++
  let big = small
  while (Buffer.byteLength(JSON.stringify(doc(big))) < 30000) big++
  await refusedImport(t, call, doc(big), 413, 'BODY_TOO_LARGE')
  t.strictSame((await imported(t, call, doc(small))).users, { created: small, updated: 0 }, 'a 20 KB import is still accepted')
})

// Refusals: all or nothing -----------------------------------------------------------------

t.test('one unknown member deep in the document refuses the import with the path of the member, and changes nothing', async (t) => {
  const { call } = await build(t)
  const doc = sample()
  doc.groups.push({ name: 'CONTOSO\\Tier3', members: ['CONTOSO\\alice', 'CONTOSO\\Tier2', 'CONTOSO\\nobody'] })
  // …first on an empty directory: not even the domains may be left behind.
  const err = await refusedImport(t, call, doc, 422, 'UNKNOWN_REFERENCE', 'groups[2].members[2]')
  t.match(err.message, /nobody/)
  t.strictSame(await listAll(call, '/v1/domains'), [])

  // …then over an existing directory: the updates the document would make are rolled back too.
  await imported(t, call, SAMPLE_DIRECTORY)
  const doc2 = sample()
  doc2.users[0].displayName = 'Changed'
  doc2.domains.push({ name: 'NEWDOM' })
  doc2.groups[1].members = ['CONTOSO\\alice', 'CONTOSO\\ghost']
  await refusedImport(t, call, doc2, 422, 'UNKNOWN_REFERENCE', 'groups[1].members[1]')
  const alice = (await listAll(call, '/v1/users?domain=CONTOSO'))[0]
  t.equal(alice.displayName, 'Alice Novice')
})

t.test('a group cycle created only by the document is refused as GROUP_CYCLE at its path, and changes nothing', async (t) => {
  const { call } = await build(t)
  await imported(t, call, SAMPLE_DIRECTORY)
  const doc = {
    groups: [
      { name: 'CONTOSO\\A', members: ['CONTOSO\\B'] },
      { name: 'CONTOSO\\B', members: ['CONTOSO\\alice', 'CONTOSO\\C'] },
      { name: 'CONTOSO\\C', members: ['CONTOSO\\bob', 'CONTOSO\\A'] }
    ]
  }
  const err = await refusedImport(t, call, doc, 409, 'GROUP_CYCLE', 'groups[2].members[1]')
  t.match(err.message, /groups\[2\]\.members\[1\]/, 'the message names the same path')
  // Two groups containing each other, and a group containing itself.
  await refusedImport(
    t, call, { groups: [{ name: 'CONTOSO\\X', members: ['CONTOSO\\Y'] }, { name: 'CONTOSO\\Y', members: ['CONTOSO\\X'] }] },
    409, 'GROUP_CYCLE', 'groups[1].members[0]'
  )
  await refusedImport(t, call, { groups: [{ name: 'CONTOSO\\Self', members: ['contoso\\self'] }] }, 409, 'GROUP_CYCLE', 'groups[0].members[0]')
  // A cycle through an existing group: Tier2 is in Helpdesk already.
  await refusedImport(t, call, { groups: [{ name: 'CONTOSO\\Tier2', members: ['CONTOSO\\Helpdesk'] }] }, 409, 'GROUP_CYCLE', 'groups[0].members[0]')
})

t.test('a duplicate name in the document refuses the import at its path, and changes nothing', async (t) => {
  const { call } = await build(t)
  await imported(t, call, SAMPLE_DIRECTORY)
  // A group named like a user of the same domain (new in the document, or existing).
  await refusedImport(t, call, { users: [{ name: 'CONTOSO\\dave' }], groups: [{ name: 'contoso\\DAVE' }] }, 409, 'DUPLICATE_NAME', 'groups[0].name')
  await refusedImport(t, call, { groups: [{ name: 'CONTOSO\\Tier2' }, { name: 'CONTOSO\\alice', members: [] }] }, 409, 'DUPLICATE_NAME', 'groups[1].name')
  await refusedImport(t, call, { users: [{ name: 'CONTOSO\\bob' }, { name: 'CONTOSO\\Helpdesk' }] }, 409, 'DUPLICATE_NAME', 'users[1].name')
})

t.test('the same user listed twice in one document (names differing only in case) is refused, not silently merged', async (t) => {
  const { call } = await build(t)
  const doc = sample()
  doc.users.push({ name: 'contoso\\ALICE', email: 'someone-else@contoso.com' })
  await refusedImport(t, call, doc, 409, 'DUPLICATE_NAME', 'users[3].name')
})

t.test('the same domain listed twice in one document is refused, not silently merged', async (t) => {
  const { call } = await build(t)
  const doc = sample()
  doc.domains.push({ name: 'contoso', dnsName: 'other.example' })
  await refusedImport(t, call, doc, 409, 'DUPLICATE_NAME', 'domains[2].name')
})

t.test('an unknown field in one item is 400 UNKNOWN_FIELD naming its path, and changes nothing', async (t) => {
  const { call } = await build(t)
  await imported(t, call, SAMPLE_DIRECTORY)
  const doc = sample()
  doc.users[2].nickname = 'Caz'
  const err = await refusedImport(t, call, doc, 400, 'UNKNOWN_FIELD', 'users[2].nickname')
  t.match(err.message, /users\[2\]\.nickname/)
  const doc2 = sample()
  doc2.computers[0].firewall.domain.allowRemoteDesktop = true
  await refusedImport(t, call, doc2, 400, 'UNKNOWN_FIELD', 'computers[0].firewall.domain.allowRemoteDesktop')
  await refusedImport(t, call, { ...sample(), policies: [] }, 400, 'UNKNOWN_FIELD', 'policies')
  const doc3 = sample()
  doc3.groups[0].memberOf = []
  await refusedImport(t, call, doc3, 400, 'UNKNOWN_FIELD', 'groups[0].memberOf')
})

t.test('other bad items refuse the whole import at their path: wrong type, malformed name, bad firewall entry, ' +
  'group as a computer user, unknown trust, unknown domain', async (t) => {
  const { call } = await build(t)
  await imported(t, call, { domains: [{ name: 'CONTOSO' }], users: [{ name: 'CONTOSO\\zed' }] })
  const cases: Array<[(doc: Json) => void, number, string, string]> = [
    [(d) => { d.users[1].enabled = 'yes' }, 400, 'VALIDATION_FAILED', 'users[1].enabled'],
    [(d) => { d.users[1].name = 'CONTOSObob' }, 400, 'VALIDATION_FAILED', 'users[1].name'],
    [(d) => { d.computers[0].name = 'CONTOSO\\4242' }, 400, 'VALIDATION_FAILED', 'computers[0].name'],
    [
      (d) => { d.computers[0].controlPanel.maxInvitationTime = { value: 100, unit: 'days' } },
      400, 'VALIDATION_FAILED', 'computers[0].controlPanel.maxInvitationTime.value'
    ],
    [
      (d) => { d.computers[0].firewall.domain.portExceptions = [PORT_135, '135:TCP:*:Enabled'] },
      422, 'INVALID_VALUE', 'computers[0].firewall.domain.portExceptions[1]'
    ],
    [(d) => { d.computers[0].users = ['CONTOSO\\Tier2'] }, 422, 'INVALID_REFERENCE', 'computers[0].users[0]'],
    [(d) => { d.computers[0].localAdministrators = ['CONTOSO\\Helpdesk', 'contoso\\helpdesk'] }, 422, 'INVALID_VALUE', 'computers[0].localAdministrators[1]'],
    [(d) => { d.domains[1].trusts = ['CONTOSO', 'NOWHERE'] }, 422, 'UNKNOWN_REFERENCE', 'domains[1].trusts[1]'],
    [(d) => { d.domains[1].trusts = ['FABRIKAM'] }, 422, 'INVALID_REFERENCE', 'domains[1].trusts[0]'],
    [(d) => { d.users[2].name = 'NOWHERE\\carol' }, 422, 'UNKNOWN_REFERENCE', 'users[2].name'],
    [(d) => { d.computers[0].name = 'NOWHERE\\PC-1' }, 422, 'UNKNOWN_REFERENCE', 'computers[0].name']
  ]
  for (const [change, status, code, field] of cases) {
    const doc = sample()
    change(doc)
    await refusedImport(t, call, doc, status, code, field)
  }
  t.strictSame(names(await listAll(call, '/v1/users')), ['CONTOSO\\zed'], 'only what was there before')
})

t.test('a malformed or oversized import body is refused before anything is read', async (t) => {
  const { app, call } = await build(t)
  const before = await snapshot(call)
  for (const payload of ['{"users": [', '{"users": [], "__proto__": {"x": 1}}', '[]', 'null']) {
    const res = await app.inject({
      method: 'POST',
      url: IMPORT,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload
    })
    t.equal(res.statusCode, 400, payload)
  }
  t.strictSame(await snapshot(call), before)
})
