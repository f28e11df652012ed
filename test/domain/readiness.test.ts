import t from 'tap'
import type { Firewall } from '../../src/domain/computer.js'
import { parsePortException, parseProgramException } from '../../src/domain/firewall.js'
import { dcomCheck, ENTRIES, firewallChecks, hasException, offerFirewallChecks, profilesOf, readinessChecks } from '../../src/domain/readiness.js'

// The seeds' firewall entries and the DCOM value, as SPEC.md quotes them (F1–F4, O8): a changed character is a
// remedy an administrator would type into Group Policy and that would not work.
const SEED = {
  helpctr: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice',
  sessmgr: '%WINDIR%\\SYSTEM32\\Sessmgr.exe:*:Enabled:Remote Assistance',
  helpsvc: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpsvc.exe:*:Enabled:Offer Remote Assistance',
  port135: '135:TCP:*:Enabled:Offer Remote Assistance'
}
const NOTHING: Firewall = { domain: {}, standard: {}, private: {}, public: {} }
const failed = (checks: Array<{ passed: boolean, remedy?: string }>) => checks.filter((c) => !c.passed).map((c) => c.remedy)

t.test('F1–F4: the seeds\' entries, character for character; Vista and later use msra.exe and raserver.exe', async (t) => {
  t.same({ helpctr: ENTRIES.helpctr, sessmgr: ENTRIES.sessmgr, helpsvc: ENTRIES.helpsvc, port135: ENTRIES.port135 }, SEED)
  t.equal(ENTRIES.msra, '%WINDIR%\\SYSTEM32\\msra.exe:*:Enabled:Remote Assistance')
  t.equal(ENTRIES.raserver, '%WINDIR%\\SYSTEM32\\raserver.exe:*:Enabled:Offer Remote Assistance')
})

t.test('O8: DCOM must be Y; N or missing, with the registry value to set', async (t) => {
  t.same(dcomCheck('Y'), { rule: 'O8', passed: true, detail: 'EnableDCOM is Y' })
  const remedy = 'Set the string value EnableDCOM = Y under HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole'
  t.same(dcomCheck('N'), { rule: 'O8', passed: false, detail: 'EnableDCOM is N: Remote Assistance uses DCOM and will not work', remedy })
  t.same(dcomCheck(null), { rule: 'O8', passed: false, detail: 'EnableDCOM is missing: Remote Assistance uses DCOM and will not work', remedy })
})

t.test('F1/F4 on XP Professional with nothing open: every entry in each of its two profiles, in this order', async (t) => {
  const { checks, warnings } = readinessChecks({ platform: 'xp-pro', dcomEnabled: 'Y', firewall: NOTHING })
  t.same(warnings, [])
  t.same(checks.map((c) => [c.rule, c.passed]), [
    ['O8', true], ['F1', false], ['F1', false],
    ['F4', false], ['F4', false], ['F4', false], ['F4', false], ['F4', false], ['F4', false], ['F4', false], ['F4', false]
  ])
  t.same(failed(checks), [
    `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.helpctr}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${SEED.helpctr}`,
    `In Windows Firewall: Domain Profile, add to "Define port exceptions": ${SEED.port135}`,
    `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.sessmgr}`,
    `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.helpsvc}`,
    `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.helpctr}`,
    `In Windows Firewall: Standard Profile, add to "Define port exceptions": ${SEED.port135}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${SEED.sessmgr}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${SEED.helpsvc}`,
    `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${SEED.helpctr}`
  ])
  t.same(checks[1], {
    rule: 'F1',
    passed: false,
    detail: 'Domain Profile lacks the program exception for Solicited Remote Assistance',
    remedy: `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.helpctr}`
  })
  const undescribed = readinessChecks({ platform: 'xp-pro', dcomEnabled: 'Y', firewall: {} })
  t.same(undescribed.checks[1]!.detail, 'the Domain Profile is not described for this computer')
})

t.test('F1–F4: an entry present and enabled passes, with what it found; the firewall off in a profile needs nothing there', async (t) => {
  const open = { programExceptions: [SEED.helpctr, SEED.sessmgr, SEED.helpsvc], portExceptions: [SEED.port135] }
  const ready = readinessChecks({ platform: 'xp-pro', dcomEnabled: 'Y', firewall: { domain: open, standard: { enabled: false } } })
  t.same(failed(ready.checks), [])
  t.same(ready.checks.filter((c) => c.rule === 'F1').map((c) => c.detail), [
    `Domain Profile has the program exception ${SEED.helpctr}`,
    'Windows Firewall is off in the Standard Profile: nothing to open for Solicited Remote Assistance'
  ])
  t.same(ready.checks.filter((c) => c.rule === 'F4').map((c) => c.detail).slice(0, 2), [
    `Domain Profile has the port exception ${SEED.port135}`,
    `Domain Profile has the program exception ${SEED.sessmgr}`
  ])
})

t.test('F2: Server 2003 SP1 needs the Remote Desktop exception in each profile (Sessmgr.exe does not work there)', async (t) => {
  const firewall: Firewall = { domain: { allowRemoteDesktopException: true }, standard: {} }
  const f2 = readinessChecks({ platform: 'server-2003-sp1', dcomEnabled: 'Y', firewall }).checks.filter((c) => c.rule === 'F2')
  t.same(f2, [
    {
      rule: 'F2',
      passed: true,
      detail: 'Domain Profile: Allow Remote Desktop Exception is enabled (the Sessmgr.exe exception does not work on Server 2003 SP1)'
    },
    {
      rule: 'F2',
      passed: false,
      detail: 'Standard Profile: on Windows Server 2003 SP1 the Sessmgr.exe exception does not work; Remote Assistance needs the Remote Desktop exception',
      remedy: 'Enable "Windows Firewall: Allow Remote Desktop Exception" in the Standard Profile'
    }
  ])
  const off = readinessChecks({ platform: 'server-2003-sp1', dcomEnabled: 'Y', firewall: { domain: { enabled: false }, standard: { enabled: false } } })
  t.same(off.checks.filter((c) => c.rule === 'F2').map((c) => c.passed), [true, true], 'a profile with the firewall off needs no exception')
  for (const platform of ['server-2003', 'xp-pro-sp2', 'windows-10'] as const) {
    t.notOk(readinessChecks({ platform, dcomEnabled: 'Y', firewall }).checks.some((c) => c.rule === 'F2'), `${platform}: no F2`)
  }
})

t.test('F3: XP SP2 and XP x64 SP1 need Sessmgr.exe; the Remote Desktop exception instead is a warning about port 3389', async (t) => {
  for (const platform of ['xp-pro-sp2', 'xp-x64-sp1'] as const) {
    const r = readinessChecks({ platform, dcomEnabled: 'Y', firewall: { domain: { allowRemoteDesktopException: true }, standard: {} } })
    t.same(failed(r.checks.filter((c) => c.rule === 'F3')), [
      `In Windows Firewall: Domain Profile, add to "Define program exceptions": ${SEED.sessmgr}`,
      `In Windows Firewall: Standard Profile, add to "Define program exceptions": ${SEED.sessmgr}`
    ], platform)
    t.same(r.warnings, [
      'F3: Domain Profile: the Remote Desktop exception works, but keeps port 3389 open all the time; the Sessmgr.exe exception opens it only while needed'
    ])
  }
  t.notOk(readinessChecks({ platform: 'xp-pro', dcomEnabled: 'Y', firewall: NOTHING }).checks.some((c) => c.rule === 'F3'), 'XP without SP2: no F3')
  t.same(readinessChecks({ platform: 'xp-pro-sp2', dcomEnabled: 'Y', firewall: NOTHING }).warnings, [], 'no Remote Desktop exception, no warning')
})

t.test('F4 on Vista and later: port 135, msra.exe and raserver.exe in the Domain, Private and Public profiles; no F1', async (t) => {
  const r = readinessChecks({ platform: 'windows-11', dcomEnabled: 'Y', firewall: NOTHING })
  t.notOk(r.checks.some((c) => c.rule === 'F1'))
  t.same(failed(r.checks), ['Domain', 'Private', 'Public'].flatMap((p) => [
    `In Windows Firewall: ${p} Profile, add to "Define port exceptions": ${SEED.port135}`,
    `In Windows Firewall: ${p} Profile, add to "Define program exceptions": ${ENTRIES.msra}`,
    `In Windows Firewall: ${p} Profile, add to "Define program exceptions": ${ENTRIES.raserver}`
  ]))
  t.same(profilesOf('windows-11'), ['domain', 'private', 'public'])
  t.same(profilesOf('server-2003'), ['domain', 'standard'])
  t.same(profilesOf(null), [])
})

t.test('F1–F4: an unknown platform cannot be checked, and says so once per rule', async (t) => {
  t.same(offerFirewallChecks(NOTHING, null), [{
    rule: 'F4',
    passed: false,
    detail: 'the platform is unknown, so the firewall profiles for Offer Remote Assistance cannot be checked',
    remedy: 'Record the computer\'s platform'
  }])
  const r = readinessChecks({ platform: null, dcomEnabled: null, firewall: NOTHING })
  t.same(r.checks.map((c) => c.rule), ['O8', 'F4'])
  t.same(firewallChecks('F1', NOTHING, 'xp-pro', [], 'nothing'), [], 'no entries, no checks')
})

t.test('F1–F4: an exception matches by program path (case, slashes) or by port and protocol; a disabled one does not count', async (t) => {
  const fw = (programExceptions: string[], portExceptions: string[] = []): Firewall => ({ domain: { programExceptions, portExceptions } })
  t.ok(hasException(fw(['%windir%/system32/SESSMGR.EXE:LocalSubnet:Enabled:RA']), 'domain', SEED.sessmgr), 'case, slashes, scope and name free')
  t.ok(hasException(fw([' %WINDIR%\\SYSTEM32\\Sessmgr.exe :*: Enabled: Remote Assistance']), 'domain', SEED.sessmgr), 'the seed\'s spaced form')
  t.notOk(hasException(fw(['%WINDIR%\\SYSTEM32\\Sessmgr.exe:*:Disabled:Remote Assistance']), 'domain', SEED.sessmgr), 'disabled')
  t.notOk(hasException(fw(['%WINDIR%\\SYSTEM32\\Other.exe:*:Enabled:Remote Assistance']), 'domain', SEED.sessmgr), 'another program')
  t.notOk(hasException(fw(['not an entry']), 'domain', SEED.sessmgr), 'unreadable entries are nothing')
  t.notOk(hasException(fw([SEED.sessmgr]), 'standard', SEED.sessmgr), 'another profile')
  t.ok(hasException(fw([], ['135:tcp:10.0.0.0/8:enabled:Mine']), 'domain', SEED.port135), 'port entries: protocol case, scope and name free')
  t.notOk(hasException(fw([], ['135:UDP:*:Enabled:Offer Remote Assistance']), 'domain', SEED.port135), 'another protocol')
  t.notOk(hasException(fw([], ['136:TCP:*:Enabled:Offer Remote Assistance']), 'domain', SEED.port135), 'another port')
  t.notOk(hasException(fw([], ['135:TCP:*:Disabled:Offer Remote Assistance']), 'domain', SEED.port135), 'disabled port')
  t.notOk(hasException(fw([], ['135:TCP']), 'domain', SEED.port135), 'unreadable port entry')
  t.notOk(hasException(fw([SEED.port135]), 'domain', SEED.port135), 'a port is looked for among port exceptions only')
  t.notOk(hasException({ domain: {} }, 'domain', SEED.port135), 'no lists at all')
})

t.test('firewall entries: the parts of program and port exceptions, and what is not one', async (t) => {
  t.same(parseProgramException('C:\\Tools\\ra.exe:*:Enabled:Remote Assistance'),
    { program: 'C:\\Tools\\ra.exe', scope: '*', enabled: true, name: 'Remote Assistance' }, 'a path with a colon: split from the right')
  t.same(parseProgramException(SEED.helpsvc), {
    program: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpsvc.exe', scope: '*', enabled: true, name: 'Offer Remote Assistance'
  })
  t.same(parseProgramException('x.exe:*:disabled:n'), { program: 'x.exe', scope: '*', enabled: false, name: 'n' })
  for (const bad of ['x.exe:*:Enabled', ':*:Enabled:n', 'x.exe::Enabled:n', 'x.exe:*:On:n']) t.equal(parseProgramException(bad), null, bad)
  t.same(parsePortException(SEED.port135), { port: 135, protocol: 'TCP', scope: '*', enabled: true, name: 'Offer Remote Assistance' })
  t.same(parsePortException(' 3389 : udp : LocalSubnet : Disabled : RDP: x'),
    { port: 3389, protocol: 'UDP', scope: 'LocalSubnet', enabled: false, name: 'RDP:x' })
  for (const bad of ['135:TCP:*:Enabled', '0:TCP:*:Enabled:n', '65536:TCP:*:Enabled:n', '1e2:TCP:*:Enabled:n', '135:ICMP:*:Enabled:n',
    '135:TCP::Enabled:n', '135:TCP:*:Yes:n', '123456:TCP:*:Enabled:n']) {
    t.equal(parsePortException(bad), null, bad)
  }
  t.same(parsePortException('65535:TCP:*:Enabled:n')?.port, 65535)
  t.same(parsePortException('1:TCP:*:Enabled:n')?.port, 1)
})

t.test('F2/F3: a computer whose agent describes no firewall profile at all: each check fails saying so, nothing crashes', async (t) => {
  const f2 = readinessChecks({ platform: 'server-2003-sp1', dcomEnabled: 'Y', firewall: {} })
  t.same(f2.checks.filter((c) => c.rule === 'F2').map((c) => c.passed), [false, false], 'Domain and Standard: the exception is not known to be on')
  const f3 = readinessChecks({ platform: 'xp-pro-sp2', dcomEnabled: 'Y', firewall: {} })
  t.same(f3.warnings, [])
  t.same(f3.checks.filter((c) => c.rule === 'F3').map((c) => c.detail), [
    'the Domain Profile is not described for this computer', 'the Standard Profile is not described for this computer'
  ])
  const described = readinessChecks({ platform: 'xp-pro-sp2', dcomEnabled: 'Y', firewall: NOTHING })
  t.same(described.checks.filter((c) => c.rule === 'F3').map((c) => c.detail), [
    'Domain Profile lacks the program exception for Remote Assistance', 'Standard Profile lacks the program exception for Remote Assistance'
  ])
})

t.test('F1-F4: an exception entry\'s status is exactly Enabled or Disabled, and its name is trimmed like its other fields', async (t) => {
  for (const bad of ['x.exe:*:NotEnabled:n', 'x.exe:*:Enabled2:n', 'x.exe:*:disabledx:n']) t.equal(parseProgramException(bad), null, bad)
  t.same(parseProgramException(' x.exe : * : ENABLED : Remote Assistance '), { program: 'x.exe', scope: '*', enabled: true, name: 'Remote Assistance' })
})
