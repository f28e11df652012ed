import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { readRegistryPol, REG_TYPES, RegistryPolError, writeRegistryPol, type PolEntry } from '../../src/domain/registry-pol.js'
import { thrown } from '../helper.js'
import { noSamba, readWithSamba, type SambaEntry } from '../interop/samba.js'

const fixture = (name: string): Buffer => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'windows', name))
const DOD = fixture('DoD_Windows8_Computer_registry.pol')
const GOLDSTAR = fixture('goldstar611_Registry.pol')

const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le')
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b }
const HEADER = Buffer.from([0x50, 0x52, 0x65, 0x67, 1, 0, 0, 0])
/** One entry's bytes, built by hand from [MS-GPREG]'s layout: `[key\0;value\0;type;size;data]`. */
const raw = (key: string, value: string, type: number, data: Buffer, size = data.length): Buffer =>
  Buffer.concat([u16(`[${key}\0;${value}\0;`), u32(type), u16(';'), u32(size), u16(';'), data, u16(']')])

/** Every type, edge values included. */
const EVERY_TYPE: PolEntry[] = [
  { key: 'Software\\Policies\\Test', value: 'Text', type: 'REG_SZ', data: 'héllo, wörld 😀' },
  { key: 'Software\\Policies\\Test', value: 'Empty', type: 'REG_SZ', data: '' },
  { key: 'Software\\Policies\\Test', value: 'Path', type: 'REG_EXPAND_SZ', data: '%WINDIR%\\System32\\msra.exe' },
  { key: 'Software\\Policies\\Test', value: 'Blob', type: 'REG_BINARY', data: new Uint8Array([0, 1, 0xfe, 0xff, 0x5d, 0x00, 0x3b]) },
  { key: 'Software\\Policies\\Test', value: 'NoBlob', type: 'REG_BINARY', data: new Uint8Array() },
  { key: 'Software\\Policies\\Test', value: 'Max', type: 'REG_DWORD', data: 0xffffffff },
  { key: 'Software\\Policies\\Test', value: 'Zero', type: 'REG_DWORD', data: 0 },
  { key: 'Software\\Policies\\Test', value: 'BigEndian', type: 'REG_DWORD_BIG_ENDIAN', data: 0x01020304 },
  { key: 'Software\\Policies\\Test', value: 'Lines', type: 'REG_MULTI_SZ', data: ['CONTOSO\\Helpdesk', 'semi;colon', ']bracket['] },
  { key: 'Software\\Policies\\Test', value: 'NoLines', type: 'REG_MULTI_SZ', data: [] },
  { key: 'Software\\Policies\\Test', value: 'Quad', type: 'REG_QWORD', data: 0xffffffffffffffffn },
  { key: 'Software\\Policies\\Test\\Sub;key]', value: '**del.Odd;name[', type: 'REG_SZ', data: ' ' }
]

const malformed = (bytes: Uint8Array): RegistryPolError => {
  const err = thrown(() => readRegistryPol(bytes))
  if (!(err instanceof RegistryPolError)) throw new Error(`expected a RegistryPolError, got ${String(err)}`)
  return err
}

t.test('the real fixtures read entry by entry and write back byte for byte (GPMC\'s own layout)', async (t) => {
  const dod = readRegistryPol(DOD)
  t.equal(dod.length, 221)
  t.same(dod[0], { key: 'Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\CredUI', value: 'EnumerateAdministrators', type: 'REG_DWORD', data: 0 })
  const ts = dod.filter((e) => e.key === 'Software\\policies\\Microsoft\\Windows NT\\Terminal Services')
  t.same(ts.slice(0, 2), [
    { key: 'Software\\policies\\Microsoft\\Windows NT\\Terminal Services', value: 'fAllowToGetHelp', type: 'REG_DWORD', data: 0 },
    { key: 'Software\\policies\\Microsoft\\Windows NT\\Terminal Services', value: '**del.fAllowFullControl', type: 'REG_SZ', data: ' ' }
  ], 'key names keep the file\'s spelling; a GPMC marker is a REG_SZ holding one space')
  t.match(ts.find((e) => e.value === 'ViewMessage'), { type: 'REG_SZ', data: /^You are about to allow other personnel to remotely connect/ })
  t.same(dod.find((e) => e.value === '**delvals.'), {
    key: 'Software\\policies\\Microsoft\\Windows NT\\Terminal Services\\RAUnsolicit', value: '**delvals.', type: 'REG_SZ', data: ' '
  })
  t.ok(writeRegistryPol(dod).equals(DOD), 'DoD: written back identical')

  const goldstar = readRegistryPol(GOLDSTAR)
  t.equal(goldstar.length, 20)
  t.same(goldstar.find((e) => e.value.startsWith('**')), {
    key: 'SOFTWARE\\Policies\\Microsoft\\Windows\\System', value: '**del.ShellSmartScreenLevel', type: 'REG_SZ', data: ' '
  })
  t.ok(writeRegistryPol(goldstar).equals(GOLDSTAR), 'goldstar611: written back identical')
})

t.test('the writer lays out each type exactly as [MS-GPREG] says: UTF-16LE delimiters and names, little-endian type and size', async (t) => {
  t.ok(writeRegistryPol([]).equals(HEADER), 'no entries: the 8-byte header alone')
  const cases: Array<[PolEntry, Buffer]> = [
    [{ key: 'K', value: 'V', type: 'REG_SZ', data: 'ab' }, raw('K', 'V', 1, u16('ab\0'))],
    [{ key: 'K', value: 'V', type: 'REG_EXPAND_SZ', data: '%X%' }, raw('K', 'V', 2, u16('%X%\0'))],
    [{ key: 'K', value: 'V', type: 'REG_BINARY', data: new Uint8Array([1, 2, 3]) }, raw('K', 'V', 3, Buffer.from([1, 2, 3]))],
    [{ key: 'K', value: 'V', type: 'REG_DWORD', data: 0x01020304 }, raw('K', 'V', 4, Buffer.from([4, 3, 2, 1]))],
    [{ key: 'K', value: 'V', type: 'REG_DWORD_BIG_ENDIAN', data: 0x01020304 }, raw('K', 'V', 5, Buffer.from([1, 2, 3, 4]))],
    [{ key: 'K', value: 'V', type: 'REG_MULTI_SZ', data: ['a', 'b'] }, raw('K', 'V', 7, u16('a\0b\0\0'))],
    [{ key: 'K', value: 'V', type: 'REG_MULTI_SZ', data: [] }, raw('K', 'V', 7, u16('\0'))],
    [{ key: 'K', value: 'V', type: 'REG_QWORD', data: 0x0102030405060708n }, raw('K', 'V', 11, Buffer.from([8, 7, 6, 5, 4, 3, 2, 1]))]
  ]
  for (const [entry, bytes] of cases) {
    const expected = Buffer.concat([HEADER, bytes])
    t.same(writeRegistryPol([entry]).toString('hex'), expected.toString('hex'), `${entry.type}: written`)
    t.same(readRegistryPol(expected), [entry], `${entry.type}: read`)
  }
  t.same(readRegistryPol(writeRegistryPol(EVERY_TYPE)), EVERY_TYPE, 'every type, with delimiters inside names and data, round-trips')
  t.same(Object.keys(REG_TYPES), ['REG_SZ', 'REG_EXPAND_SZ', 'REG_BINARY', 'REG_DWORD', 'REG_DWORD_BIG_ENDIAN', 'REG_MULTI_SZ', 'REG_QWORD'])
})

t.test('lenient where Windows is: strings without their null, REG_MULTI_SZ ending at its first empty string', async (t) => {
  const read = (type: number, data: Buffer) => readRegistryPol(Buffer.concat([HEADER, raw('K', 'V', type, data)]))[0]!.data
  t.equal(read(1, u16('no null')), 'no null')
  t.equal(read(1, u16('')), '')
  t.equal(read(1, u16('two\0\0')), 'two\0', 'only the terminating null is taken off')
  t.same(read(7, u16('a\0b')), ['a', 'b'], 'no terminators')
  t.same(read(7, u16('')), [])
  t.same(read(7, u16('\0\0')), [])
  t.same(read(7, u16('a\0\0b\0\0')), ['a'], 'what follows the empty string is not read, as Windows does not')
  const odd = readRegistryPol(Buffer.concat([HEADER, raw('K', 'A', 3, Buffer.from([1, 2, 3])), raw('K', 'B', 4, u32(7))]))
  t.same(odd.map((e) => e.data), [new Uint8Array([1, 2, 3]), 7], 'an odd-sized REG_BINARY shifts nothing that follows')
})

t.test('the writer refuses what the format cannot hold', async (t) => {
  const refused = (entry: PolEntry): unknown => thrown(() => writeRegistryPol([entry]))
  t.type(refused({ key: 'K\0', value: 'V', type: 'REG_SZ', data: '' }), RangeError, 'a null in a key')
  t.type(refused({ key: 'K', value: 'V\0', type: 'REG_SZ', data: '' }), RangeError, 'a null in a value name')
  t.type(refused({ key: 'K', value: 'V', type: 'REG_DWORD', data: -1 }), RangeError)
  t.type(refused({ key: 'K', value: 'V', type: 'REG_DWORD', data: 2 ** 32 }), RangeError)
  t.type(refused({ key: 'K', value: 'V', type: 'REG_DWORD', data: 1.5 }), RangeError)
  t.type(refused({ key: 'K', value: 'V', type: 'REG_QWORD', data: 2n ** 64n }), RangeError)
  t.type(refused({ key: 'K', value: 'V', type: 'REG_MULTI_SZ', data: ['a', ''] }), RangeError, 'an empty string would end the list')
  t.type(refused({ key: 'K', value: 'V', type: 'REG_MULTI_SZ', data: ['a\0b'] }), RangeError)
})

t.test('a malformed file is refused with the byte offset of the fault', async (t) => {
  const entry = raw('K', 'V', 4, u32(1)) // [ K \0 ; V \0 ; type ; size ; data ]: type at 14, size at 20, data at 26, ] at 30
  const at = (n: number): number => HEADER.length + n
  const cases: Array<[string, Buffer, number, RegExp]> = [
    ['empty', Buffer.alloc(0), 0, /empty/],
    ['another format', Buffer.from('<?xml version="1.0"?>'), 0, /not a Registry\.pol file.*PReg/],
    ['a text file saying PReg', Buffer.from('preg\x01\x00\x00\x00'), 0, /PReg/],
    ['a truncated header', HEADER.subarray(0, 6), 6, /ends inside its header/],
    ['version 2', Buffer.from([0x50, 0x52, 0x65, 0x67, 2, 0, 0, 0]), 4, /version 2/],
    ['a stray byte after the header', Buffer.concat([HEADER, Buffer.from([0x5b])]), at(0), /ends where "\["/],
    ['no "[" opening the entry', Buffer.concat([HEADER, u16('('), entry.subarray(2)]), at(0), /"\[".*expected/],
    ['a key without its null', Buffer.concat([HEADER, u16('[Software\\Policies')]), at(2 + 34), /ends inside the key name/],
    ['no ";" after the key', Buffer.concat([HEADER, u16('[K\0,'), entry.subarray(8)]), at(6), /";" after the key name/],
    ['type 0 (REG_NONE)', Buffer.concat([HEADER, raw('K', 'V', 0, u32(1))]), at(14), /type 0 is not/],
    ['type 6 (REG_LINK)', Buffer.concat([HEADER, raw('K', 'V', 6, u32(1))]), at(14), /type 6/],
    ['type 0xffffffff', Buffer.concat([HEADER, raw('K', 'V', 0xffffffff, u32(1))]), at(14), /type 4294967295/],
    ['a truncated type', Buffer.concat([HEADER, entry.subarray(0, 16)]), at(14), /ends inside the type/],
    ['a REG_DWORD of 2 bytes', Buffer.concat([HEADER, raw('K', 'V', 4, Buffer.from([1, 0]))]), at(20), /REG_DWORD holds 4 bytes.*says 2/],
    ['a REG_DWORD of 8 bytes', Buffer.concat([HEADER, raw('K', 'V', 4, Buffer.alloc(8))]), at(20), /REG_DWORD holds 4 bytes.*says 8/],
    ['a REG_QWORD of 4 bytes', Buffer.concat([HEADER, raw('K', 'V', 11, u32(1))]), at(20), /REG_QWORD holds 8/],
    ['a REG_SZ of an odd size', Buffer.concat([HEADER, raw('K', 'V', 1, Buffer.from([0x41, 0, 0]))]), at(20), /even number of bytes.*3/],
    ['a size past the end of the file', Buffer.concat([HEADER, raw('K', 'V', 3, Buffer.from([1, 2]), 4000)]), at(20), /4000 bytes.*only 4 remain/],
    ['a size shorter than the data', Buffer.concat([HEADER, raw('K', 'V', 3, Buffer.from([1, 2, 3, 4]), 2)]), at(28), /"\]".*2 bytes of data/],
    ['a size longer than the data', Buffer.concat([HEADER, raw('K', 'V', 3, Buffer.from([1, 2]), 3)]), at(29), /"\]".*3 bytes of data/],
    ['a missing "]"', Buffer.concat([HEADER, entry.subarray(0, entry.length - 2)]), at(30), /ends where "\]"/],
    ['half a "]"', Buffer.concat([HEADER, entry.subarray(0, entry.length - 1)]), at(30), /ends where "\]"/],
    ['garbage after a good entry', Buffer.concat([HEADER, entry, Buffer.from('junk')]), at(entry.length), /"\["/]
  ]
  for (const [name, bytes, offset, reason] of cases) {
    const err = malformed(bytes)
    t.equal(err.offset, offset, `${name}: offset`)
    t.match(err.reason, reason, `${name}: ${err.reason}`)
    t.match(err.message, `at byte offset ${offset}`, `${name}: the message names the offset`)
    t.equal(err.code, 'REGISTRY_POL_MALFORMED')
  }
})

t.test('each cut through an entry is refused naming the part the file ends in or before, at its offset', async (t) => {
  // [ K \0 ; V \0 ; type ; size ; data ]: "[" at 0, key at 2, ";" at 6, value at 8, ";" at 12, type at 14, ";" at 18, size at 20, ";" at 24,
  // data at 26, "]" at 30; offsets below count from the start of the entry, after the 8-byte header.
  const entry = raw('K', 'V', 4, u32(1))
  const expected = (cut: number): [number, string] => {
    if (cut < 2) return [0, 'the file ends where "[" (the start of an entry) was expected']
    if (cut < 6) return [cut, 'the file ends inside the key name, before its terminating null']
    if (cut < 8) return [6, 'the file ends where ";" after the key name was expected']
    if (cut < 12) return [cut, 'the file ends inside the value name, before its terminating null']
    if (cut < 14) return [12, 'the file ends where ";" after the value name was expected']
    if (cut < 18) return [14, 'the file ends inside the type']
    if (cut < 20) return [18, 'the file ends where ";" after the type was expected']
    if (cut < 24) return [20, 'the file ends inside the size']
    if (cut < 26) return [24, 'the file ends where ";" after the size was expected']
    if (cut < 30) return [20, `the size says 4 bytes of data, but only ${cut - 26} remain in the file`]
    return [30, 'the file ends where "]" (the end of the entry, after the 4 bytes of data its size says) was expected']
  }
  for (let cut = 1; cut < entry.length; cut++) {
    const err = malformed(Buffer.concat([HEADER, entry.subarray(0, cut)]))
    const [offset, reason] = expected(cut)
    t.same([err.offset - HEADER.length, err.reason], [offset, reason], `cut after ${cut} bytes of the entry`)
  }
  const err = malformed(Buffer.concat([HEADER, raw('K', 'V', 9, u32(1))]))
  t.equal(err.reason, 'type 9 is not a registry type a Registry.pol may hold ' +
    '(REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_MULTI_SZ, REG_QWORD)')
  t.equal(err.name, 'RegistryPolError', 'the error names itself in stack traces and logs')
  t.equal(err.message, `${err.reason} (at byte offset ${HEADER.length + 14})`)
  for (const [type, name] of [[2, 'REG_EXPAND_SZ'], [7, 'REG_MULTI_SZ']] as const) {
    t.equal(malformed(Buffer.concat([HEADER, raw('K', 'V', type, Buffer.from([0x41, 0, 0]))])).reason,
      `a ${name} is UTF-16 text, an even number of bytes, but the size says 3`, `${name}, like REG_SZ, is text`)
  }
  t.same(readRegistryPol(Buffer.concat([HEADER, raw('K', 'V', 3, Buffer.from([0x41, 0, 0]))])),
    [{ key: 'K', value: 'V', type: 'REG_BINARY', data: new Uint8Array([0x41, 0, 0]) }], 'REG_BINARY may hold an odd number of bytes')
})

t.test('the writer says what the format cannot hold, and the value it was given', async (t) => {
  const refused = (entry: PolEntry): string => {
    const err = thrown(() => writeRegistryPol([entry]))
    if (!(err instanceof RangeError)) throw new Error(`expected a RangeError, got ${String(err)}`)
    return err.message
  }
  t.equal(refused({ key: 'K\0', value: 'V', type: 'REG_SZ', data: '' }), 'a key cannot hold a null character: "K\\u0000"')
  t.equal(refused({ key: 'K', value: 'V\0', type: 'REG_SZ', data: '' }), 'a value name cannot hold a null character: "V\\u0000"')
  t.equal(refused({ key: 'K', value: 'V', type: 'REG_DWORD', data: -1 }), 'a REG_DWORD holds an integer from 0 to 4294967295, not -1')
  t.equal(refused({ key: 'K', value: 'V', type: 'REG_DWORD_BIG_ENDIAN', data: 2 ** 32 }),
    'a REG_DWORD_BIG_ENDIAN holds an integer from 0 to 4294967295, not 4294967296')
  t.equal(refused({ key: 'K', value: 'V', type: 'REG_QWORD', data: -1n }), 'a REG_QWORD holds an integer from 0 to 2^64-1, not -1')
  t.equal(refused({ key: 'K', value: 'V', type: 'REG_QWORD', data: 2n ** 64n }), 'a REG_QWORD holds an integer from 0 to 2^64-1, not 18446744073709551616')
  t.equal(refused({ key: 'K', value: 'V', type: 'REG_MULTI_SZ', data: ['a', ''] }), 'a REG_MULTI_SZ cannot hold an empty string or a null character: ""')
})

t.test('every truncation of a real file is refused at or before its end, except at an entry boundary', async (t) => {
  const entries = readRegistryPol(GOLDSTAR)
  // The offsets where entries end: cutting there leaves a shorter, valid file.
  const boundaries = new Map<number, number>([[8, 0]])
  for (let n = 1; n <= entries.length; n++) boundaries.set(writeRegistryPol(entries.slice(0, n)).length, n)
  let refused = 0
  for (let length = 0; length < GOLDSTAR.length; length++) {
    const cut = GOLDSTAR.subarray(0, length)
    const whole = boundaries.get(length)
    if (whole !== undefined) {
      t.same(readRegistryPol(cut), entries.slice(0, whole), `cut at ${length}: the first ${whole} entries`)
      continue
    }
    const err = malformed(cut)
    refused++
    if (err.offset > length) t.fail(`cut at ${length}: offset ${err.offset} is past the end`)
  }
  t.equal(refused, GOLDSTAR.length - (boundaries.size - 1), `${refused} truncations refused with an offset within the file`)
})

const entryArbitrary: fc.Arbitrary<PolEntry> = fc.record({
  key: fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')),
  value: fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'))
}).chain(({ key, value }) => fc.oneof(
  fc.record({ type: fc.constantFrom('REG_SZ' as const, 'REG_EXPAND_SZ' as const), data: fc.string({ unit: 'binary', maxLength: 60 }) }),
  fc.record({
    type: fc.constant('REG_MULTI_SZ' as const),
    data: fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0')), { maxLength: 5 })
  }),
  fc.record({ type: fc.constantFrom('REG_DWORD' as const, 'REG_DWORD_BIG_ENDIAN' as const), data: fc.nat({ max: 0xffffffff }) }),
  fc.record({ type: fc.constant('REG_QWORD' as const), data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ type: fc.constant('REG_BINARY' as const), data: fc.uint8Array({ maxLength: 40 }) })
).map((d) => ({ key, value, ...d }) as PolEntry))

t.test('property: whatever entries are written, reading the file gives the same entries back', async (t) => {
  fc.assert(fc.property(fc.array(entryArbitrary, { maxLength: 12 }), (entries) => {
    assert.deepStrictEqual(readRegistryPol(writeRegistryPol(entries)), entries)
  }), { numRuns: 500 })
  t.pass('500 random lists of entries read back the same')
})

t.test('property: any bytes either read or throw the format error, with an offset inside the file', async (t) => {
  const check = (bytes: Uint8Array): void => {
    try {
      readRegistryPol(bytes)
    } catch (err) {
      if (!(err instanceof RegistryPolError)) throw err
      if (err.offset < 0 || err.offset > bytes.length) throw new Error(`offset ${err.offset} outside 0..${bytes.length}`)
    }
  }
  const flips = (file: Buffer) => fc.array(fc.tuple(fc.nat({ max: file.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
    .map((changes) => { const copy = Buffer.from(file); for (const [i, x] of changes) copy[i]! ^= x; return copy })
  fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((tail) => Buffer.concat([HEADER, tail])),
    fc.array(entryArbitrary, { maxLength: 4 }).chain((entries) => {
      const file = writeRegistryPol(entries)
      return fc.oneof(fc.nat({ max: file.length }).map((n) => file.subarray(0, n)), file.length > 8 ? flips(file) : fc.constant(file))
    }),
    flips(GOLDSTAR),
    flips(DOD)
  ), check), { numRuns: 2000 })
  t.pass('2000 random, truncated and flipped files: nothing but RegistryPolError')
})

/** An entry as Samba's pol-dump.py shows it: text decoded from UTF-16LE without trailing nulls, numbers as numbers. */
const asSambaShows = (e: PolEntry): SambaEntry => {
  const text = (b: Uint8Array): string => new TextDecoder('utf-16le').decode(b).replace(/\0+$/, '')
  let data: string | number
  switch (e.type) {
    case 'REG_SZ': case 'REG_EXPAND_SZ': data = e.data; break
    case 'REG_MULTI_SZ': data = e.data.join('\0'); break
    case 'REG_DWORD': case 'REG_DWORD_BIG_ENDIAN': data = e.data; break
    case 'REG_QWORD': data = Number(e.data); break
    case 'REG_BINARY': data = text(e.data); break
  }
  return { key: e.key, value: e.value, type: REG_TYPES[e.type], data }
}

t.test('interop: Samba\'s parser reads the real files as we do, and the files we write with every type as we wrote them', { skip: noSamba }, async (t) => {
  for (const [name, bytes] of [['DoD', DOD], ['goldstar611', GOLDSTAR]] as const) {
    const file = path.join(t.testdir(), `${name}.pol`)
    writeFileSync(file, bytes)
    t.same(await readWithSamba(file), { entries: readRegistryPol(bytes).map(asSambaShows) }, `${name}: the same entries`)
  }
  // QWORD beyond 2^53 would not survive JSON numbers: within range here, the full width in the byte-level test above.
  const ours = EVERY_TYPE.map((e) => e.type === 'REG_QWORD' ? { ...e, data: 2n ** 52n + 3n } : e)
  const file = path.join(t.testdir(), 'every-type.pol')
  writeFileSync(file, writeRegistryPol(ours))
  t.same(await readWithSamba(file), { entries: ours.map(asSambaShows) }, 'every type: the same entries')
  const broken = path.join(t.testdir(), 'broken.pol')
  writeFileSync(broken, Buffer.concat([HEADER, raw('K', 'V', 4, u32(1)).subarray(0, 20)]))
  t.match(await readWithSamba(broken), { refused: /does not parse/ }, 'a truncated file: Samba refuses it too')
})
