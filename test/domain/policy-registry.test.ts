import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { ACCOUNT_NAME_PATTERN } from '../../src/domain/names.js'
import { NOT_CONFIGURED, normalizeSettings, type PolicySettings } from '../../src/domain/policy.js'
import { HELPERS_KEY, registryFromSettings, settingsFromRegistry, TERMINAL_SERVICES_KEY, type RegistryImport } from '../../src/domain/policy-registry.js'
import { readRegistryPol, writeRegistryPol, type PolEntry } from '../../src/domain/registry-pol.js'

const TS = TERMINAL_SERVICES_KEY
const dword = (value: string, data: number, key = TS): PolEntry => ({ key, value, type: 'REG_DWORD', data })
const sz = (value: string, data: string, key = TS): PolEntry => ({ key, value, type: 'REG_SZ', data })
const del = (value: string, key = TS): PolEntry => sz(`**del.${value}`, ' ', key)
const delvals = (key = HELPERS_KEY): PolEntry => sz('**delvals.', ' ', key)

const imported = (entries: PolEntry[]): RegistryImport => {
  const result = settingsFromRegistry(entries)
  if ('problem' in result) throw new Error(result.problem.message)
  return result
}
const settings = (s: Partial<PolicySettings>): PolicySettings => {
  const r = normalizeSettings(s)
  if ('problem' in r) throw new Error(r.problem.message)
  return r.settings
}

const SOLICITED_ENABLED = [
  dword('fAllowToGetHelp', 1), dword('fAllowFullControl', 0), dword('MaxTicketExpiry', 3), dword('MaxTicketExpiryUnits', 2), dword('fUseMailto', 0)
]
const SOLICITED_DISABLED = [dword('fAllowToGetHelp', 0), del('fAllowFullControl'), del('MaxTicketExpiry'), del('MaxTicketExpiryUnits'), del('fUseMailto')]

t.test('the DoD Windows 8 GPO: Solicited and Offer RA disabled (S5), logging on, encrypted-only not configured, custom messages', async (t) => {
  const file = readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'windows', 'DoD_Windows8_Computer_registry.pol'))
  const { settings: s, warnings, ignored } = imported(readRegistryPol(file))
  t.same(s, {
    solicitedRemoteAssistance: { state: 'disabled' },
    offerRemoteAssistance: { state: 'disabled' },
    sessionLogging: { state: 'enabled' },
    encryptedOnlyTickets: { state: 'not-configured' },
    customMessages: {
      state: 'enabled',
      viewMessage: 'You are about to allow other personnel to remotely connect to your system. Sensitive data should not be displayed during this session.',
      shareControlMessage: 'You are about to allow other personnel to remotely control your system. You must monitor the activity until the session is closed.'
    }
  })
  t.same(warnings, [])
  t.equal(ignored.length, 221 - 12, 'all but the 12 Remote Assistance entries (values and markers)')
  const underTs = ignored.filter((i) => i.key.toLowerCase() === TS.toLowerCase())
  t.same(underTs.map((i) => i.value), ['fPromptForPassword', 'MinEncryptionLevel', 'PerSessionTempDir', 'DeleteTempDirsOnExit', 'fEncryptRPCTraffic',
    'DisablePasswordSaving', 'fDenyTSConnections', 'fDisableCdm'], 'other values under the key, in file order')
  t.ok(underTs.every((i) => i.reason === 'not a Remote Assistance value'))
  t.ok(ignored.filter((i) => !underTs.includes(i)).every((i) => i.reason === 'not a Remote Assistance key'))
  t.same(registryFromSettings(s).map((e) => [e.key.toLowerCase(), e.value]), readRegistryPol(file)
    .filter((e) => e.key.toLowerCase().startsWith(TS.toLowerCase()) && !underTs.some((i) => i.value === e.value))
    .map((e) => [e.key.toLowerCase(), e.value]), 'exported: exactly the DoD file\'s own Remote Assistance entries, in its order')
})

t.test('S1-S5: the main value gives the three states; the **del. markers are deletions, not values', async (t) => {
  t.same(imported(SOLICITED_ENABLED).settings.solicitedRemoteAssistance,
    { state: 'enabled', permitRemoteControl: 'view', maxTicketTime: { value: 3, unit: 'days' }, emailMethod: 'smapi' })
  t.same(imported(SOLICITED_DISABLED), { settings: { ...NOT_CONFIGURED, solicitedRemoteAssistance: { state: 'disabled' } }, warnings: [], ignored: [] })
  t.same(imported([del('fAllowFullControl'), del('MaxTicketExpiry')]), { settings: NOT_CONFIGURED, warnings: [], ignored: [] }, 'markers alone: not configured')
  t.same(imported([]).settings, NOT_CONFIGURED)
  const deleted = imported([...SOLICITED_ENABLED, del('fAllowToGetHelp')])
  t.same(deleted.settings.solicitedRemoteAssistance, { state: 'not-configured' }, 'a later **del. of the main value: not configured')
  t.match(deleted.ignored, [
    { value: 'fAllowToGetHelp', reason: 'deleted by a later **del. marker' },
    { value: 'fAllowFullControl', reason: /Solicited Remote Assistance \(fAllowToGetHelp\) is not configured: fAllowFullControl applies only while it is enabled/ },
    { value: 'MaxTicketExpiry' }, { value: 'MaxTicketExpiryUnits' }, { value: 'fUseMailto' }
  ])
  const optionsWhileDisabled = imported([dword('fAllowToGetHelp', 0), dword('fUseMailto', 1)])
  t.same(optionsWhileDisabled.settings.solicitedRemoteAssistance, { state: 'disabled' })
  t.match(optionsWhileDisabled.ignored, [{ value: 'fUseMailto', reason: /is disabled: fUseMailto applies only while it is enabled/ }])
})

t.test('O1-O3: Offer RA, its permission and helpers; **delvals. clears the list', async (t) => {
  const offer = imported([
    dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 0),
    sz('CONTOSO\\stale', 'CONTOSO\\stale', HELPERS_KEY), delvals(),
    sz('CONTOSO\\Helpdesk', 'CONTOSO\\Helpdesk', HELPERS_KEY), sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY)
  ])
  t.same(offer.settings.offerRemoteAssistance, { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk', 'CONTOSO\\bob'] })
  t.same(offer.ignored, [{ key: HELPERS_KEY, value: 'CONTOSO\\stale', reason: 'deleted by a later **delvals. marker' }])

  const bad = imported([
    dword('fAllowUnsolicited', 1),
    sz('Helpdesk', 'Helpdesk', HELPERS_KEY),
    sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY),
    sz('contoso\\BOB', 'contoso\\BOB', HELPERS_KEY),
    sz('first', 'CONTOSO\\Helpdesk', HELPERS_KEY),
    sz('second', 'contoso\\HELPDESK', HELPERS_KEY),
    dword('CONTOSO\\n', 1, HELPERS_KEY)
  ])
  t.same(bad.settings.offerRemoteAssistance, { state: 'enabled', permission: 'control', helpers: ['contoso\\BOB', 'CONTOSO\\Helpdesk'] })
  t.same(bad.ignored.map((i) => [i.value, i.reason]), [
    ['Helpdesk', '"Helpdesk" is not a user or group as DOMAIN\\name'],
    ['CONTOSO\\bob', 'replaced by a later entry for the same value'],
    ['second', 'contoso\\HELPDESK is already in the helpers list'],
    ['CONTOSO\\n', 'a helper must be a REG_SZ, not a REG_DWORD']
  ], 'value names compare case-insensitively (a later one replaces); the helper is the data')
  t.same(bad.warnings, [
    { field: 'settings.offerRemoteAssistance.permission', message: 'fAllowUnsolicitedFullControl is not in the file: the default, control, applies' }
  ])

  const disabled = imported([dword('fAllowUnsolicited', 0), del('fAllowUnsolicitedFullControl'), sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY)])
  t.same(disabled.settings.offerRemoteAssistance, { state: 'disabled' })
  t.match(disabled.ignored, [{ value: 'CONTOSO\\bob', reason: 'Offer Remote Assistance is disabled: its helpers list does not apply' }])
})

t.test('entries apply in file order, with the markers GPMC and others write; keys and value names compare case-insensitively', async (t) => {
  const upper = TS.toUpperCase()
  t.same(imported([dword('FALLOWTOGETHELP', 0, upper), dword('loggingenabled', 1, upper.toLowerCase())]).settings,
    { ...NOT_CONFIGURED, solicitedRemoteAssistance: { state: 'disabled' }, sessionLogging: { state: 'enabled' } })

  const replaced = imported([dword('LoggingEnabled', 1), dword('LoggingEnabled', 0)])
  t.same(replaced.settings.sessionLogging, { state: 'disabled' }, 'the later value wins')
  t.same(replaced.ignored, [{ key: TS, value: 'LoggingEnabled', reason: 'replaced by a later entry for the same value' }])

  t.same(imported([dword('LoggingEnabled', 1), sz('**delvals.', ' ', TS), dword('CreateEncryptedOnlyTickets', 1)]).settings,
    { ...NOT_CONFIGURED, encryptedOnlyTickets: { state: 'enabled' } }, '**delvals. on the key clears what came before')
  t.same(imported([dword('LoggingEnabled', 1), dword('fAllowToGetHelp', 0), sz('**DeleteValues', 'LoggingEnabled;fDenyTSConnections ')]).settings,
    { ...NOT_CONFIGURED, solicitedRemoteAssistance: { state: 'disabled' } }, '**DeleteValues')
  t.same(imported([sz('**DeleteValues', 'fPromptForPassword')]).ignored, [{ key: TS, value: '**DeleteValues', reason: 'deletes no Remote Assistance value' }])
  const helpersDeleted = imported([dword('fAllowUnsolicited', 1), sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY), sz('**DeleteKeys', 'RAUnsolicit')])
  t.same(helpersDeleted.settings.offerRemoteAssistance,
    { state: 'enabled', permission: 'control', helpers: [] }, '**DeleteKeys of RAUnsolicit')
  t.same(imported([dword('LoggingEnabled', 1), sz('**DeleteKeys', 'Terminal Services', 'Software\\Policies\\Microsoft\\Windows NT')]).settings,
    NOT_CONFIGURED, '**DeleteKeys of a key above')
  t.same(imported([sz('**DeleteKeys', 'Other', 'Software\\Policies')]).ignored,
    [{ key: 'Software\\Policies', value: '**DeleteKeys', reason: 'deletes no Remote Assistance key' }])
  const soft = imported([{ ...dword('LoggingEnabled', 1), value: '**soft.LoggingEnabled' }, dword('CreateEncryptedOnlyTickets', 0),
    { ...dword('CreateEncryptedOnlyTickets', 1), value: '**soft.CreateEncryptedOnlyTickets' }])
  t.same([soft.settings.sessionLogging, soft.settings.encryptedOnlyTickets], [{ state: 'enabled' }, { state: 'disabled' }],
    '**soft. sets only where nothing is')
  t.match(soft.ignored, [{ value: '**soft.CreateEncryptedOnlyTickets', reason: /already set/ }])
  t.match(imported([dword('**SecureKey', 1)]).ignored, [{ value: '**SecureKey', reason: /marker that does not change/ }])
  t.match(imported([sz('', '')]).ignored, [{ value: '', reason: /only creates the key/ }])
})

t.test('values of the wrong type or out of range are ignored, saying why; defaults stand in, with a warning', async (t) => {
  const wrong = imported([sz('fAllowToGetHelp', '1'), dword('LoggingEnabled', 2)])
  t.same(wrong.settings, NOT_CONFIGURED)
  t.same(wrong.ignored, [
    { key: TS, value: 'fAllowToGetHelp', reason: 'fAllowToGetHelp must be a REG_DWORD, not a REG_SZ' },
    { key: TS, value: 'LoggingEnabled', reason: '2 is neither 1 (enabled) nor 0 (disabled): the setting is taken as not configured' }
  ])
  const ranges = imported([dword('fAllowToGetHelp', 1), dword('MaxTicketExpiry', 100), dword('MaxTicketExpiryUnits', 3), dword('fAllowFullControl', 7)])
  t.same(ranges.settings.solicitedRemoteAssistance,
    { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 1, unit: 'hours' }, emailMethod: 'mailto' })
  t.same(ranges.ignored.map((i) => [i.value, i.reason]), [
    ['MaxTicketExpiry', '100 is not from 1 to 99'],
    ['MaxTicketExpiryUnits', '3 is not 0 (minutes), 1 (hours) or 2 (days)'],
    ['fAllowFullControl', '7 is not 1 (control) or 0 (view only)']
  ], 'in file order')
  t.same(ranges.warnings.map((w) => w.field), [
    'settings.solicitedRemoteAssistance.permitRemoteControl', 'settings.solicitedRemoteAssistance.maxTicketTime.value',
    'settings.solicitedRemoteAssistance.maxTicketTime.unit', 'settings.solicitedRemoteAssistance.emailMethod'
  ])
  t.match(ranges.warnings[3], { message: 'fUseMailto is not in the file: the default, mailto, applies' })
})

t.test('custom messages: an empty one is a **del. marker; none at all, or one too long, cannot be saved', async (t) => {
  t.same(imported([dword('UseCustomMessages', 1), del('ShareControlMessage'), sz('ViewMessage', 'Hello')]).settings.customMessages,
    { state: 'enabled', viewMessage: 'Hello', shareControlMessage: '' })
  t.match(settingsFromRegistry([dword('UseCustomMessages', 1)]), { problem: { field: 'settings.customMessages', message: /neither ViewMessage nor ShareControlMessage/ } })
  t.match(settingsFromRegistry([dword('UseCustomMessages', 1), sz('ViewMessage', 'x'.repeat(4097))]),
    { problem: { field: 'settings.customMessages.viewMessage', message: /4097 characters.*at most 4096/ } })
  t.same(imported([dword('UseCustomMessages', 0), sz('ViewMessage', 'x'.repeat(4097))]).settings.customMessages, { state: 'disabled' },
    'a disabled setting\'s text does not matter')
})

t.test('export: what GPMC writes for each state, **del. and **delvals. markers included', async (t) => {
  t.same(registryFromSettings(NOT_CONFIGURED), [], 'nothing configured: no entries (a header-only file)')
  t.same(registryFromSettings(settings({
    solicitedRemoteAssistance: { state: 'enabled', permitRemoteControl: 'view', maxTicketTime: { value: 3, unit: 'days' }, emailMethod: 'smapi' },
    offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk', 'CONTOSO\\bob'] },
    sessionLogging: { state: 'enabled' },
    encryptedOnlyTickets: { state: 'disabled' },
    customMessages: { state: 'enabled', viewMessage: 'View?' }
  })), [
    ...SOLICITED_ENABLED,
    dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 0),
    dword('LoggingEnabled', 1), dword('CreateEncryptedOnlyTickets', 0),
    dword('UseCustomMessages', 1), del('ShareControlMessage'), sz('ViewMessage', 'View?'),
    delvals(), sz('CONTOSO\\Helpdesk', 'CONTOSO\\Helpdesk', HELPERS_KEY), sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY)
  ])
  t.same(registryFromSettings(settings({
    solicitedRemoteAssistance: { state: 'disabled' },
    offerRemoteAssistance: { state: 'disabled' },
    sessionLogging: { state: 'disabled' },
    encryptedOnlyTickets: { state: 'enabled' },
    customMessages: { state: 'disabled' }
  })), [
    ...SOLICITED_DISABLED,
    dword('fAllowUnsolicited', 0), del('fAllowUnsolicitedFullControl'),
    dword('LoggingEnabled', 0), dword('CreateEncryptedOnlyTickets', 1),
    dword('UseCustomMessages', 0), del('ShareControlMessage'), del('ViewMessage'),
    delvals()
  ])
  t.same(registryFromSettings(settings({ offerRemoteAssistance: { state: 'enabled' } })),
    [dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 1), delvals()], 'an empty helpers list is cleared, not left as it was')
})

t.test('**DeleteKeys and **DeleteValues: which keys and values a marker reaches, and that a marker which reaches ours is not listed as ignored', async (t) => {
  const bob = sz('CONTOSO\\bob', 'CONTOSO\\bob', HELPERS_KEY)
  const offer = [dword('fAllowUnsolicited', 1), bob]
  const helpersOf = (r: RegistryImport): unknown => r.settings.offerRemoteAssistance.helpers

  const raUnsolicit = imported([...offer, sz('**DeleteKeys', 'Other; RAUnsolicit ')])
  t.same(helpersOf(raUnsolicit), [], 'names are trimmed, and any of them may be ours')
  t.same(raUnsolicit.ignored, [{ key: HELPERS_KEY, value: 'CONTOSO\\bob', reason: 'deleted by a later **DeleteKeys marker' }], 'the marker itself applies')

  const above = imported([dword('LoggingEnabled', 1), ...offer, sz('**DeleteKeys', 'terminal services', 'Software\\Policies\\Microsoft\\Windows NT')])
  t.same(above.settings, NOT_CONFIGURED, 'deleting the key above takes its subkey RAUnsolicit with it, and Offer RA with the key')
  t.same(above.ignored.map((i) => [i.value, i.reason]), [
    ['LoggingEnabled', 'deleted by a later **DeleteKeys marker'],
    ['fAllowUnsolicited', 'deleted by a later **DeleteKeys marker'],
    ['CONTOSO\\bob', 'deleted by a later **DeleteKeys marker']
  ])

  const other = imported([...offer, sz('**DeleteKeys', 'Other'), sz('**DeleteKeys', 'RAUnsolicitOld'), { ...dword('**DeleteKeys', 1), value: '**DeleteKeys' }])
  t.same(helpersOf(other), ['CONTOSO\\bob'], 'a sibling key, a key whose name only starts like ours, and a marker without text delete nothing of ours')
  t.same(other.ignored.map((i) => i.reason), Array(3).fill('deletes no Remote Assistance key'))

  const values = imported([dword('LoggingEnabled', 1), sz('**DeleteValues', 'fDenyTSConnections; LoggingEnabled')])
  t.same(values.settings.sessionLogging, { state: 'not-configured' })
  t.same(values.ignored, [{ key: TS, value: 'LoggingEnabled', reason: 'deleted by a later **DeleteValues marker' }], 'one of ours among the names is enough')

  t.same(imported([...offer, sz('**DeleteValues', 'CONTOSO\\bob', HELPERS_KEY)]).ignored,
    [{ key: HELPERS_KEY, value: 'CONTOSO\\bob', reason: 'deleted by a later **DeleteValues marker' }], 'under RAUnsolicit every value is a helper')
  for (const marker of [sz('**DeleteValues', ' ; ', HELPERS_KEY), { ...dword('**DeleteValues', 1, HELPERS_KEY), value: '**DeleteValues' }]) {
    const r = imported([...offer, marker])
    t.same(helpersOf(r), ['CONTOSO\\bob'], `${JSON.stringify(marker.data)}: names no value`)
    t.same(r.ignored, [{ key: HELPERS_KEY, value: '**DeleteValues', reason: 'deletes no Remote Assistance value' }])
  }
  t.same(imported([del('CONTOSO\\carol', HELPERS_KEY)]).ignored, [], '**del. of a helper that is not there still deletes a helper value')
  t.same(imported([del('fPromptForPassword')]).ignored, [{ key: TS, value: '**del.fPromptForPassword', reason: 'deletes no Remote Assistance value' }])
})

t.test('O1-O3: the helpers list as a file holds it: either string type, names compared as Windows compares them, at most 1000', async (t) => {
  const helper = (name: string, type: 'REG_SZ' | 'REG_EXPAND_SZ' = 'REG_SZ'): PolEntry => ({ key: HELPERS_KEY, value: name, type, data: name })
  const expand = imported([dword('fAllowUnsolicited', 1), helper('CONTOSO\\Helpdesk', 'REG_EXPAND_SZ')])
  t.same([expand.settings.offerRemoteAssistance.helpers, expand.ignored], [['CONTOSO\\Helpdesk'], []], 'a REG_EXPAND_SZ helper counts')
  const other = imported([dword('fAllowUnsolicited', 1), { key: HELPERS_KEY, value: 'x', type: 'REG_MULTI_SZ', data: ['CONTOSO\\bob'] }])
  t.same(other.ignored.map((i) => i.reason), ['a helper must be a REG_SZ, not a REG_MULTI_SZ'])

  const composed = imported([dword('fAllowUnsolicited', 1), helper('CONTOSO\\Jos\u00e9'), helper('contoso\\JOSE\u0301')])
  t.same(composed.settings.offerRemoteAssistance.helpers, ['CONTOSO\\Jos\u00e9'], 'the same name composed or decomposed is one helper')
  t.same(composed.ignored.map((i) => i.reason), ['contoso\\JOSE\u0301 is already in the helpers list'])
  const split = imported([dword('fAllowUnsolicited', 1), helper('CONTOSO\\bob'), helper('CONTOSOB\\ob')])
  t.same(split.settings.offerRemoteAssistance.helpers, ['CONTOSO\\bob', 'CONTOSOB\\ob'], 'where the domain ends matters: two accounts, spelt alike')
  const wide = `CONTOSO\\${'\u{1F600}'.repeat(64)}`
  t.same(imported([dword('fAllowUnsolicited', 1), helper(wide)]).settings.offerRemoteAssistance.helpers, [wide],
    'a name\'s length is counted in characters, not UTF-16 units')

  const many = Array.from({ length: 1001 }, (_, i) => helper(`CONTOSO\\user${i}`))
  const full = imported([dword('fAllowUnsolicited', 1), ...many])
  t.equal(full.settings.offerRemoteAssistance.helpers?.length, 1000)
  t.same(full.settings.offerRemoteAssistance.helpers?.at(-1), 'CONTOSO\\user999', 'the first 1000, in file order')
  t.same(full.ignored, [{ key: HELPERS_KEY, value: 'CONTOSO\\user1000', reason: 'the helpers list holds at most 1000 entries' }])
})

t.test('S1, O1: options out of range say what they may be, and the default that stands in', async (t) => {
  const r = imported([
    dword('fAllowToGetHelp', 1), dword('MaxTicketExpiry', 0), dword('fUseMailto', 2), dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 2)
  ])
  t.same(r.settings.solicitedRemoteAssistance.maxTicketTime, { value: 1, unit: 'hours' })
  t.same(r.ignored.map((i) => [i.value, i.reason]), [
    ['MaxTicketExpiry', '0 is not from 1 to 99'],
    ['fUseMailto', '2 is not 1 (Mailto) or 0 (Simple MAPI)'],
    ['fAllowUnsolicitedFullControl', '2 is not 1 (view and control) or 0 (view only)']
  ])
  t.same(r.warnings.filter((w) => /out of range/.test(w.message)).map((w) => w.message), [
    'MaxTicketExpiry is out of range: the default, 1, applies',
    'fUseMailto is out of range: the default, mailto, applies',
    'fAllowUnsolicitedFullControl is out of range: the default, control, applies'
  ])
  t.same(imported([dword('fAllowToGetHelp', 1), dword('MaxTicketExpiry', 99)]).settings.solicitedRemoteAssistance.maxTicketTime?.value, 99)
})

t.test('custom messages: the string types, the exact length limit, either text too long, and options left under a setting that is not enabled', async (t) => {
  const expand = imported([dword('UseCustomMessages', 1), { key: TS, value: 'ViewMessage', type: 'REG_EXPAND_SZ', data: 'Hello %USERNAME%' }])
  t.same(expand.settings.customMessages, { state: 'enabled', viewMessage: 'Hello %USERNAME%', shareControlMessage: '' })
  const numeric = imported([dword('UseCustomMessages', 1), dword('ViewMessage', 1), sz('ShareControlMessage', 'Control?')])
  t.same(numeric.settings.customMessages, { state: 'enabled', viewMessage: '', shareControlMessage: 'Control?' }, 'a text of the wrong type is no text')
  t.same(numeric.ignored, [{ key: TS, value: 'ViewMessage', reason: 'ViewMessage must be a REG_SZ, not a REG_DWORD' }])
  t.match(settingsFromRegistry([dword('UseCustomMessages', 1), dword('ViewMessage', 1)]), { problem: { field: 'settings.customMessages' } },
    'a text of the wrong type does not make the setting hold a text')
  t.equal(imported([dword('UseCustomMessages', 1), sz('ViewMessage', 'x'.repeat(4096))]).settings.customMessages.viewMessage?.length, 4096)
  t.same(settingsFromRegistry([dword('UseCustomMessages', 1), sz('ViewMessage', 'ok'), sz('ShareControlMessage', 'y'.repeat(4097))]), {
    problem: { field: 'settings.customMessages.shareControlMessage', message: 'ShareControlMessage is 4097 characters long; a message holds at most 4096' }
  })
  t.same(imported([dword('UseCustomMessages', 0), sz('ViewMessage', 'Hello')]).ignored, [
    { key: TS, value: 'ViewMessage', reason: 'Custom warning messages (UseCustomMessages) is disabled: ViewMessage applies only while it is enabled' }
  ])
})

t.test('export of a policy as the API may hold it: options left out get what GPMC would write', async (t) => {
  const raw = (s: Partial<PolicySettings>): PolicySettings => ({ ...NOT_CONFIGURED, ...s })
  t.same(registryFromSettings(raw({ offerRemoteAssistance: { state: 'enabled' } })),
    [dword('fAllowUnsolicited', 1), dword('fAllowUnsolicitedFullControl', 1), delvals()], 'no helpers field: an empty list')
  t.same(registryFromSettings(raw({ offerRemoteAssistance: { state: 'disabled', helpers: ['CONTOSO\\bob'] } })),
    [dword('fAllowUnsolicited', 0), del('fAllowUnsolicitedFullControl'), delvals()], 'a disabled setting writes no helpers')
  t.same(registryFromSettings(raw({ customMessages: { state: 'enabled' } })),
    [dword('UseCustomMessages', 1), del('ShareControlMessage'), del('ViewMessage')], 'no texts: both deleted')
})

const state = fc.constantFrom('not-configured' as const, 'enabled' as const, 'disabled' as const)
const accountName = new RegExp(ACCOUNT_NAME_PATTERN, 'u')
const helper = fc.tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }))
  .map(([domain, name]) => `${domain}\\${name}`)
  .filter((s) => accountName.test(s))
const message = fc.string({ unit: 'grapheme', maxLength: 80 })
const settingsArbitrary: fc.Arbitrary<PolicySettings> = fc.record({
  solicitedRemoteAssistance: fc.record({
    state,
    permitRemoteControl: fc.constantFrom('control' as const, 'view' as const),
    maxTicketTime: fc.record({ value: fc.integer({ min: 1, max: 99 }), unit: fc.constantFrom('minutes' as const, 'hours' as const, 'days' as const) }),
    emailMethod: fc.constantFrom('mailto' as const, 'smapi' as const)
  }),
  offerRemoteAssistance: fc.record({
    state,
    permission: fc.constantFrom('control' as const, 'view' as const),
    helpers: fc.uniqueArray(helper, { maxLength: 6, selector: (h) => h.toUpperCase() })
  }),
  sessionLogging: fc.record({ state }),
  encryptedOnlyTickets: fc.record({ state }),
  customMessages: fc.record({ state, viewMessage: message, shareControlMessage: message })
}).map((s) => {
  const strip = <T extends { state: string }>(x: T): T => x.state === 'enabled' ? x : ({ state: x.state } as T)
  const messages = s.customMessages.viewMessage || s.customMessages.shareControlMessage ? s.customMessages : { ...s.customMessages, viewMessage: 'x' }
  // Plain objects (fast-check's records have no prototype), as JSON gives them.
  return structuredClone(settings({
    solicitedRemoteAssistance: strip(s.solicitedRemoteAssistance),
    offerRemoteAssistance: strip(s.offerRemoteAssistance),
    sessionLogging: s.sessionLogging,
    encryptedOnlyTickets: s.encryptedOnlyTickets,
    customMessages: strip(messages)
  }))
})

t.test('property: any policy, exported to a file and imported again, is the same policy, with nothing ignored and no warning', async (t) => {
  fc.assert(fc.property(settingsArbitrary, (s) => {
    const back = settingsFromRegistry(readRegistryPol(writeRegistryPol(registryFromSettings(s))))
    assert.deepStrictEqual(back, { settings: s, warnings: [], ignored: [] })
  }), { numRuns: 500 })
  t.pass('500 random policies')
})
