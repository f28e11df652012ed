import t from 'tap'
import { offerDecision, type OfferFacts } from '../../src/domain/offer-decision.js'
import type { Platform } from '../../src/domain/platforms.js'
import { normalizeSettings, type PolicySettings } from '../../src/domain/policy.js'
import { ENTRIES, profilesOf, readinessChecks } from '../../src/domain/readiness.js'
import { resolvePolicy } from '../../src/domain/resultant-policy.js'
import type { Firewall } from '../../src/schemas/directory.js'

const PLATFORMS_UNDER_TEST: Platform[] = ['xp-pro', 'xp-pro-sp2', 'server-2003-sp1', 'windows-10']
const XP_2003: Platform[] = ['xp-home', 'xp-pro', 'xp-pro-sp2', 'xp-x64-sp1', 'server-2003', 'server-2003-sp1']

function settings (s: Partial<PolicySettings>): PolicySettings {
  const r = normalizeSettings(s)
  if ('problem' in r) throw new Error(r.problem.message)
  return r.settings
}

/** Every firewall entry the platform's offers need, in each of its profiles. */
function openFirewall (platform: Platform): Firewall {
  const programs = XP_2003.includes(platform) ? [ENTRIES.sessmgr, ENTRIES.helpsvc, ENTRIES.helpctr] : [ENTRIES.msra, ENTRIES.raserver]
  return Object.fromEntries(profilesOf(platform).map((p) => [p, { programExceptions: [...programs], portExceptions: [ENTRIES.port135] }]))
}

interface Knobs {
  platform: Platform
  offer?: PolicySettings['offerRemoteAssistance']
  solicited?: PolicySettings['solicitedRemoteAssistance']
  expertDomain?: string
  expertEnabled?: boolean
  groups?: string[]
  trusted?: string[]
  admins?: string[]
  helperGroup?: string[]
  dcom?: 'Y' | 'N' | null
  firewall?: Firewall
  expertPlatform?: Platform | null
}

/** A case where every rule passes; each knob breaks one thing. */
function facts (k: Knobs): OfferFacts {
  const policy = resolvePolicy([{
    source: { type: 'local-policy', computer: 'CONTOSO\\PC1' },
    settings: settings({
      offerRemoteAssistance: k.offer ?? { state: 'enabled', permission: 'control', helpers: ['CONTOSO\\Helpdesk'] },
      ...(k.solicited ? { solicitedRemoteAssistance: k.solicited } : {})
    })
  }], { name: 'CONTOSO\\PC1', platform: k.platform, controlPanel: null })
  const domain = k.expertDomain ?? 'CONTOSO'
  const f: OfferFacts = {
    computer: {
      name: 'CONTOSO\\PC1',
      domain: 'CONTOSO',
      platform: k.platform,
      dcomEnabled: k.dcom === undefined ? 'Y' : k.dcom,
      firewall: k.firewall ?? openFirewall(k.platform),
      localAdministrators: k.admins ?? ['CONTOSO\\Helpdesk'],
      offerRaHelpers: k.helperGroup ?? ['CONTOSO\\Helpdesk']
    },
    trustedDomains: k.trusted ?? [],
    expertName: `${domain}\\bob`,
    expert: { name: `${domain}\\bob`, domain, enabled: k.expertEnabled ?? true, groups: k.groups ?? ['CONTOSO\\Tier1', 'CONTOSO\\Helpdesk'] },
    policy
  }
  if (k.expertPlatform !== undefined) f.expertComputer = k.expertPlatform === null ? null : { name: 'CONTOSO\\EXPERT', platform: k.expertPlatform }
  return f
}

const failing = (k: Knobs): string[] => [...new Set(offerDecision(facts(k)).checks.filter((c) => !c.passed).map((c) => c.rule))]

t.test('the baseline passes every rule on every platform under test', async (t) => {
  for (const platform of PLATFORMS_UNDER_TEST) {
    const d = offerDecision(facts({ platform }))
    t.same(failing({ platform }), [], platform)
    t.equal(d.allowed, true)
    t.same(
      [...new Set(d.checks.map((c) => c.rule))].sort(),
      ['O1', 'O2', 'O3', 'O4', 'O5', 'O6', 'O8', 'S7', 'F4'].sort(),
      `${platform}: every rule is checked`
    )
  }
})

t.test('each rule fails alone, with a remedy, on every platform', async (t) => {
  for (const platform of PLATFORMS_UNDER_TEST) {
    const vista = platform === 'windows-10'
    const cases: Array<[string, Knobs]> = [
      ['O1', { platform, offer: { state: 'disabled' } }],
      ['O1', { platform, offer: { state: 'not-configured' } }],
      ['O2', { platform, offer: { state: 'enabled', permission: 'control', helpers: ['CONTOSO\\Others'] } }],
      ['O2', { platform, expertEnabled: false }],
      ['O4', { platform, expertDomain: 'FABRIKAM', offer: { state: 'enabled', helpers: ['CONTOSO\\Helpdesk'] } }],
      ['O5', vista ? { platform, helperGroup: [] } : { platform, admins: [] }],
      ['O6', { platform, expertPlatform: 'xp-home' }],
      ['O6', { platform, expertPlatform: null }],
      ['O8', { platform, dcom: 'N' }],
      ['O8', { platform, dcom: null }],
      ['F4', { platform, firewall: { ...openFirewall(platform), domain: { ...openFirewall(platform).domain, portExceptions: [] } } }],
      ...(platform === 'xp-pro-sp2' ? [] : [['S7', { platform, solicited: { state: 'disabled' } }] as [string, Knobs]])
    ]
    for (const [rule, knobs] of cases) {
      const d = offerDecision(facts(knobs))
      t.same(failing(knobs), [rule], `${platform}: ${rule} fails alone`)
      t.equal(d.allowed, false)
      t.ok(d.checks.filter((c) => !c.passed).every((c) => c.remedy), 'every failure has a remedy')
    }
  }
})

t.test('O6: XP Home never; O7: XP SP2 is not stopped by Solicited RA disabled (S7)', async (t) => {
  t.same(failing({ platform: 'xp-home' }), ['O6'])
  const sp2 = offerDecision(facts({ platform: 'xp-pro-sp2', solicited: { state: 'disabled' } }))
  t.equal(sp2.allowed, true)
  t.match(sp2.checks.find((c) => c.rule === 'O7'), { passed: true })
  t.same(failing({ platform: 'xp-pro', solicited: { state: 'disabled' } }), ['S7'])
})

t.test('O2: listed directly, or through nested groups', async (t) => {
  const direct = offerDecision(facts({ platform: 'windows-10', offer: { state: 'enabled', helpers: ['contoso\\BOB'] }, groups: ['CONTOSO\\Helpdesk'] }))
  t.same(direct.checks.find((c) => c.rule === 'O2'), { rule: 'O2', passed: true, detail: 'CONTOSO\\bob is in the helpers list' },
    'listed under another case of the same name: directly, not "through" itself')
  const nested = offerDecision(facts({
    platform: 'windows-10',
    offer: { state: 'enabled', helpers: ['CONTOSO\\Support'] },
    groups: ['CONTOSO\\Tier1', 'CONTOSO\\Helpdesk', 'CONTOSO\\Support']
  }))
  t.match(nested.checks.find((c) => c.rule === 'O2'), { passed: true, detail: /through CONTOSO\\Support/ })
})

t.test('O3: the permission caps the session: view only, or view and control', async (t) => {
  t.equal(offerDecision(facts({ platform: 'xp-pro', offer: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk'] } })).permission, 'view')
  t.equal(offerDecision(facts({ platform: 'xp-pro' })).permission, 'control')
})

t.test('O4: same domain, trusted, untrusted, and trust in the wrong direction', async (t) => {
  const expert = { expertDomain: 'FABRIKAM', offer: { state: 'enabled' as const, helpers: ['CONTOSO\\Helpdesk'] } }
  t.match(offerDecision(facts({ platform: 'xp-pro' })).checks.find((c) => c.rule === 'O4'), { passed: true, detail: /both in CONTOSO/ })
  t.match(
    offerDecision(facts({ platform: 'xp-pro', ...expert, trusted: ['FABRIKAM'] })).checks.find((c) => c.rule === 'O4'),
    { passed: true, detail: 'CONTOSO trusts FABRIKAM' }
  )
  t.match(offerDecision(facts({ platform: 'xp-pro', ...expert, trusted: [] })).checks.find((c) => c.rule === 'O4'), { passed: false, detail: /directed/, remedy: 'Make CONTOSO trust FABRIKAM' })
})

t.test('O5: the local Administrators group on XP/2003, the Offer Remote Assistance Helpers group on Vista and later', async (t) => {
  t.same(failing({ platform: 'xp-pro', helperGroup: [] }), [], 'XP ignores the helpers group')
  t.same(failing({ platform: 'xp-pro', admins: [] }), ['O5'])
  t.same(failing({ platform: 'windows-10', admins: [] }), [], 'Vista and later ignore local Administrators')
  t.same(failing({ platform: 'windows-10', helperGroup: [] }), ['O5'])
  t.match(offerDecision(facts({ platform: 'windows-10', helperGroup: [] })).checks.find((c) => c.rule === 'O5'), { remedy: /Offer Remote Assistance Helpers/ })
})

t.test('F4: each missing entry in each profile is its own check, with the exact entry as the remedy', async (t) => {
  const d = offerDecision(facts({ platform: 'xp-pro-sp2', firewall: { domain: openFirewall('xp-pro-sp2').domain } }))
  const missing = d.checks.filter((c) => c.rule === 'F4' && !c.passed)
  t.equal(missing.length, 4, 'a profile not described lacks all four entries')
  t.ok(missing.every((c) => /Standard Profile is not described/.test(c.detail) && /^In Windows Firewall: Standard Profile/.test(c.remedy!)))
  const standard = offerDecision(facts({
    platform: 'xp-pro-sp2',
    firewall: { domain: openFirewall('xp-pro-sp2').domain, standard: { programExceptions: [], portExceptions: [] } }
  }))
  t.same(standard.checks.filter((c) => c.rule === 'F4' && !c.passed).map((c) => c.remedy).sort(), [
    `In Windows Firewall: Standard Profile, add to "Define port exceptions": ${ENTRIES.port135}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${ENTRIES.helpctr}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${ENTRIES.helpsvc}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${ENTRIES.sessmgr}`
  ].sort())
  const off = offerDecision(facts({ platform: 'windows-10', firewall: { ...openFirewall('windows-10'), public: { enabled: false } } }))
  t.same(off.checks.filter((c) => !c.passed), [], 'a profile with the firewall off needs nothing')
  const disabledEntry = offerDecision(facts({
    platform: 'windows-10',
    firewall: {
      ...openFirewall('windows-10'),
      private: { portExceptions: ['135:TCP:*:Disabled:Offer Remote Assistance'], programExceptions: [ENTRIES.msra, ENTRIES.raserver] }
    }
  }))
  t.match(disabledEntry.checks.filter((c) => !c.passed), [{ rule: 'F4', remedy: /Private Profile.*135:TCP/ }], 'a disabled exception does not count')
})

t.test('readiness: the seeds\' exact strings as remedies, per platform (F1–F4, O8)', async (t) => {
  const none: Firewall = { domain: {}, standard: {}, private: {}, public: {} }
  const xp = readinessChecks({ platform: 'xp-pro', dcomEnabled: null, firewall: none })
  const remedies = (r: typeof xp) => r.checks.filter((c) => !c.passed).map((c) => c.remedy!)
  t.match(xp.checks.find((c) => c.rule === 'O8'), { passed: false, remedy: /EnableDCOM = Y/ })
  t.ok(remedies(xp).includes(`In Windows Firewall: Domain Profile, add to "Define program exceptions": ${ENTRIES.helpctr}`), 'F1 Helpctr.exe')
  t.ok(remedies(xp).includes(
    'In Windows Firewall: Domain Profile, add to "Define port exceptions": 135:TCP:*:Enabled:Offer Remote Assistance'
  ), 'F4 port 135, Domain Profile')
  t.ok(remedies(xp).includes(
    'In Windows Firewall: Standard Profile, add to "Define port exceptions": 135:TCP:*:Enabled:Offer Remote Assistance'
  ), 'F4 port 135, Standard Profile')
  t.notOk(xp.checks.some((c) => c.rule === 'F2' || c.rule === 'F3'), 'F2/F3 are not XP Pro\'s')

  const sp2 = readinessChecks({ platform: 'xp-pro-sp2', dcomEnabled: 'Y', firewall: { domain: { allowRemoteDesktopException: true }, standard: {} } })
  t.ok(remedies(sp2).includes(
    'In Windows Firewall: Standard Profile, add to "Define program exceptions": %WINDIR%\\SYSTEM32\\Sessmgr.exe:*:Enabled:Remote Assistance'
  ), 'F3 Sessmgr.exe')
  t.match(sp2.warnings, [/F3: Domain Profile.*3389 open/])

  const sp1 = readinessChecks({ platform: 'server-2003-sp1', dcomEnabled: 'Y', firewall: { domain: { allowRemoteDesktopException: true }, standard: {} } })
  t.match(sp1.checks.filter((c) => c.rule === 'F2'), [{ passed: true }, { passed: false, detail: /Sessmgr\.exe exception does not work/, remedy: 'Enable "Windows Firewall: Allow Remote Desktop Exception" in the Standard Profile' }])

  const win10 = readinessChecks({ platform: 'windows-10', dcomEnabled: 'Y', firewall: none })
  const w = remedies(win10)
  for (const profile of ['Domain', 'Private', 'Public']) {
    t.ok(w.includes(
      `In Windows Firewall: ${profile} Profile, add to "Define program exceptions": %WINDIR%\\SYSTEM32\\msra.exe:*:Enabled:Remote Assistance`
    ), `${profile}: msra.exe`)
    t.ok(w.includes(
      `In Windows Firewall: ${profile} Profile, add to "Define program exceptions": %WINDIR%\\SYSTEM32\\raserver.exe:*:Enabled:Offer Remote Assistance`
    ), `${profile}: raserver.exe`)
    t.ok(w.includes(
      `In Windows Firewall: ${profile} Profile, add to "Define port exceptions": 135:TCP:*:Enabled:Offer Remote Assistance`
    ), `${profile}: TCP 135`)
  }
  t.notOk(win10.checks.some((c) => c.rule === 'F1'), 'no XP Helpctr.exe on Vista and later')
  const ready = readinessChecks({ platform: 'windows-10', dcomEnabled: 'Y', firewall: openFirewall('windows-10') })
  t.ok(ready.checks.every((c) => c.passed))
})

const checkOf = (k: Knobs, rule: string) => offerDecision(facts(k)).checks.filter((c) => c.rule === rule)

t.test('O2: an expert the directory does not know, or a disabled one, is refused as such, whatever the list says', async (t) => {
  const unknown = { ...facts({ platform: 'windows-10' }), expert: null, expertName: 'CONTOSO\\mallory' }
  const d = offerDecision(unknown)
  t.match(d, { allowed: false, permission: null })
  t.same(d.checks.filter((c) => !c.passed), [
    { rule: 'O2', passed: false, detail: 'CONTOSO\\mallory is not a user in the directory', remedy: 'Offer help as a directory user' }
  ], 'only O2: trust and the local group cannot be checked for no one')
  t.notOk(d.checks.some((c) => c.rule === 'O4' || c.rule === 'O5'), 'no O4 or O5 check without an expert')
  t.same(checkOf({ platform: 'windows-10', expertEnabled: false }, 'O2'), [
    { rule: 'O2', passed: false, detail: 'CONTOSO\\bob is disabled', remedy: 'Enable CONTOSO\\bob in the directory' }
  ], 'listed through the Helpdesk, but disabled')
})

t.test('O2/O3: without Offer RA enabled there is no helpers list and no permission to check', async (t) => {
  for (const state of ['disabled', 'not-configured'] as const) {
    const d = offerDecision(facts({ platform: 'windows-10', offer: { state } }))
    t.notOk(d.checks.some((c) => c.rule === 'O2' || c.rule === 'O3'), state)
    t.equal(d.permission, null)
  }
})

t.test('O2: not listed, in words that name where the list comes from', async (t) => {
  t.same(checkOf({ platform: 'windows-10', offer: { state: 'enabled', helpers: ['CONTOSO\\Others'] } }, 'O2'), [{
    rule: 'O2',
    passed: false,
    detail: 'neither CONTOSO\\bob nor any group it belongs to is in the helpers list (the Local Computer Policy of CONTOSO\\PC1)',
    remedy: 'Add CONTOSO\\bob, or a domain group it belongs to, to the helpers of Configure Offer Remote Assistance'
  }])
  t.same(checkOf({ platform: 'windows-10' }, 'O2'), [{ rule: 'O2', passed: true, detail: 'CONTOSO\\bob is in the helpers list through CONTOSO\\Helpdesk' }])
})

t.test('O3: one permission for the whole list, said as it is', async (t) => {
  t.same(checkOf({ platform: 'windows-10' }, 'O3'), [
    { rule: 'O3', passed: true, detail: 'helpers may view and control the computer (one permission for the whole list)' }
  ])
  t.same(checkOf({ platform: 'windows-10', offer: { state: 'enabled', permission: 'view', helpers: ['CONTOSO\\Helpdesk'] } }, 'O3'), [
    { rule: 'O3', passed: true, detail: 'helpers may only view the computer (one permission for the whole list)' }
  ])
})

t.test('O4: trust is the computer\'s domain trusting the expert\'s, compared case-insensitively; another trusted domain is not enough', async (t) => {
  const expert = { expertDomain: 'FABRIKAM', offer: { state: 'enabled' as const, helpers: ['CONTOSO\\Helpdesk'] } }
  t.same(checkOf({ platform: 'xp-pro', ...expert, trusted: ['NORTHWIND'] }, 'O4'), [{
    rule: 'O4',
    passed: false,
    detail: 'CONTOSO does not trust FABRIKAM (trust is directed: FABRIKAM trusting CONTOSO is not enough)',
    remedy: 'Make CONTOSO trust FABRIKAM'
  }])
  t.same(checkOf({ platform: 'xp-pro', ...expert, trusted: ['NORTHWIND', 'fabrikam'] }, 'O4'),
    [{ rule: 'O4', passed: true, detail: 'CONTOSO trusts FABRIKAM' }])
  t.same(checkOf({ platform: 'xp-pro' }, 'O4'), [{ rule: 'O4', passed: true, detail: 'expert and computer are both in CONTOSO' }])
})

t.test('O5: the local group, directly or through a group, or why not; an unknown platform cannot be checked', async (t) => {
  t.same(checkOf({ platform: 'xp-pro', admins: ['contoso\\BOB'] }, 'O5'), [
    { rule: 'O5', passed: true, detail: 'CONTOSO\\bob is in the local Administrators group of CONTOSO\\PC1' }
  ])
  t.same(checkOf({ platform: 'windows-10' }, 'O5'), [
    { rule: 'O5', passed: true, detail: 'CONTOSO\\bob is in the local Offer Remote Assistance Helpers group of CONTOSO\\PC1 through CONTOSO\\Helpdesk' }
  ])
  t.same(checkOf({ platform: 'xp-pro', admins: ['CONTOSO\\Others'] }, 'O5'), [{
    rule: 'O5',
    passed: false,
    detail: 'CONTOSO\\bob is not in the local Administrators group of CONTOSO\\PC1',
    remedy: 'Add CONTOSO\\bob (or a domain group it belongs to) to the local Administrators group of CONTOSO\\PC1'
  }])
  const unknown = { ...facts({ platform: 'windows-10' }) }
  unknown.computer = { ...unknown.computer, platform: null }
  t.same(offerDecision(unknown).checks.filter((c) => c.rule === 'O5'), [{
    rule: 'O5',
    passed: false,
    detail: 'the platform of CONTOSO\\PC1 is unknown, so its local group cannot be checked',
    remedy: 'Record the platform of CONTOSO\\PC1'
  }], 'even though the expert is in both groups')
  t.same(offerDecision(unknown).checks.filter((c) => c.rule === 'O6'), [{
    rule: 'O6', passed: false, detail: 'the platform of the novice\'s computer CONTOSO\\PC1 is unknown', remedy: 'Record the platform of CONTOSO\\PC1'
  }])
})

t.test('O6: both computers, named and eligible, said word for word', async (t) => {
  t.same(checkOf({ platform: 'windows-10', expertPlatform: 'xp-pro' }, 'O6'), [
    { rule: 'O6', passed: true, detail: 'CONTOSO\\PC1 runs Windows 10' },
    { rule: 'O6', passed: true, detail: 'CONTOSO\\EXPERT runs Windows XP Professional' }
  ])
  t.same(checkOf({ platform: 'windows-10', expertPlatform: null }, 'O6')[1], {
    rule: 'O6', passed: false, detail: 'the expert\'s computer is not in the directory', remedy: 'Name a computer the directory knows'
  })
  t.same(checkOf({ platform: 'windows-10', expertPlatform: 'xp-home' }, 'O6')[1], {
    rule: 'O6',
    passed: false,
    detail: 'CONTOSO\\EXPERT runs Windows XP Home Edition, where Offer Remote Assistance is not available',
    remedy: 'Use Windows XP Professional or later'
  })
  t.equal(checkOf({ platform: 'windows-10' }, 'O6').length, 1, 'no expert computer named: only the novice\'s is checked')
})
