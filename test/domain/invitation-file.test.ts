import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import {
  connectionString2, decryptLhTicket, encryptLhTicket, generatePassStub, INVITATION_FILE_NAME, parseNoviceAddress, rcTicketAddresses, readInvitationFile,
  writeInvitationFile, type InvitationFile, type NoviceAddress, type NoviceConnection
} from '../../src/domain/invitation-file.js'
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

t.test('S4: what it writes, it reads back: 8-bit, no byte-order mark, the declaration then one line, escaped attributes', async (t) => {
  const file: InvitationFile = {
    username: 'CONTOSO\\alice "<&>"',
    rcTicket: { version: '65538', addresses: 'ra.example.com:443', id: '3f2a-invitation', parms: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' },
    encrypted: false,
    dtStart: 1795310000,
    dtLength: 360,
    passStub: ''
  }
  const bytes = writeInvitationFile(file)
  t.notOk(bytes.includes(0), 'no zero byte: 8-bit readers read it whole')
  t.not(bytes[0], 0xff, 'no byte-order mark')
  const text = bytes.toString('latin1')
  t.equal(text.split('\n').length, 3, 'the declaration, one line, and the final line break')
  t.match(text, /^<\?xml version="1\.0"\?>\n<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME=/)
  t.match(text, 'RCTICKET="65538,1,ra.example.com:443,*,3f2a-invitation,*,*,eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"')
  t.match(text, 'RCTICKETENCRYPTED="0"')
  t.match(text, 'USERNAME="CONTOSO\\alice &quot;&lt;&amp;&gt;&quot;"')
  t.same(readInvitationFile(bytes), file)
  t.same(readInvitationFile(writeInvitationFile({ ...file, lhTicket: 'ABCD', encrypted: true, passStub: 'o2*5GdBARK_JBB' })).lhTicket, 'ABCD')
})

t.test('S4: the LHTICKET key is [MS-RAI]\'s: the real Windows 7 file decrypts with its password, and the same connection data encrypts to the same bytes',
  async (t) => {
    const real = readInvitationFile(fixture('FreeRDP_TestCommonAssistance_type2_Win7.msrcincident'))
    const plain = decryptLhTicket(real.lhTicket!, '48BJQ853X3B4')
    t.equal(plain, '<E><A KH="BNRjdu97DyczQSRuMRrDWoue+HA=" ID="+ULZ6ifjoCa6cGPMLQiGHRPwkg6VyJqGwxMnO6GcelwUh9a6/FBq3It5ADSndmLL"/><C><T ID="1" SID="0">' +
    '<L P="49228" N="fe80::1032:53d9:5a01:909b%3"/><L P="49229" N="fe80::3d8f:9b2d:6b4e:6aa%6"/><L P="49230" N="192.168.1.200"/>' +
    '<L P="49231" N="169.254.6.170"/></T></C></E>')
    t.equal(decryptLhTicket(real.lhTicket!, '48BJQ853X3B5'), null, 'a wrong password reads nothing')
    const connection: NoviceConnection = {
      addresses: ['[fe80::1032:53d9:5a01:909b%3]:49228', '[fe80::3d8f:9b2d:6b4e:6aa%6]:49229', '192.168.1.200:49230', '169.254.6.170:49231']
        .map((a) => parseNoviceAddress(a) as NoviceAddress),
      sessionId: '+ULZ6ifjoCa6cGPMLQiGHRPwkg6VyJqGwxMnO6GcelwUh9a6/FBq3It5ADSndmLL',
      keyHash: 'BNRjdu97DyczQSRuMRrDWoue+HA='
    }
    t.equal(connectionString2(connection), plain, 'Connection String 2 as Windows writes it')
    t.equal(encryptLhTicket(connectionString2(connection), '48BJQ853X3B4'), real.lhTicket, 'byte for byte the LHTICKET Windows 7 wrote')
    t.equal(rcTicketAddresses(connection.addresses), '192.168.1.200:49230;169.254.6.170:49231', 'RCTICKET lists IPv4 only, as in the real file')
    t.equal(real.rcTicket.addresses, '192.168.1.200:49230;169.254.6.170:49231')
  })

t.test('novice addresses: host:port, IPv6 in brackets with an optional zone, NetBIOS names; anything else says why', async (t) => {
  t.same(parseNoviceAddress('192.168.1.65:3389'), { host: '192.168.1.65', port: 3389 })
  t.same(parseNoviceAddress('jeff_xp:3389'), { host: 'jeff_xp', port: 3389 })
  t.same(parseNoviceAddress('pc-10.contoso.com:49230'), { host: 'pc-10.contoso.com', port: 49230 })
  t.same(parseNoviceAddress('[fe80::1%3]:49228'), { host: 'fe80::1%3', port: 49228 })
  t.same(parseNoviceAddress('[2001:db8::7]:1'), { host: '2001:db8::7', port: 1 })
  for (const bad of ['192.168.1.65', '192.168.1.300:3389', 'fe80::1:3389', '[fe80::zz]:1', '[fe80::1%a b]:1', 'host:0', 'host:65536',
    'bad host:1', '-lead:1', 'a;b:1', 'a,b:1', 'x"y:1', ':3389', `${'a'.repeat(254)}:1`]) {
    t.ok('error' in (parseNoviceAddress(bad) as object), bad)
  }
})

t.test('PassStubs are 14 characters of Windows\' kind, none XML must escape, fresh per call', async (t) => {
  const stubs = new Set(Array.from({ length: 200 }, () => generatePassStub()))
  t.equal(stubs.size, 200)
  for (const s of stubs) t.match(s, /^[A-Za-z0-9*_#$^=!@()+-]{14}$/)
})

t.test('malformed files are refused with a reason', async (t) => {
  t.throws(() => readInvitationFile('<html/>'), /not a Remote Assistance invitation file/)
  t.throws(() => readInvitationFile('<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" RCTICKET="1,2,3" RCTICKETENCRYPTED="0" DtStart="1" DtLength="1"/></UPLOADINFO>'), /layout/)
  t.throws(() => readInvitationFile('<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" RCTICKETENCRYPTED="0" DtStart="1" DtLength="1"/></UPLOADINFO>'), /no RCTICKET/)
})

/** An invitation file's text with these UPLOADDATA attributes (RCTICKET and the rest filled in unless given). */
const upload = (attributes: string, before = '<UPLOADINFO TYPE="Escalated">', close = '/>') =>
  `<?xml version="1.0"?>${before}<UPLOADDATA USERNAME="x" RCTICKETENCRYPTED="0" DtStart="1" DtLength="2" ${attributes}${close}</UPLOADINFO>`
const RC = 'RCTICKET="65538,1,h:1,*,id,*,*,p"'

t.test('S4: files are read as Windows stores them: UTF-16 either way with its mark, UTF-8 with or without one, or text', async (t) => {
  const text = upload(RC)
  const expected = {
    username: 'x', rcTicket: { version: '65538', addresses: 'h:1', id: 'id', parms: 'p' }, encrypted: false, dtStart: 1, dtLength: 2, passStub: ''
  }
  t.same(readInvitationFile(text), expected, 'no PassStub: empty')
  t.same(readInvitationFile(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), expected, 'UTF-16 little-endian')
  t.same(readInvitationFile(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])), expected, 'UTF-16 big-endian')
  t.same(readInvitationFile(Buffer.from(`\uFEFF${text}`, 'utf8')), expected, 'UTF-8 with a mark')
  t.same(readInvitationFile(Buffer.from(text, 'utf8')), expected, 'UTF-8')
  t.throws(() => readInvitationFile(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from(text, 'utf16le')])), /not a Remote Assistance invitation/,
    'half a mark is no mark')
  t.same(readInvitationFile(upload(RC, '<UPLOADINFO  Version="1" TYPE="Escalated">', '></UPLOADDATA>')).dtLength, 2,
    'TYPE after other attributes; UPLOADDATA not self-closing')
  t.throws(() => readInvitationFile(upload(RC, '<UPLOADINFO TYPE="Other">')), /no <UPLOADINFO TYPE="Escalated">/)
  t.throws(() => readInvitationFile('<UPLOADINFO TYPE="Escalated"></UPLOADINFO>'), /no <UPLOADDATA> element/)
  t.equal(readInvitationFile(upload(`${RC} RCTICKETENCRYPTED="1"`)).encrypted, true)
})

t.test('S4: attribute values unescape named, decimal and hexadecimal references; numbers are whole numbers', async (t) => {
  t.equal(readInvitationFile(upload(`${RC} PassStub="&#65;&#1234;&#x1F600;&#X41;&amp;&LT;"`)).passStub, 'A\u04d2\u{1F600}A&<')
  for (const bad of ['12a', 'a12', '-1', '1.5', '']) {
    const file = `<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" ${RC} RCTICKETENCRYPTED="0" DtStart="${bad}" DtLength="2"/></UPLOADINFO>`
    t.throws(() => readInvitationFile(file), /DTSTART is not a whole number/, bad)
  }
  t.throws(() => readInvitationFile(upload('RCTICKET="65538,2,h:1,*,id,*,*,p"')), /layout/, 'the second field is 1')
  t.throws(() => readInvitationFile(upload('RCTICKET="65538,1,h:1,*,id,*,*,p,extra"')), /layout/, 'eight fields exactly')
})

t.test('S4: an RCTICKET field cannot hold a comma (it would shift every field after it)', async (t) => {
  const file: InvitationFile = {
    username: 'x', rcTicket: { version: '65538', addresses: 'a:1;b:2', id: 'id', parms: 'p' }, encrypted: false, dtStart: 1, dtLength: 2, passStub: ''
  }
  t.match(writeInvitationFile(file).toString(), 'RCTICKET="65538,1,a:1;b:2,*,id,*,*,p"')
  t.throws(() => writeInvitationFile({ ...file, rcTicket: { ...file.rcTicket, addresses: 'a:1,b:2' } }), /RCTICKET addresses cannot contain a comma/)
  t.throws(() => writeInvitationFile({ ...file, rcTicket: { ...file.rcTicket, parms: 'x,y' } }), /RCTICKET parms cannot contain a comma/)
})

t.test('novice addresses: the limits exactly: port 65535, 253-character names, one-character zones, dotted names of digits', async (t) => {
  t.same(parseNoviceAddress('h:65535'), { host: 'h', port: 65535 })
  const label = 'a'.repeat(63)
  const long = [label, label, label, 'a'.repeat(61)].join('.')
  t.equal(long.length, 253)
  t.same(parseNoviceAddress(`${long}:1`), { host: long, port: 1 })
  t.ok('error' in (parseNoviceAddress(`${long}a:1`) as object), '254 characters')
  t.ok('error' in (parseNoviceAddress(`${'a'.repeat(64)}.b:1`) as object), 'a label of 64')
  t.same(parseNoviceAddress('[fe80::1%a]:2'), { host: 'fe80::1%a', port: 2 })
  t.ok('error' in (parseNoviceAddress('[fe80::1%a%b]:2') as object), 'one zone')
  t.ok('error' in (parseNoviceAddress('[192.168.0.1]:2') as object), 'brackets hold IPv6 only')
  t.ok('error' in (parseNoviceAddress('1.2.3:2') as object), 'digits and dots are an IPv4 address or nothing')
  t.ok('error' in (parseNoviceAddress('x1.2.3.4:2x') as object))
  t.ok('error' in (parseNoviceAddress('a:1:2') as object))
  t.ok('error' in (parseNoviceAddress('h:123456') as object))
  t.same(parseNoviceAddress('pc1.2:3'), { host: 'pc1.2', port: 3 }, 'a name may end in digits')
})

t.test('S4: the whole file, character for character, as Windows Vista and later write it, with and without an LHTICKET', async (t) => {
  t.equal(INVITATION_FILE_NAME, 'RAInvitation.msrcincident', 'the name SPEC.md gives the attachment (the extension Windows opens with msra.exe)')
  const file: InvitationFile = {
    username: "O'Brien",
    rcTicket: { version: '65538', addresses: 'pc1:3389', id: 'inv-1', parms: 'p' },
    encrypted: false,
    dtStart: 1795310000.9,
    dtLength: 360.5,
    passStub: 'o2*5GdBARK_JBB'
  }
  t.equal(writeInvitationFile(file).toString('latin1'), '<?xml version="1.0"?>\n<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="O&apos;Brien" ' +
    'RCTICKET="65538,1,pc1:3389,*,inv-1,*,*,p" PassStub="o2*5GdBARK_JBB" RCTICKETENCRYPTED="0" DtStart="1795310000" DtLength="360" L="0"/></UPLOADINFO>\n')
  t.equal(writeInvitationFile({ ...file, username: 'x', lhTicket: 'AB12', encrypted: true }).toString('latin1'),
    '<?xml version="1.0"?>\n<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="x" LHTICKET="AB12" ' +
    'RCTICKET="65538,1,pc1:3389,*,inv-1,*,*,p" PassStub="o2*5GdBARK_JBB" RCTICKETENCRYPTED="1" DtStart="1795310000" DtLength="360" L="0"/></UPLOADINFO>\n',
    'the LHTICKET right after USERNAME, and RCTICKETENCRYPTED 1 only then')
  t.equal(writeInvitationFile({ ...file, username: 'J\u00f6rg' }).includes(Buffer.from('USERNAME="J\u00f6rg"', 'utf8')), true, 'a name beyond ASCII in UTF-8')
  const read = readInvitationFile(writeInvitationFile(file))
  t.notOk('lhTicket' in read, 'no LHTICKET: no lhTicket field, not one holding undefined')
  t.equal(read.username, "O'Brien")
})

t.test('S4: a zero-width no-break space inside a value is text, not a byte-order mark', async (t) => {
  const text = `<UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME="a\uFEFFb" ${RC} RCTICKETENCRYPTED="0" DtStart="1" DtLength="2"/></UPLOADINFO>`
  t.equal(readInvitationFile(Buffer.from(text, 'utf8')).username, 'a\uFEFFb')
  t.equal(readInvitationFile(Buffer.from(`\uFEFF${text}`, 'utf8')).username, 'a\uFEFFb', 'only the mark at the start goes')
})

t.test('S4: Connection String 2 for a novice computer that reports no key hash, and what a decrypted LHTICKET must look like', async (t) => {
  const c: NoviceConnection = { addresses: [{ host: '192.168.1.20', port: 49230 }], sessionId: 'sid' }
  const plain = connectionString2(c)
  t.equal(plain, '<E><A KH="" ID="sid"/><C><T ID="1" SID="0"><L P="49230" N="192.168.1.20"/></T></C></E>')
  t.equal(decryptLhTicket(encryptLhTicket(plain, 'pw'), 'pw'), plain)
  t.equal(decryptLhTicket(encryptLhTicket('<E>a\r\nb</E>', 'pw'), 'pw'), '<E>a\r\nb</E>', 'only the final CRLF is the one encryption added')
  for (const bad of ['junk<E></E>', '<E></E>junk', '<A/>']) t.equal(decryptLhTicket(encryptLhTicket(bad, 'pw'), 'pw'), null, `${bad}: not Connection String 2`)
})

t.test('novice addresses: the whole text is host:port, zones are names, and each refusal says what is wrong', async (t) => {
  t.same(parseNoviceAddress('[fe80::1%eth0]:1'), { host: 'fe80::1%eth0', port: 1 }, 'a zone may be an interface name')
  t.same(parseNoviceAddress(`[fe80::1%${'z'.repeat(64)}]:1`), { host: `fe80::1%${'z'.repeat(64)}`, port: 1 })
  t.same(parseNoviceAddress(`[fe80::1%${'z'.repeat(65)}]:1`), { error: `"[fe80::1%${'z'.repeat(65)}]:1": not an IPv6 address` })
  t.same(parseNoviceAddress('[::1]x:5'), { error: '"[::1]x:5" is not host:port (an IPv6 address goes in brackets: [fe80::1]:3389)' })
  t.same(parseNoviceAddress('a:b:1'), { error: '"a:b:1" is not host:port (an IPv6 address goes in brackets: [fe80::1]:3389)' })
  t.same(parseNoviceAddress('h:0'), { error: '"h:0": the port must be 1–65535' })
  t.same(parseNoviceAddress('[fe80::zz]:1'), { error: '"[fe80::zz]:1": not an IPv6 address' })
  t.same(parseNoviceAddress('999.1.1.1:1'), { error: '"999.1.1.1:1": not an IPv4 address or a host name' })
  t.same(parseNoviceAddress('1.2.3.4a:1'), { host: '1.2.3.4a', port: 1 }, 'digits and dots with a letter: a name, not a bad IPv4 address')
})
