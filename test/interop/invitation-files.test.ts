import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { readInvitationFile } from '../../src/domain/invitation-file.js'
import { projectRoot } from '../../src/paths.js'
import { world, type InvitationWorld } from '../routes/invitations-helper.js'
import { noFreeRdp, readWithFreeRdp } from './freerdp.js'

const WIN7 = {
  addresses: ['[fe80::1032:53d9:5a01:909b%3]:49228', '192.168.1.200:49230', '169.254.6.170:49231'],
  sessionId: '+ULZ6ifjoCa6cGPMLQiGHRPwkg6VyJqGwxMnO6GcelwUh9a6/FBq3It5ADSndmLL',
  keyHash: 'BNRjdu97DyczQSRuMRrDWoue+HA='
}
const XP = { addresses: ['192.168.1.65:3389', 'jeff_xp:3389'], sessionId: 'ot9B5Ut8n6FmiIOr2Aa915WwuLcMdtNl5AoXFiA4wLg=' }

/** Creates an invitation as alice and downloads its file. */
async function fileOf (w: InvitationWorld, body: object): Promise<{ bytes: Buffer, ticket: string }> {
  const created = await w.call('POST', '/v1/invitations', body, w.alice)
  if (created.statusCode !== 201) throw new Error(created.body)
  const file = await w.call('GET', `/v1/invitations/${created.json().invitation.id}/file`, undefined, w.alice)
  return { bytes: file.rawPayload, ticket: created.json().ticket }
}

t.test('S4: a Windows 10 novice\'s invitation file is opened by FreeRDP with the right password, and refused with a wrong one',
  { skip: noFreeRdp }, async (t) => {
    const w = await world(t)
    const { bytes, ticket } = await fileOf(w, { computer: 'CONTOSO\\PC-10', password: 'blue-42-horse', connection: WIN7 })
    const right = readWithFreeRdp(bytes, 'blue-42-horse')
    t.equal(right.rc, 1, right.output)
    t.ok(right.populated, 'FreeRDP has what it needs to connect')
    t.equal(right.host, 'fe80::1032:53d9:5a01:909b%3', 'the first address the agent gave')
    t.equal(right.port, 49228)
    t.equal(right.session, WIN7.sessionId, 'the RA session id the agent gave')
    for (const wrong of ['blue-42-hors', 'Blue-42-horse', 'x']) t.ok(readWithFreeRdp(bytes, wrong).rc < 0, `refused with "${wrong}"`)
    const parsed = readInvitationFile(bytes)
    t.equal(parsed.encrypted, true, 'RCTICKETENCRYPTED=1: the LHTICKET really is encrypted with the password')
    t.match(parsed.passStub, /^\S{14}$/)
    t.equal(parsed.rcTicket.parms, ticket, 'the signed ticket stays in RCTICKET: redemption still decides')
    t.equal(parsed.rcTicket.addresses, '192.168.1.200:49230;169.254.6.170:49231')

    const other = readInvitationFile((await fileOf(w, { computer: 'CONTOSO\\PC-10', password: 'blue-42-horse', connection: WIN7 })).bytes)
    t.not(other.passStub, parsed.passStub, 'a PassStub per invitation')
    t.not(other.lhTicket, undefined)
  })

t.test('S4: an XP novice\'s file lists every address and is read by FreeRDP (which, in 2.11, connects to the ones after a ";")',
  { skip: noFreeRdp }, async (t) => {
    const w = await world(t)
    const { bytes } = await fileOf(w, { computer: 'CONTOSO\\PC-XP', password: 'blue-42-horse', connection: XP })
    const parsed = readInvitationFile(bytes)
    t.equal(parsed.rcTicket.addresses, '192.168.1.65:3389;jeff_xp:3389')
    t.equal(parsed.rcTicket.id, XP.sessionId)
    t.equal(parsed.lhTicket, undefined, 'XP has no LHTICKET')
    t.equal(parsed.encrypted, false, 'nothing in the file is encrypted: RCTICKETENCRYPTED says so (the password is checked when connecting)')
    // FreeRDP 2 always wants a password to open a file; an XP file's is checked by the novice's computer, not the file.
    const read = readWithFreeRdp(bytes, 'blue-42-horse')
    t.equal(read.rc, 1, read.output)
    t.ok(read.populated)
    // FreeRDP 2.11 keeps the ";" it split on, as it does with Windows' own files (see the real XP sample below).
    t.equal(read.host, ';jeff_xp')
    t.equal(read.port, 3389)
    t.equal(read.session, XP.sessionId)
  })

t.test('S4: without connection data the file claims no encryption, is 8-bit, and FreeRDP still reads it', { skip: noFreeRdp }, async (t) => {
  const w = await world(t)
  for (const password of [undefined, 'blue-42-horse']) {
    const { bytes, ticket } = await fileOf(w, { computer: 'CONTOSO\\PC-10', ...(password ? { password } : {}) })
    t.notOk(bytes.includes(0), 'no zero byte')
    const parsed = readInvitationFile(bytes)
    t.equal(parsed.encrypted, false, `${password ? 'with' : 'without'} a password: RCTICKETENCRYPTED=0, nothing is encrypted`)
    t.equal(parsed.lhTicket, undefined)
    t.equal(parsed.rcTicket.parms, ticket)
    t.equal(readWithFreeRdp(bytes, 'any').rc, 1, 'parsed (before: "Neither UPLOADINFO nor <E> found")')
  }
})

t.test('the real Windows files: FreeRDP reads them as our reader does, the Windows 7 one only with its password', { skip: noFreeRdp }, async (t) => {
  const fixture = (name: string) => readFileSync(path.join(projectRoot, 'test', 'fixtures', 'windows', name))
  const win7 = fixture('FreeRDP_TestCommonAssistance_type2_Win7.msrcincident')
  const read = readWithFreeRdp(win7, '48BJQ853X3B4')
  t.equal(read.rc, 1)
  t.equal(read.session, readInvitationFile(win7).rcTicket.id)
  t.ok(readWithFreeRdp(win7, 'wrong').rc < 0)
  const xp = fixture('Olougouna_blog_2011_FreeRDP_type1_XP.msrcincident')
  const xpRead = readWithFreeRdp(xp, 'Password1')
  t.equal(xpRead.host, ';winxpsp3.contoso3.com', 'FreeRDP 2.11 reads Windows\' own XP file this way too')
  t.equal(xpRead.session, readInvitationFile(xp).rcTicket.id)
})
