import t from 'tap'
import { controlDecision, invitationDecision, offerInForceDecision } from '../../src/domain/decisions.js'
import { PLATFORM_IDS, platformFamily, type Platform } from '../../src/domain/platforms.js'
import { completeExtensions, NOT_CONFIGURED, normalizeSettings, type PolicySettings, type SettingState } from '../../src/domain/policy.js'
import { describeSource, resolvePolicy, type ComputerFacts, type PolicyLayer } from '../../src/domain/resultant-policy.js'
import type { ControlPanel } from '../../src/schemas/directory.js'

const settings = (s: Partial<PolicySettings>): PolicySettings => {
  const r = normalizeSettings(s)
  if ('problem' in r) throw new Error(r.problem.message)
  return r.settings
}
const domainLayer = (name: string, linkOrder: number, s: Partial<PolicySettings>): PolicyLayer =>
  ({ source: { type: 'domain-policy', policyId: `id-${name}`, policyName: name, domain: 'CONTOSO', linkOrder }, settings: settings(s) })
const localLayer = (s: Partial<PolicySettings>): PolicyLayer => ({ source: { type: 'local-policy', computer: 'CONTOSO\\PC1' }, settings: settings(s) })
const pc = (platform: Platform | null, controlPanel: ControlPanel | null = null): ComputerFacts => ({ name: 'CONTOSO\\PC1', platform, controlPanel })
const cpOff: ControlPanel = { remoteAssistanceEnabled: false, allowRemoteControl: true, maxInvitationTime: { value: 1, unit: 'hours' } }
const cpViewOnly: ControlPanel = { remoteAssistanceEnabled: true, allowRemoteControl: false, maxInvitationTime: { value: 90, unit: 'minutes' } }
const enabledSolicited = (o: Partial<PolicySettings['solicitedRemoteAssistance']> = {}) => ({ solicitedRemoteAssistance: { state: 'enabled' as const, ...o } })
const ctx = { computer: 'CONTOSO\\PC1', user: 'CONTOSO\\alice', sitsAtComputer: true }

t.test('settings: ADMX defaults fill an enabled setting; options of a setting not enabled are refused, naming the field', async (t) => {
  t.same(
    settings(enabledSolicited()).solicitedRemoteAssistance,
    { state: 'enabled', permitRemoteControl: 'control', maxTicketTime: { value: 1, unit: 'hours' }, emailMethod: 'mailto' }
  )
  t.same(settings({}), NOT_CONFIGURED, 'a setting left out is not configured')
  const bad = normalizeSettings({ solicitedRemoteAssistance: { state: 'disabled', maxTicketTime: { value: 2, unit: 'hours' } } })
  t.same('problem' in bad && bad.problem.field, 'settings.solicitedRemoteAssistance.maxTicketTime')
  const bad2 = normalizeSettings({ offerRemoteAssistance: { state: 'not-configured', helpers: [] } })
  t.same('problem' in bad2 && bad2.problem.field, 'settings.offerRemoteAssistance.helpers')
  const empty = normalizeSettings({ customMessages: { state: 'enabled' } })
  t.same('problem' in empty && empty.problem.field, 'settings.customMessages')
})

t.test('S1: Solicited RA enabled by policy lets a user at the computer create invitations; S2/S3 come from the same policy', async (t) => {
  const policy = resolvePolicy(
    [domainLayer('RA', 1, enabledSolicited({ permitRemoteControl: 'view', maxTicketTime: { value: 2, unit: 'hours' } }))],
    pc('windows-10')
  )
  const d = invitationDecision(policy, ctx)
  t.equal(d.allowed, true)
  t.equal(d.maxLifetimeMinutes, 120)
  t.equal(d.mode, 'view')
  t.same(d.checks.map((c) => c.rule), ['S1', 'S1', 'S3', 'S2'])
  t.match(d.checks[1]!.detail, /policy "RA" linked to CONTOSO \(link order 1\)/)
  const stranger = invitationDecision(policy, { ...ctx, sitsAtComputer: false })
  t.equal(stranger.allowed, false, 'S1: only a user at the computer')
  t.equal(stranger.mode, null)
})

t.test('S5: Solicited RA disabled by policy blocks invitations, with the policy named in detail and remedy', async (t) => {
  for (const layer of [
    domainLayer('Lockdown', 1, { solicitedRemoteAssistance: { state: 'disabled' } }),
    localLayer({ solicitedRemoteAssistance: { state: 'disabled' } })
  ]) {
    const d = invitationDecision(resolvePolicy([layer], pc('xp-pro', cpViewOnly)), ctx)
    t.equal(d.allowed, false)
    const s5 = d.checks.find((c) => c.rule === 'S5')
    t.ok(s5 && !s5.passed && s5.remedy, 'an S5 check that failed, with a remedy')
    t.equal(d.maxLifetimeMinutes, null)
  }
})

t.test('S6: not configured anywhere → the Control Panel decides, including a Control Panel with RA off', async (t) => {
  const viewOnly = resolvePolicy([localLayer({})], pc('xp-pro', cpViewOnly))
  t.same(viewOnly.solicitedRemoteAssistance, { value: 'enabled', source: { type: 'control-panel', computer: 'CONTOSO\\PC1' } })
  const d = invitationDecision(viewOnly, ctx)
  t.equal(d.allowed, true)
  t.equal(d.maxLifetimeMinutes, 90, 'the Control Panel maximum invitation time')
  t.equal(d.mode, 'view', 'the Control Panel does not allow remote control')
  t.ok(d.checks.some((c) => c.rule === 'S6' && c.passed))

  const off = invitationDecision(resolvePolicy([], pc('windows-7', cpOff)), ctx)
  t.equal(off.allowed, false)
  t.match(off.checks.find((c) => c.rule === 'S6'), { passed: false, remedy: /Control Panel of CONTOSO\\PC1/ })
})

t.test('S6/S3: with no policy and no Control Panel recorded, the platform defaults apply: 30 days on XP/2003, 6 hours on Vista and later', async (t) => {
  const cases: Array<[Platform | null, number]> = [
    ['xp-pro', 43200], ['server-2003-sp1', 43200], ['xp-pro-sp2', 43200], ['vista', 360], ['windows-11', 360], [null, 360]
  ]
  for (const [platform, minutes] of cases) {
    const policy = resolvePolicy([], pc(platform))
    const d = invitationDecision(policy, ctx)
    t.equal(d.allowed, true, `${platform}: RA on by default`)
    t.equal(d.maxLifetimeMinutes, minutes, `${platform}: ${minutes} minutes`)
    t.equal(d.mode, 'control', `${platform}: control allowed by default`)
    t.equal(policy.maxTicketTime.source.type, 'platform-default')
  }
})

t.test('S3: a policy maximum ticket time overrides the Control Panel and the platform default', async (t) => {
  const policy = resolvePolicy([localLayer(enabledSolicited({ maxTicketTime: { value: 99, unit: 'days' } }))], pc('xp-pro', cpViewOnly))
  t.equal(invitationDecision(policy, ctx).maxLifetimeMinutes, 99 * 1440)
  t.equal(policy.maxTicketTime.source.type, 'local-policy')
})

t.test('precedence: a domain-linked policy beats the local policy; the lower link order wins; not configured overrides nothing', async (t) => {
  const local = localLayer({ ...enabledSolicited({ maxTicketTime: { value: 10, unit: 'minutes' } }), sessionLogging: { state: 'enabled' } })
  const first = domainLayer('First', 1, { sessionLogging: { state: 'not-configured' }, encryptedOnlyTickets: { state: 'enabled' } })
  const second = domainLayer('Second', 2, { ...enabledSolicited({ maxTicketTime: { value: 3, unit: 'hours' } }), encryptedOnlyTickets: { state: 'disabled' } })
  const policy = resolvePolicy([first, second, local], pc('windows-10'))
  t.same(policy.maxTicketTime.value, { value: 3, unit: 'hours' }, 'Second (domain) over local')
  t.match(policy.maxTicketTime.source, { type: 'domain-policy', policyName: 'Second', linkOrder: 2 })
  t.equal(policy.encryptedOnlyTickets.value, 'enabled', 'link order 1 over link order 2')
  t.match(policy.encryptedOnlyTickets.source, { policyName: 'First' })
  t.equal(policy.sessionLogging.value, 'enabled', 'not configured in First overrides nothing: the local policy stands')
  t.equal(policy.sessionLogging.source.type, 'local-policy')
  t.same(policy.customMessages, { value: null, source: { type: 'not-configured' } })
})

t.test('S4: Vista and later force SMAPI whatever the policy says, with a note; XP keeps Mailto', async (t) => {
  const layer = localLayer(enabledSolicited({ emailMethod: 'mailto' }))
  const vista = resolvePolicy([layer], pc('vista'))
  t.equal(vista.emailMethod.value, 'smapi')
  t.equal(vista.emailMethod.source.type, 'platform-default')
  t.match(vista.emailMethod.note, /SMAPI.*Mailto.*Local Computer Policy/)
  const xp = resolvePolicy([layer], pc('xp-pro'))
  t.equal(xp.emailMethod.value, 'mailto')
  t.equal(xp.emailMethod.source.type, 'local-policy')
  t.equal(resolvePolicy([localLayer(enabledSolicited({ emailMethod: 'smapi' }))], pc('server-2003')).emailMethod.value, 'smapi', 'SMAPI chosen on XP/2003')
  t.equal(resolvePolicy([], pc('xp-pro')).emailMethod.value, 'mailto', 'XP default without policy')
})

t.test('S2/S6/O3: control in a solicited session follows Permit remote control or the Control Panel; in an offer, the offer permission', async (t) => {
  t.match(
    controlDecision(resolvePolicy([localLayer(enabledSolicited({ permitRemoteControl: 'view' }))], pc('xp-pro')), 'invitation'),
    { allowed: false, checks: [{ rule: 'S2', passed: false }] }
  )
  t.match(
    controlDecision(resolvePolicy([localLayer(enabledSolicited())], pc('xp-pro')), 'invitation'),
    { allowed: true, mode: 'control', checks: [{ rule: 'S2' }] }
  )
  t.match(controlDecision(resolvePolicy([], pc('xp-pro', cpViewOnly)), 'invitation'), { allowed: false, checks: [{ rule: 'S6', passed: false }] })
  t.match(controlDecision(resolvePolicy([], pc('xp-pro', cpOff)), 'invitation'), { allowed: false, mode: null })
  const offerView = resolvePolicy(
    [localLayer({ offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk'] } })],
    pc('xp-pro')
  )
  t.match(controlDecision(offerView, 'offer'), { allowed: false, checks: [{ rule: 'O3', passed: false }] })
  t.match(controlDecision(offerView, 'invitation'), { allowed: true }, 'the offer permission does not cap a solicited session')
  const offerControl = resolvePolicy([localLayer({ offerRemoteAssistance: { state: 'enabled', permission: 'control' } })], pc('xp-pro'))
  t.match(controlDecision(offerControl, 'offer'), { allowed: true, mode: 'control', checks: [{ rule: 'O3', passed: true }] })
})

t.test('O1: Offer RA is in force only when enabled; O3 permission and O2 helpers come with it', async (t) => {
  const on = resolvePolicy(
    [domainLayer('Offer', 1, { offerRemoteAssistance: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk'] } })],
    pc('xp-pro')
  )
  t.match(offerInForceDecision(on, { name: 'CONTOSO\\PC1', platform: 'xp-pro' }), { allowed: true, permission: 'view' })
  t.same(on.offerHelpers.value, ['CONTOSO\\Helpdesk'])
  for (const state of ['disabled', 'not-configured'] as const) {
    const off = resolvePolicy([localLayer({ offerRemoteAssistance: { state } })], pc('xp-pro'))
    t.match(offerInForceDecision(off, { name: 'CONTOSO\\PC1', platform: 'xp-pro' }), { allowed: false, checks: [{ rule: 'O1', passed: false }] })
    t.same(off.offerHelpers.value, [])
  }
})

t.test('S7/O7: Solicited RA disabled (by policy or Control Panel) makes Offer RA unavailable — except on XP SP2', async (t) => {
  const offer = { offerRemoteAssistance: { state: 'enabled' as const, permission: 'control' as const, helpers: [] } }
  const byPolicy: Array<[PolicyLayer[], ControlPanel | null]> = [
    [[localLayer({ ...offer, solicitedRemoteAssistance: { state: 'disabled' } })], null],
    [[localLayer(offer)], cpOff]
  ]
  for (const [layers, cp] of byPolicy) {
    for (const platform of ['xp-pro', 'server-2003', 'windows-10'] as const) {
      const d = offerInForceDecision(resolvePolicy(layers, pc(platform, cp)), { name: 'CONTOSO\\PC1', platform })
      t.equal(d.allowed, false, `${platform}: offers off`)
      t.match(d.checks.find((c) => c.rule === 'S7'), { passed: false, detail: /disables Offer Remote Assistance too/ })
    }
    const sp2 = offerInForceDecision(resolvePolicy(layers, pc('xp-pro-sp2', cp)), { name: 'CONTOSO\\PC1', platform: 'xp-pro-sp2' })
    t.equal(sp2.allowed, true, 'XP SP2: the problem does not occur')
    t.match(sp2.checks.find((c) => c.rule === 'O7'), { passed: true })
  }
  const fine = offerInForceDecision(resolvePolicy([localLayer(offer)], pc('windows-10')), { name: 'CONTOSO\\PC1', platform: 'windows-10' })
  t.match(fine, { allowed: true, checks: [{ rule: 'O1', passed: true }, { rule: 'S7', passed: true }] })
})

t.test('custom messages: enabled ones reach the resultant policy with their source', async (t) => {
  const policy = resolvePolicy([domainLayer('DoD', 1, { customMessages: { state: 'enabled', viewMessage: 'Only authorized helpers.' } })], pc('windows-8'))
  t.same(policy.customMessages.value, { viewMessage: 'Only authorized helpers.', shareControlMessage: '' })
  t.match(policy.customMessages.source, { type: 'domain-policy', policyName: 'DoD' })
})

t.test('resultant policy: what is off says why; the SMAPI note names the platform, or says it is unknown', async (t) => {
  const off = resolvePolicy([domainLayer('Off', 1, { solicitedRemoteAssistance: { state: 'disabled' } })], pc('windows-10'))
  for (const k of ['permitRemoteControl', 'maxTicketTime', 'emailMethod'] as const) {
    t.same(off[k], { value: null, source: off.solicitedRemoteAssistance.source, note: 'Solicited Remote Assistance is disabled by policy' }, k)
  }
  const cp = resolvePolicy([], pc('xp-pro', cpOff))
  for (const k of ['permitRemoteControl', 'maxTicketTime', 'emailMethod'] as const) {
    t.same(cp[k], {
      value: null, source: { type: 'control-panel', computer: 'CONTOSO\\PC1' }, note: 'Remote Assistance is turned off in the computer\'s Control Panel'
    }, k)
  }
  const mailto = (platform: Platform | null) =>
    resolvePolicy([domainLayer('RA', 1, enabledSolicited({ emailMethod: 'mailto' }))], pc(platform)).emailMethod
  t.same(mailto('windows-10'), {
    value: 'smapi',
    source: { type: 'platform-default', platform: 'windows-10' },
    note: 'On Vista and later only SMAPI invitations exist: the Mailto method set by policy "RA" linked to CONTOSO (link order 1) does not apply'
  })
  t.same(mailto(null).note,
    'The platform is unknown; only SMAPI invitations exist: the Mailto method set by policy "RA" linked to CONTOSO (link order 1) does not apply')
  t.same(mailto('xp-pro').value, 'mailto')
  const oneMessage = resolvePolicy([domainLayer('M', 1, { customMessages: { state: 'enabled', viewMessage: 'Hello' } })], pc('windows-10'))
  t.same(oneMessage.customMessages.value, { viewMessage: 'Hello', shareControlMessage: '' })
})

t.test('compare the code (extension): the first policy object that configures it decides; local policy and none leave it not required', async (t) => {
  const withCode = (name: string, order: number, state: SettingState): PolicyLayer =>
    ({ ...domainLayer(name, order, {}), extensions: { verificationCode: { state } } })
  const first = resolvePolicy([withCode('A', 1, 'not-configured'), withCode('B', 2, 'enabled'), withCode('C', 3, 'disabled')], pc('windows-10'))
  t.same(first.verificationCode, { value: 'required', source: { type: 'domain-policy', policyId: 'id-B', policyName: 'B', domain: 'CONTOSO', linkOrder: 2 } })
  t.same(resolvePolicy([withCode('A', 1, 'disabled'), withCode('B', 2, 'enabled')], pc('windows-10')).verificationCode.value, 'not-required')
  t.same(resolvePolicy([localLayer({})], pc('windows-10')).verificationCode, { value: 'not-required', source: { type: 'not-configured' } })
  t.same(completeExtensions(undefined), { verificationCode: { state: 'not-configured' } })
  t.same(completeExtensions({}), { verificationCode: { state: 'not-configured' } }, 'stored before the extension existed')
  t.same(completeExtensions({ verificationCode: { state: 'enabled' } }), { verificationCode: { state: 'enabled' } })
})

t.test('settings: each setting\'s options are refused unless it is enabled, naming the option', async (t) => {
  const problem = (s: Record<string, unknown>) => { const r = normalizeSettings(s as Partial<PolicySettings>); return 'problem' in r ? r.problem.field : null }
  t.equal(problem({ offerRemoteAssistance: { state: 'disabled', permission: 'view' } }), 'settings.offerRemoteAssistance.permission')
  t.equal(problem({ customMessages: { state: 'not-configured', shareControlMessage: 'x' } }), 'settings.customMessages.shareControlMessage')
  t.equal(problem({ solicitedRemoteAssistance: { state: 'disabled', emailMethod: 'smapi' } }), 'settings.solicitedRemoteAssistance.emailMethod')
  t.equal(problem({ sessionLogging: { state: 'disabled' } }), null)
  t.equal(problem({ solicitedRemoteAssistance: { state: 'disabled', permitRemoteControl: 'view' } }), 'settings.solicitedRemoteAssistance.permitRemoteControl')
  t.equal(problem({ customMessages: { state: 'disabled', viewMessage: 'x' } }), 'settings.customMessages.viewMessage')
  t.same(normalizeSettings({ offerRemoteAssistance: { state: 'not-configured', helpers: [] } }, 'policy'), {
    problem: {
      field: 'policy.offerRemoteAssistance.helpers',
      message: 'policy.offerRemoteAssistance.helpers may only be given when the setting is enabled (it is not-configured)'
    }
  }, 'the message names the field under the caller\'s prefix, and the state the setting is in')
  t.same(normalizeSettings({ customMessages: { state: 'enabled', viewMessage: '' } }), {
    problem: { field: 'settings.customMessages', message: 'settings.customMessages: an enabled setting needs viewMessage, shareControlMessage or both' }
  })
  const only = (m: { viewMessage?: string, shareControlMessage?: string }): unknown => {
    const r = normalizeSettings({ customMessages: { state: 'enabled', ...m } })
    return 'settings' in r ? r.settings.customMessages : r.problem
  }
  t.same(only({ viewMessage: 'View?' }), { state: 'enabled', viewMessage: 'View?', shareControlMessage: '' }, 'a message left out is empty')
  t.same(only({ shareControlMessage: 'Control?' }), { state: 'enabled', viewMessage: '', shareControlMessage: 'Control?' })
})

t.test('S6 and the registry facts: XP and Server 2003 (any service pack) are one family, Vista and everything since the other', async (t) => {
  const xp = PLATFORM_IDS.filter((p) => platformFamily(p) === 'xp-2003')
  t.same(xp, ['xp-home', 'xp-pro', 'xp-pro-sp2', 'xp-x64-sp1', 'server-2003', 'server-2003-sp1'])
  t.ok(PLATFORM_IDS.filter((p) => !xp.includes(p)).every((p) => platformFamily(p) === 'vista-or-later'), 'the rest are Vista or later')
})

t.test('S6: with nothing configured and no Control Panel recorded, the platform defaults: enabled, control allowed, SMAPI on Vista and later', async (t) => {
  const none = resolvePolicy([], pc('windows-10'))
  const platform = { type: 'platform-default', platform: 'windows-10' }
  t.same([none.solicitedRemoteAssistance, none.permitRemoteControl, none.maxTicketTime, none.emailMethod], [
    { value: 'enabled', source: platform },
    { value: 'control', source: platform },
    { value: { value: 6, unit: 'hours' }, source: platform },
    { value: 'smapi', source: platform }
  ])
  t.same(resolvePolicy([], pc('xp-pro')).emailMethod.value, 'mailto', 'XP and 2003: Mailto')
  t.same(resolvePolicy([], pc('windows-10', { ...cpViewOnly, allowRemoteControl: true })).permitRemoteControl,
    { value: 'control', source: { type: 'control-panel', computer: 'CONTOSO\\PC1' } }, 'a Control Panel that allows control')
  t.equal(describeSource({ type: 'platform-default', platform: null }), 'the default of an unknown platform')
  t.equal(describeSource({ type: 'platform-default', platform: 'xp-pro' }), 'the default of Windows XP Professional')
})

t.test('S1/S2: Solicited RA enabled by policy is enabled, from that policy; both custom messages pass through as the policy holds them', async (t) => {
  const layer = domainLayer('RA', 1, { ...enabledSolicited(), customMessages: { state: 'enabled', viewMessage: 'View?', shareControlMessage: 'Control?' } })
  const r = resolvePolicy([layer], pc('windows-10'))
  t.same(r.solicitedRemoteAssistance, { value: 'enabled', source: layer.source })
  t.same(r.customMessages, { value: { viewMessage: 'View?', shareControlMessage: 'Control?' }, source: layer.source })
})
