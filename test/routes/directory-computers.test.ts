// Computers: firewall entries, Control Panel settings, names and their users.
import t from 'tap'
import { build } from '../helper.js'
import { HELPCTR, PORT_135, refused, created, patched, seed, type Json } from './directory-helper.js'

t.test('a group in a computer\'s users list is 422 INVALID_REFERENCE, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const err = await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { users: ['CONTOSO\\alice', 'CONTOSO\\Helpdesk'] },
    422, 'INVALID_REFERENCE', 'users[1]'
  )
  t.match(err.message, /group/)
  await refused(t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC-2', users: ['CONTOSO\\Tier2'] }, 422, 'INVALID_REFERENCE', 'users[0]')
  // A domain listing itself as trusted is refused the same way.
  await refused(t, call, 'PATCH', `/v1/domains/${s.contoso.id}`, { trusts: ['FABRIKAM', 'contoso'] }, 422, 'INVALID_REFERENCE', 'trusts[1]')
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
  const ok = await patched(t, call, `/v1/computers/${s.pc.id}`, {
    firewall: {
      public: {
        programExceptions: ['C:\\Windows\\System32\\msra.exe:*:Enabled:Remote Assistance'],
        portExceptions: ['3389:UDP:*:disabled:RDP']
      }
    }
  })
  t.strictSame(ok.firewall.public.programExceptions, ['C:\\Windows\\System32\\msra.exe:*:Enabled:Remote Assistance'])
})

t.test('a controlPanel maxInvitationTime of 100, 0 or unit weeks is 400, and changes nothing', async (t) => {
  const { call } = await build(t)
  const s = await seed(t, call)
  const cp = (value: unknown, unit: unknown) => ({
    controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true, maxInvitationTime: { value, unit } }
  })
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(100, 'days'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(0, 'hours'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(1.5, 'hours'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value')
  await refused(t, call, 'PATCH', `/v1/computers/${s.pc.id}`, cp(2, 'weeks'), 400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.unit')
  await refused(
    t, call, 'POST', '/v1/computers', { name: 'CONTOSO\\PC-7', ...cp(100, 'minutes') },
    400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime.value'
  )
  await refused(
    t, call, 'PATCH', `/v1/computers/${s.pc.id}`, { controlPanel: { remoteAssistanceEnabled: true, allowRemoteControl: true } },
    400, 'VALIDATION_FAILED', 'controlPanel.maxInvitationTime'
  )
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
