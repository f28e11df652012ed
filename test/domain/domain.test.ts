import t from 'tap'
import { authorize, actorName } from '../../src/domain/access.js'
import { parsePortException, parseProgramException } from '../../src/domain/firewall.js'
import { findMembershipCycle, transitiveGroups } from '../../src/domain/groups.js'
import { ACCOUNT_NAME_PATTERN, COMPUTER_NAME_PATTERN, isValidComputerName, nameKey, splitQualifiedName } from '../../src/domain/names.js'

t.test('group cycles: found with their path, absent otherwise', async (t) => {
  const graph: Record<string, string[]> = { A: ['B'], B: ['C'], C: [], D: ['A'] }
  const of = (id: string) => graph[id] ?? []
  t.same(findMembershipCycle('C', ['A'], of), ['C', 'A', 'B', 'C'], 'C ⊃ A ⊃ B ⊃ C')
  t.same(findMembershipCycle('A', ['A'], of), ['A', 'A'], 'a group in itself')
  t.same(findMembershipCycle('C', ['D'], of), ['C', 'D', 'A', 'B', 'C'])
  t.equal(findMembershipCycle('A', ['C'], of), null, 'A ⊃ C is fine: C contains nothing')
  t.equal(findMembershipCycle('X', ['D', 'A', 'B'], of), null, 'shared sub-groups are not cycles')
})

t.test('firewall entries in the seeds\' forms parse; malformed ones do not', async (t) => {
  t.same(parseProgramException('%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice'),
    { program: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe', scope: '*', enabled: true, name: 'Remote Assistance – Windows Messenger and Voice' })
  t.same(parseProgramException('%WINDIR%\\SYSTEM32\\Sessmgr.exe:*: Enabled: Remote Assistance'),
    { program: '%WINDIR%\\SYSTEM32\\Sessmgr.exe', scope: '*', enabled: true, name: 'Remote Assistance' })
  t.match(parseProgramException('C:\\Windows\\System32\\msra.exe:LocalSubnet:Disabled:msra'), { program: 'C:\\Windows\\System32\\msra.exe', enabled: false })
  t.equal(parseProgramException('Helpctr.exe:*:On:x'), null)
  t.equal(parseProgramException('Helpctr.exe'), null)
  t.same(parsePortException('135:TCP:*:Enabled:Offer Remote Assistance'),
    { port: 135, protocol: 'TCP', scope: '*', enabled: true, name: 'Offer Remote Assistance' })
  t.equal(parsePortException('70000:TCP:*:Enabled:x'), null)
  t.equal(parsePortException('135:ICMP:*:Enabled:x'), null)
  t.equal(parsePortException('135:TCP:*:Enabled'), null)
})

t.test('names: DOMAIN\\name forms and case-insensitive keys', async (t) => {
  const account = new RegExp(ACCOUNT_NAME_PATTERN, 'u')
  for (const ok of ['CONTOSO\\alice', 'CONTOSO\\Domain Admins', 'contoso.local\\Offer Remote Assistance Helpers', 'CONTOSO\\Jürgen']) t.ok(account.test(ok), ok)
  for (const bad of [
    'alice', 'CONTOSO\\', '\\alice', 'CONTOSO\\a\\b', 'CONTOSO\\a@b', 'CONTOSO\\trailing.', 'CONTOSO\\ lead', 'ABCDEFGHIJKLMNOP\\x', 'CON TOSO\\x'
  ]) t.notOk(account.test(bad), bad)
  const computer = new RegExp(COMPUTER_NAME_PATTERN, 'u')
  t.ok(computer.test('CONTOSO\\PC-0042'))
  t.notOk(computer.test('CONTOSO\\PC 42'))
  t.notOk(computer.test('CONTOSO\\ABCDEFGHIJKLMNOP'), '16 characters')
  t.notOk(isValidComputerName('CONTOSO\\12345'))
  t.same(splitQualifiedName('CONTOSO\\Domain Admins'), { domain: 'CONTOSO', name: 'Domain Admins' })
  t.equal(nameKey('jürgen'), nameKey('JÜRGEN'))
  t.equal(nameKey('Ju\u0308rgen'), nameKey('J\u00dcRGEN'), 'NFC-normalised')
})

t.test('access: administrators everything, integrations by scope, users only where routes let them', async (t) => {
  const admin = { kind: 'admin', tokenId: 't1' } as const
  const integration = { kind: 'integration', tokenId: 't2', name: 'siem', scopes: ['audit:read'] } as const
  const user = { kind: 'user', tokenId: 't3', accountId: 'a', name: 'CONTOSO\\alice' } as const
  t.same(authorize(admin, { scope: null }), { allowed: true })
  t.same(authorize(integration, { scope: 'audit:read' }), { allowed: true })
  t.match(authorize(integration, { scope: 'directory:read' }), { allowed: false, code: 'INSUFFICIENT_SCOPE' })
  t.match(authorize(integration, { scope: null }), { allowed: false, code: 'INSUFFICIENT_SCOPE' })
  t.match(authorize(user, { scope: 'directory:read' }), { allowed: false, code: 'ADMIN_REQUIRED' })
  t.same(authorize(user, { scope: 'invitations:write', users: true }), { allowed: true })
  t.same([actorName(admin), actorName(integration), actorName(user)], ['admin', 'integration:siem', 'CONTOSO\\alice'])
})

t.test('O2/O11: nested membership is resolved transitively and cycle-safe', async (t) => {
  // alice ∈ Team ∈ GPCO; GPCO ∈ Team would be a cycle the data somehow holds.
  const parents: Record<string, Array<{ id: string }>> = { alice: [{ id: 'Team' }], Team: [{ id: 'GPCO' }], GPCO: [{ id: 'Team' }, { id: 'Admins' }] }
  const groups = transitiveGroups('alice', (id) => parents[id] ?? []).map((g) => g.id)
  t.same(groups.sort(), ['Admins', 'GPCO', 'Team'])
  t.same(transitiveGroups('nobody', () => []), [])
})

t.test('names: split at the first backslash, which may not lead; keys are upper case; computer names may hold digits but not only digits', async (t) => {
  t.throws(() => splitQualifiedName('\\alice'), /not a DOMAIN\\name/)
  t.throws(() => splitQualifiedName('alice'), /not a DOMAIN\\name/)
  t.same(splitQualifiedName('C\\x'), { domain: 'C', name: 'x' })
  t.equal(nameKey('alice'), 'ALICE')
  for (const ok of ['CONTOSO\\PC12', 'CONTOSO\\12PC', 'CONTOSO\\1-2']) t.ok(isValidComputerName(ok), ok)
  t.notOk(isValidComputerName('CONTOSO\\0042'))
})

t.test('group cycles: a path through a group already walked is not searched twice, and the first member with a loop is named', async (t) => {
  const calls: string[] = []
  const graph: Record<string, string[]> = { A: ['B', 'C'], B: ['D'], C: ['D'], D: [], E: ['G'] }
  const of = (id: string) => { calls.push(id); return graph[id] ?? [] }
  t.equal(findMembershipCycle('G', ['A'], of), null)
  t.same(calls, ['A', 'B', 'D', 'C'], 'D once')
  t.same(findMembershipCycle('G', ['A', 'E'], (id) => graph[id] ?? []), ['G', 'E', 'G'])
})
