import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { writeRegistryPol } from '../../src/domain/registry-pol.js'
import { ADMIN_TOKEN, listAll, type Json } from '../helper.js'
import { noSamba, readWithSamba, type SambaEntry } from '../interop/samba.js'
import { world, type InvitationWorld } from './invitations-helper.js'

const fixture = (name: string): Buffer => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'windows', name))
const DOD = fixture('DoD_Windows8_Computer_registry.pol')
const GOLDSTAR = fixture('goldstar611_Registry.pol')
const TS = 'Software\\Policies\\Microsoft\\Windows NT\\Terminal Services'
const HELPERS = `${TS}\\RAUnsolicit`
const HEADER = Buffer.from('PReg\x01\x00\x00\x00', 'latin1')
const DOD_VIEW = 'You are about to allow other personnel to remotely connect to your system. Sensitive data should not be displayed during this session.'
const DOD_SHARE = 'You are about to allow other personnel to remotely control your system. You must monitor the activity until the session is closed.'

/** POST /v1/policies/import with the file as the body. */
const importFile = (w: InvitationWorld, name: string, file: Uint8Array, token: string | null = ADMIN_TOKEN, type = 'application/octet-stream') =>
  w.app.inject({
    method: 'POST',
    url: `/v1/policies/import?name=${encodeURIComponent(name)}`,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': type },
    payload: Buffer.from(file)
  })
const exportFile = (w: InvitationWorld, id: string, token = ADMIN_TOKEN) =>
  w.app.inject({ method: 'GET', url: `/v1/policies/${id}/registry.pol`, headers: { authorization: `Bearer ${token}` } })
const created = (res: LightMyRequestResponse): Json => {
  if (res.statusCode !== 201) throw new Error(`expected 201, got ${res.statusCode}: ${res.body}`)
  return res.json()
}
const policyCount = async (w: InvitationWorld): Promise<number> => (await listAll(w.call, '/v1/policies')).length

/** Settings for each state, to export: every setting enabled with options, every one disabled, none configured. */
const ENABLED = {
  solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view', maxTicketTime: { value: 45, unit: 'minutes' }, emailMethod: 'smapi' },
  offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\bob', 'CONTOSO\\Helpdesk'] },
  sessionLogging: { state: 'enabled' },
  encryptedOnlyTickets: { state: 'enabled' },
  customMessages: { state: 'enabled', viewMessage: 'Connecting: täglich 😀', shareControlMessage: 'Sharing control\r\nsecond line' }
}
const DISABLED = {
  solicitedRemoteAssistance: { state: 'disabled' },
  offerRemoteAssistance: { state: 'disabled' },
  sessionLogging: { state: 'disabled' },
  encryptedOnlyTickets: { state: 'disabled' },
  customMessages: { state: 'disabled' }
}
const NOT_CONFIGURED = {
  solicitedRemoteAssistance: { state: 'not-configured' },
  offerRemoteAssistance: { state: 'not-configured' },
  sessionLogging: { state: 'not-configured' },
  encryptedOnlyTickets: { state: 'not-configured' },
  customMessages: { state: 'not-configured' }
}

t.test('S5 O1: the DoD Windows 8 GPO imports as Solicited and Offer RA disabled, logging on, encrypted-only not configured, custom messages', async (t) => {
  const w = await world(t)
  const { policy, warnings, ignored } = created(await importFile(w, 'DoD Windows 8 Computer', DOD))
  t.same(policy.settings, {
    solicitedRemoteAssistance: { state: 'disabled' },
    offerRemoteAssistance: { state: 'disabled' },
    sessionLogging: { state: 'enabled' },
    encryptedOnlyTickets: { state: 'not-configured' },
    customMessages: { state: 'enabled', viewMessage: DOD_VIEW, shareControlMessage: DOD_SHARE }
  })
  t.same(warnings, [])
  t.equal(ignored.length, 209, 'every entry but the Remote Assistance ones is listed as ignored')
  const underKey = ignored.filter((i: Json) => i.key === 'Software\\policies\\Microsoft\\Windows NT\\Terminal Services')
  t.match(underKey.find((i: Json) => i.value === 'fPromptForPassword'), { reason: 'not a Remote Assistance value' })
  t.match(underKey.find((i: Json) => i.value === 'fDenyTSConnections'), { reason: 'not a Remote Assistance value' })
  t.match(ignored[0],
    { key: 'Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\CredUI', value: 'EnumerateAdministrators', reason: 'not a Remote Assistance key' })
  t.notOk(ignored.some((i: Json) => /^(fAllowToGetHelp|fAllowUnsolicited|LoggingEnabled|UseCustomMessages|ViewMessage|\*\*del)/.test(i.value) &&
    i.key.toLowerCase().startsWith(TS.toLowerCase())), 'the Remote Assistance values and their markers are all taken')

  // Linked to the domain, it is the computers' policy at once (O9).
  t.equal((await w.call('PUT', `/v1/domains/${w.contoso}/policy-links`, { policies: [policy.id] })).statusCode, 200)
  const effective = (await w.call('GET', `/v1/computers/${w.pc10}/effective-policy`)).json()
  const fromDod = { type: 'domain-policy', policyName: 'DoD Windows 8 Computer', domain: 'CONTOSO', linkOrder: 1 }
  t.match(effective.settings, {
    solicitedRemoteAssistance: { value: 'disabled', source: fromDod },
    maxTicketTime: { value: null },
    offerRemoteAssistance: { value: 'disabled', source: fromDod },
    sessionLogging: { value: 'enabled', source: fromDod },
    encryptedOnlyTickets: { value: 'not-configured', source: { type: 'not-configured' } },
    customMessages: { value: { viewMessage: DOD_VIEW, shareControlMessage: DOD_SHARE }, source: fromDod }
  })
  t.equal(effective.offer.allowed, false, 'no offers (O1)')
  const invitation = await w.call('POST', '/v1/invitations', { computer: 'CONTOSO\\PC-10' }, w.alice)
  t.match(invitation.json(), { statusCode: 403, code: 'POLICY_DENIED', checks: [{ rule: 'S1', passed: true }, { rule: 'S5', passed: false }] },
    'S5: no invitations under the imported GPO')
})

t.test('goldstar611\'s Registry.pol holds no Remote Assistance setting: an all-not-configured policy, its 20 entries ignored', async (t) => {
  const w = await world(t)
  const { policy, warnings, ignored } = created(await importFile(w, 'goldstar611', GOLDSTAR))
  t.same(policy.settings, NOT_CONFIGURED)
  t.same(warnings, [])
  t.equal(ignored.length, 20)
  t.ok(ignored.every((i: Json) => i.reason === 'not a Remote Assistance key'))
  t.match(ignored.find((i: Json) => i.value.startsWith('**')), { key: 'SOFTWARE\\Policies\\Microsoft\\Windows\\System', value: '**del.ShellSmartScreenLevel' })
  t.same(ignored.slice(0, 2).map((i: Json) => [i.key, i.value]), [
    ['SOFTWARE\\Policies\\Microsoft\\PCHealth\\ErrorReporting', 'ForceQueueMode'], ['SOFTWARE\\Policies\\Microsoft\\PCHealth\\ErrorReporting', 'ShowUI']
  ], 'in file order, spelled as the file spells them')
})

t.test('S2-S4 O10: options the file lacks get the ADMX defaults, with warnings; unknown helpers get the O10 warning; no text, no policy', async (t) => {
  const w = await world(t)
  const file = writeRegistryPol([
    { key: TS.toUpperCase(), value: 'fAllowToGetHelp', type: 'REG_DWORD', data: 1 },
    { key: TS, value: 'MaxTicketExpiry', type: 'REG_DWORD', data: 12 },
    { key: TS, value: 'fAllowUnsolicited', type: 'REG_DWORD', data: 1 },
    { key: TS, value: 'fAllowUnsolicitedFullControl', type: 'REG_DWORD', data: 0 },
    { key: HELPERS, value: '**delvals.', type: 'REG_SZ', data: ' ' },
    { key: HELPERS, value: 'CONTOSO\\bob', type: 'REG_SZ', data: 'CONTOSO\\bob' },
    { key: HELPERS, value: 'CONTOSO\\Ghosts', type: 'REG_SZ', data: 'CONTOSO\\Ghosts' }
  ])
  const { policy, warnings, ignored } = created(await importFile(w, 'Partial', file))
  t.same(policy.settings.solicitedRemoteAssistance,
    { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 12, unit: 'hours' }, emailMethod: 'mailto' })
  t.same(policy.settings.offerRemoteAssistance, { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\bob', 'CONTOSO\\Ghosts'] })
  t.same(warnings.map((x: Json) => x.field), [
    'settings.solicitedRemoteAssistance.permitRemoteControl', 'settings.solicitedRemoteAssistance.maxTicketTime.unit',
    'settings.solicitedRemoteAssistance.emailMethod', 'settings.offerRemoteAssistance.helpers[1]'
  ])
  t.match(warnings[1], { message: 'MaxTicketExpiryUnits is not in the file: the default, hours, applies' })
  t.match(warnings[3], { message: /CONTOSO\\Ghosts is not a user or group in the directory/ })
  t.same(ignored, [])

  const noText = await importFile(w, 'No text', writeRegistryPol([{ key: TS, value: 'UseCustomMessages', type: 'REG_DWORD', data: 1 }]))
  t.match(noText.json(),
    { statusCode: 422, code: 'INVALID_VALUE', field: 'settings.customMessages', message: /neither ViewMessage nor ShareControlMessage/ })
  t.equal(await policyCount(w), 1, 'nothing more was created')
})

t.test('export, then import: the same policy settings, for every state, the DoD\'s included', async (t) => {
  const w = await world(t)
  await w.call('POST', '/v1/groups', { name: 'CONTOSO\\Helpdesk', members: ['CONTOSO\\bob'] })
  const dod = created(await importFile(w, 'DoD', DOD)).policy
  for (const [name, settings] of [['enabled', ENABLED], ['disabled', DISABLED], ['not configured', NOT_CONFIGURED]] as const) {
    const policy = created(await w.call('POST', '/v1/policies', { name, settings })).policy
    t.same(policy.settings, settings, `${name}: saved as given`)
  }
  for (const policy of await listAll(w.call, '/v1/policies')) {
    const res = await exportFile(w, policy.id)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/octet-stream')
    t.equal(res.headers['content-disposition'], 'attachment; filename="Registry.pol"')
    t.equal(res.rawPayload.subarray(0, 8).toString('hex'), '5052656701000000', 'PReg, version 1')
    const again = created(await importFile(w, `${policy.name} again`, res.rawPayload))
    t.same(again.policy.settings, policy.settings, `${policy.name}: the same settings`)
    t.same(again.ignored, [], `${policy.name}: nothing ignored`)
    t.same(again.warnings, [], `${policy.name}: no warnings`)
  }
  t.equal((await exportFile(w, dod.id)).rawPayload.length, 8 + 2674, 'the DoD policy exports as its 12 Remote Assistance entries')
  t.equal((await exportFile(w, '00000000-0000-4000-8000-000000000000')).statusCode, 404)
})

t.test('interop: Samba reads every exported file back with the entries we meant to write', { skip: noSamba }, async (t) => {
  const w = await world(t)
  const dword = (value: string, data: number, key = TS): SambaEntry => ({ key, value, type: 4, data })
  const sz = (value: string, data: string, key = TS): SambaEntry => ({ key, value, type: 1, data })
  const del = (value: string): SambaEntry => sz(`**del.${value}`, ' ')
  const cases: Array<[string, Json, SambaEntry[]]> = [
    ['every setting enabled, with options', ENABLED, [
      dword('fAllowToGetHelp', 1), dword('fAllowFullControl', 0), dword('MaxTicketExpiry', 45), dword('MaxTicketExpiryUnits', 0), dword('fUseMailto', 0),
      dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 0),
      dword('LoggingEnabled', 1), dword('CreateEncryptedOnlyTickets', 1),
      dword('UseCustomMessages', 1), sz('ShareControlMessage', 'Sharing control\r\nsecond line'), sz('ViewMessage', 'Connecting: täglich 😀'),
      sz('**delvals.', ' ', HELPERS), sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS), sz('CONTOSO\\Helpdesk', 'CONTOSO\\Helpdesk', HELPERS)
    ]],
    ['the other options', {
      solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 99, unit: 'days' }, emailMethod: 'mailto' },
      offerRemoteAssistance: { state: 'enabled', permission: 'control', helpers: [] },
      customMessages: { state: 'enabled', shareControlMessage: 'Only this one' }
    }, [
      dword('fAllowToGetHelp', 1), dword('fAllowFullControl', 1), dword('MaxTicketExpiry', 99), dword('MaxTicketExpiryUnits', 2), dword('fUseMailto', 1),
      dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 1),
      dword('UseCustomMessages', 1), sz('ShareControlMessage', 'Only this one'), del('ViewMessage'),
      sz('**delvals.', ' ', HELPERS)
    ]],
    ['every setting disabled', DISABLED, [
      dword('fAllowToGetHelp', 0), del('fAllowFullControl'), del('MaxTicketExpiry'), del('MaxTicketExpiryUnits'), del('fUseMailto'),
      dword('fAllowUnsolicited', 0), del('fAllowUnsolicitedFullControl'),
      dword('LoggingEnabled', 0), dword('CreateEncryptedOnlyTickets', 0),
      dword('UseCustomMessages', 0), del('ShareControlMessage'), del('ViewMessage'),
      sz('**delvals.', ' ', HELPERS)
    ]],
    ['nothing configured', NOT_CONFIGURED, []],
    ['the minutes unit and hours', { solicitedRemoteAssistance: { state: 'enabled', maxTicketTime: { value: 1, unit: 'hours' } } }, [
      dword('fAllowToGetHelp', 1), dword('fAllowFullControl', 1), dword('MaxTicketExpiry', 1), dword('MaxTicketExpiryUnits', 1), dword('fUseMailto', 1)
    ]]
  ]
  for (const [name, settings, expected] of cases) {
    const policy = created(await w.call('POST', '/v1/policies', { name, settings })).policy
    const file = path.join(t.testdir(), `${policy.id}.pol`)
    writeFileSync(file, (await exportFile(w, policy.id)).rawPayload)
    t.same(await readWithSamba(file), { entries: expected }, `${name}: Samba reads the entries we meant`)
  }
  // The imported DoD policy, exported: the DoD file's own Remote Assistance entries, as Samba reads them from either.
  const dod = created(await importFile(w, 'DoD', DOD)).policy
  const ours = path.join(t.testdir(), 'dod-export.pol')
  const theirs = path.join(t.testdir(), 'dod.pol')
  writeFileSync(ours, (await exportFile(w, dod.id)).rawPayload)
  writeFileSync(theirs, DOD)
  const original = await readWithSamba(theirs) as { entries: SambaEntry[] }
  const lower = (e: SambaEntry): SambaEntry => ({ ...e, key: e.key.toLowerCase() })
  const raValues = /^(\*\*del\.|\*\*delvals\.|fAllowToGetHelp|fAllowUnsolicited|LoggingEnabled|UseCustomMessages|ShareControlMessage|ViewMessage)/
  t.same((await readWithSamba(ours) as { entries: SambaEntry[] }).entries.map(lower),
    original.entries.filter((e) => e.key.toLowerCase().startsWith(TS.toLowerCase()) && raValues.test(e.value)).map(lower),
    'the DoD policy: the same Remote Assistance entries as the DoD file, in the same order')
})

t.test('a malformed file is 422 with the byte offset in the message and in a field; nothing is created', async (t) => {
  const w = await world(t)
  const cases: Array<[string, Buffer, number]> = [
    ['empty', Buffer.alloc(0), 0],
    ['not PReg', Buffer.from('<?xml version="1.0"?><UPLOADINFO/>'), 0],
    ['version 2', Buffer.concat([Buffer.from('PReg'), Buffer.from([2, 0, 0, 0])]), 4],
    ['truncated', DOD.subarray(0, 1000), 1000],
    ['bad type', Buffer.concat([DOD.subarray(0, 0xb2), Buffer.from([9, 0, 0, 0]), DOD.subarray(0xb6)]), 0xb2],
    ['size that does not match', Buffer.concat([DOD.subarray(0, 0xb8), Buffer.from([2, 0, 0, 0]), DOD.subarray(0xbc)]), 0xb8]
  ]
  for (const [name, file, offset] of cases) {
    const res = await importFile(w, name, file)
    t.equal(res.statusCode, 422, `${name}: ${res.body}`)
    t.match(res.json(), { code: 'REGISTRY_POL_MALFORMED', offset, message: new RegExp(`at byte offset ${offset}\\b`) }, name)
  }
  t.equal(await policyCount(w), 0, 'nothing was created')
  t.same((await w.call('GET', '/v1/audit-events?action=policy.create')).json().items, [], 'nor audited as created')

  // The other refusals of the route.
  t.match((await importFile(w, 'JSON', Buffer.from('{}'), ADMIN_TOKEN, 'application/json')).json(), { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
  const noName = await w.app.inject({
    method: 'POST', url: '/v1/policies/import', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, payload: DOD
  })
  t.match(noName.json(), { statusCode: 400, field: 'name' })
  t.match((await importFile(w, ' padded', DOD)).json(), { statusCode: 400, field: 'name' }, 'names follow the policy name rules')
  created(await importFile(w, 'Twice', DOD))
  t.match((await importFile(w, 'TWICE', DOD)).json(), { statusCode: 409, code: 'DUPLICATE_NAME', field: 'name' })
  t.match((await importFile(w, 'x', DOD, null)).json(), { statusCode: 401 })
  t.equal(await policyCount(w), 1)

  // Only this route takes a file: the rest of the API still refuses non-JSON bodies.
  const elsewhere = await w.app.inject({
    method: 'POST', url: '/v1/policies', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, payload: DOD
  })
  t.match(elsewhere.json(), { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }, 'POST /v1/policies with a file: 415')
})

t.test('the import has its own body limit (RA_POLICY_IMPORT_BODY_LIMIT), by default 1 MiB, above the JSON API\'s', async (t) => {
  const w = await world(t, { RA_POLICY_IMPORT_BODY_LIMIT: '4096' })
  t.equal((await importFile(w, 'small', GOLDSTAR)).statusCode, 201, 'a 3418-byte file: within the limit')
  t.match((await importFile(w, 'large', DOD)).json(), { statusCode: 413, code: 'BODY_TOO_LARGE' }, 'a 38656-byte file: over it')
  t.equal(await policyCount(w), 1)
  const defaults = await world(t)
  t.equal(defaults.config.policyImportBodyLimit, 1024 * 1024)
  t.ok(DOD.length > defaults.config.bodyLimit, 'the DoD file is larger than a JSON body may be')
  t.equal((await importFile(defaults, 'DoD', DOD)).statusCode, 201)
})

t.test('fuzzing over HTTP: truncated, flipped and random files never cause a 5xx, and a refused one creates nothing', async (t) => {
  const w = await world(t)
  const samples = [
    ...fc.sample(fc.nat({ max: DOD.length - 1 }).map((n) => DOD.subarray(0, n)), { numRuns: 60, seed: 17 }),
    ...fc.sample(fc.nat({ max: GOLDSTAR.length - 1 }).map((n) => GOLDSTAR.subarray(0, n)), { numRuns: 40, seed: 18 }),
    ...[DOD, GOLDSTAR].flatMap((file, i) => fc.sample(
      fc.array(fc.tuple(fc.nat({ max: file.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })
        .map((flips) => { const copy = Buffer.from(file); for (const [at, x] of flips) copy[at]! ^= x; return copy }),
      { numRuns: 60, seed: 19 + i })),
    ...fc.sample(fc.uint8Array({ maxLength: 300 }), { numRuns: 30, seed: 21 }),
    ...fc.sample(fc.uint8Array({ maxLength: 300 }).map((tail) => Buffer.concat([HEADER, tail])), { numRuns: 30, seed: 22 })
  ]
  let expected = 0
  const statuses = new Map<number, number>()
  for (const [i, file] of samples.entries()) {
    const before = await policyCount(w)
    const res = await importFile(w, `fuzz ${i}`, file)
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode >= 500) t.fail(`sample ${i} (${file.length} bytes): ${res.statusCode} ${res.body}`)
    if (res.statusCode === 201) {
      expected++
      continue
    }
    if (res.statusCode !== 422) t.fail(`sample ${i}: ${res.statusCode} ${res.body}`)
    const body = res.json()
    if (body.code === 'REGISTRY_POL_MALFORMED' && !(body.offset >= 0 && body.offset <= file.length && body.message.includes(`at byte offset ${body.offset}`))) {
      t.fail(`sample ${i}: offset ${body.offset} of ${file.length} bytes`)
    }
    if (await policyCount(w) !== before) t.fail(`sample ${i} was refused (${body.code}) but created a policy`)
  }
  t.equal(await policyCount(w), expected, `${samples.length} files: ${JSON.stringify(Object.fromEntries(statuses))}; only the accepted ones created a policy`)
  t.ok((statuses.get(422) ?? 0) > samples.length / 2, 'most were refused')
})

t.test('O11: import is refused to users outside the policy editors, audited; an editor imports, audited as a policy change', async (t) => {
  const w = await world(t)
  t.equal((await w.call('POST', '/v1/groups', { name: 'CONTOSO\\Group Policy Creator Owners', members: ['CONTOSO\\bob'] })).statusCode, 201)

  const denied = await importFile(w, 'Alice\'s', DOD, w.alice)
  t.equal(denied.statusCode, 403)
  t.match(denied.json(), { code: 'POLICY_DENIED', message: /O11/, checks: [{ rule: 'O11', passed: false, remedy: /Group Policy Creator Owners/ }] })
  t.match((await importFile(w, 'Alice\'s broken', DOD.subarray(0, 100), w.alice)).json(), { statusCode: 403, code: 'POLICY_DENIED' },
    'O11 comes first: a non-editor learns nothing about the file')
  t.equal(await policyCount(w), 0)
  const refusals = (await w.call('GET', '/v1/audit-events?action=policy.edit-denied')).json().items
  t.equal(refusals.length, 2, 'each refusal is audited')
  t.match(refusals[0], { actor: 'CONTOSO\\alice', outcome: 'denied', details: { rule: 'O11' } })

  const integration = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'reader', scopes: ['policies:read'] } })).json().token
  t.match((await importFile(w, 'Reader\'s', DOD, integration)).json(), { statusCode: 403, code: 'INSUFFICIENT_SCOPE' })

  const { policy } = created(await importFile(w, 'Bob\'s DoD', DOD, w.bob))
  const events = (await w.call('GET', `/v1/audit-events?target=policies/${policy.id}`)).json().items
  t.equal(events.length, 1)
  t.match(events[0], {
    action: 'policy.create',
    actor: 'CONTOSO\\bob',
    outcome: 'success',
    details: {
      name: 'Bob\'s DoD',
      import: { format: 'Registry.pol', bytes: DOD.length, entries: 221, ignored: 209 },
      before: null,
      after: { solicitedRemoteAssistance: { state: 'disabled' }, sessionLogging: { state: 'enabled' } }
    }
  })

  // Export is a read: the policies:read scope, and users as for GET /v1/policies.
  t.equal((await exportFile(w, policy.id, integration)).statusCode, 200)
  t.equal((await exportFile(w, policy.id, w.alice)).statusCode, 200)
  const writerOnly = (await w.call('POST', '/v1/tokens', { principal: { type: 'integration', name: 'writer', scopes: ['policies:write'] } })).json().token
  t.match((await exportFile(w, policy.id, writerOnly)).json(), { statusCode: 403, code: 'INSUFFICIENT_SCOPE' })
  t.equal((await importFile(w, 'Writer\'s', GOLDSTAR, writerOnly)).statusCode, 201, 'an integration with policies:write imports')
})
