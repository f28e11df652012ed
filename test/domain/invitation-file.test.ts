import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { readInvitationFile, writeInvitationFile, type InvitationFile } from '../../src/domain/invitation-file.js'
import { projectRoot } from '../../src/paths.js'

// Copied from ../shared/fixtures/windows (see the README there for their origins), so CI needs nothing outside the repo.
const fixtures = path.join(projectRoot, 'test', 'fixtures', 'windows')
const fixture = (name: string) => readFileSync(path.join(fixtures, name))

t.test('reads the [MS-RAI] section 6 XP sample', async (t) => {
  const f = readInvitationFile(fixture('MS-RAI_sec6_sample_type1_XP.msrcincident'))
  t.same(f, {
    username: 'jeff',
    rcTicket: {
      version: '65538',
      addresses: '192.168.1.65:3389;jeff_xp:3389',
      id: 'ot9B5Ut8n6FmiIOr2Aa915WwuLcMdtNl5AoXFiA4wLg=',
      parms: '5nKH3X0Ikre0jjL9SaRlfN10p9o='
    },
    encrypted: true,
    dtStart: 1160080069,
    dtLength: 60,
    passStub: 'o2*5GdBARK_JBB'
  })
})

t.test('reads every real invitation file in the fixtures, including Vista/Win7 ones with LHTICKET', async (t) => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.msrcincident'))
  t.ok(files.length >= 4)
  for (const name of files) {
    const f = readInvitationFile(fixture(name))
    t.match(f.rcTicket.version, /^65538$/, name)
    t.ok(f.dtLength > 0 && f.dtStart > 1_000_000_000, `${name}: times`)
    if (name.includes('Vista') || name.includes('Win7')) t.type(f.lhTicket, 'string', `${name}: LHTICKET`)
  }
  t.equal(readInvitationFile(fixture('FreeRDP_TestCommonAssistance_type2_Win7.msrcincident')).dtLength, 14400)
})

t.test('what it writes, it reads back: UTF-16 with BOM and encoding="Unicode", escaped attributes', async (t) => {
  const file: InvitationFile = {
    username: 'CONTOSO\\alice "<&>"',
    rcTicket: { version: '65538', addresses: 'ra.example.com:443', id: '3f2a-invitation', parms: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' },
    encrypted: true,
    dtStart: 1795310000,
    dtLength: 360,
    passStub: ''
  }
  const bytes = writeInvitationFile(file)
  t.same([bytes[0], bytes[1]], [0xff, 0xfe], 'UTF-16LE byte-order mark')
  const text = bytes.subarray(2).toString('utf16le')
  t.match(text, /^<\?xml version="1\.0" encoding="Unicode" \?>/)
  t.match(text, 'RCTICKET="65538,1,ra.example.com:443,*,3f2a-invitation,*,*,eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"')
  t.match(text, 'USERNAME="CONTOSO\\alice &quot;&lt;&amp;&gt;&quot;"')
  t.same(readInvitationFile(bytes), file)
})

t.test('malformed files are refused with a reason', async (t) => {
  t.throws(() => readInvitationFile('<html/>'), /not a Remote Assistance invitation file/)
  t.throws(() => readInvitationFile('<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" RCTICKET="1,2,3" RCTICKETENCRYPTED="0" DtStart="1" DtLength="1"/></UPLOADINFO>'), /layout/)
  t.throws(() => readInvitationFile('<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" RCTICKETENCRYPTED="0" DtStart="1" DtLength="1"/></UPLOADINFO>'), /no RCTICKET/)
})
