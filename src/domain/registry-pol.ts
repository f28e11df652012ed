/**
 * Group Policy `Registry.pol` files, the PReg format of [MS-GPREG] 2.2.1: the
 * signature `PReg`, version 1 (both little-endian DWORDs), then entries
 * `[key;value;type;size;data]` in which the brackets, the semicolons and the
 * null-terminated key and value names are UTF-16LE, type and size are
 * little-endian DWORDs, and data is `size` raw bytes. Pure functions, no I/O.
 */

/** The registry types a Registry.pol may hold ([MS-GPREG] 2.2.1), by their WinNT.h numbers. */
export const REG_TYPES = {
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_MULTI_SZ: 7,
  REG_QWORD: 11
} as const
export type RegType = keyof typeof REG_TYPES

const TYPE_NAMES = new Map<number, RegType>(Object.entries(REG_TYPES).map(([name, n]) => [n, name as RegType]))

/** A value's type and data, decoded: strings without their terminating null, numbers as numbers. */
export type RegData =
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ', data: string }
  | { type: 'REG_MULTI_SZ', data: string[] }
  | { type: 'REG_DWORD' | 'REG_DWORD_BIG_ENDIAN', data: number }
  | { type: 'REG_QWORD', data: bigint }
  | { type: 'REG_BINARY', data: Uint8Array }

/** One `[key;value;type;size;data]` entry. `value` may be one of GPMC's `**` markers (`**del.fUseMailto`). */
export type PolEntry = { key: string, value: string } & RegData

/** A file this module cannot read, and where: the byte offset from the start of the file. */
export class RegistryPolError extends Error {
  readonly code = 'REGISTRY_POL_MALFORMED'
  constructor (readonly offset: number, readonly reason: string) {
    super(`${reason} (at byte offset ${offset})`)
    this.name = 'RegistryPolError'
  }
}

const SIGNATURE = Buffer.from('PReg')
const VERSION = 1
const HEADER_BYTES = 8
const OPEN = 0x5b // [
const SEMICOLON = 0x3b
const CLOSE = 0x5d // ]
const FIXED_SIZE: Partial<Record<RegType, number>> = { REG_DWORD: 4, REG_DWORD_BIG_ENDIAN: 4, REG_QWORD: 8 }

/**
 * The entries of a Registry.pol file, in file order. Anything that is not
 * exactly this format (another signature or version, a truncated entry, a
 * type outside [MS-GPREG]'s seven, a size that a DWORD or QWORD cannot have,
 * data that does not end where its size says) throws a RegistryPolError with
 * the offset of the fault; nothing else is thrown, whatever the bytes.
 */
export function readRegistryPol (file: Uint8Array): PolEntry[] {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength)
  const fail = (offset: number, reason: string): never => { throw new RegistryPolError(offset, reason) }
  if (bytes.length === 0) fail(0, 'the file is empty')
  const signature = bytes.subarray(0, SIGNATURE.length)
  if (!signature.equals(SIGNATURE.subarray(0, signature.length))) fail(0, 'not a Registry.pol file: it does not start with the signature "PReg"')
  if (bytes.length < HEADER_BYTES) fail(bytes.length, 'the file ends inside its header')
  const version = bytes.readUInt32LE(4)
  if (version !== VERSION) fail(4, `PReg version ${version} is not supported (only version ${VERSION} exists)`)

  const char = (pos: number, code: number, what: string): void => {
    if (pos + 2 > bytes.length) fail(pos, `the file ends where ${what} was expected`)
    if (bytes.readUInt16LE(pos) !== code) fail(pos, `${what} was expected here`)
  }
  const name = (pos: number, what: string): { text: string, end: number } => {
    // Stryker disable next-line ArithmeticOperator: past its end a Buffer reads undefined, never a null, so a looser bound finds the same terminator
    for (let at = pos; at + 2 <= bytes.length; at += 2) {
      if (bytes[at] === 0 && bytes[at + 1] === 0) return { text: bytes.toString('utf16le', pos, at), end: at + 2 }
    }
    return fail(bytes.length, `the file ends inside the ${what}, before its terminating null`)
  }
  const dword = (pos: number, what: string): number => {
    if (pos + 4 > bytes.length) fail(pos, `the file ends inside the ${what}`)
    return bytes.readUInt32LE(pos)
  }

  const entries: PolEntry[] = []
  let pos = HEADER_BYTES
  while (pos < bytes.length) {
    char(pos, OPEN, '"[" (the start of an entry)')
    const key = name(pos + 2, 'key name')
    char(key.end, SEMICOLON, '";" after the key name')
    const value = name(key.end + 2, 'value name')
    char(value.end, SEMICOLON, '";" after the value name')
    const typeAt = value.end + 2
    const typeNumber = dword(typeAt, 'type')
    const type = TYPE_NAMES.get(typeNumber) ??
      fail(typeAt, `type ${typeNumber} is not a registry type a Registry.pol may hold (${Object.keys(REG_TYPES).join(', ')})`)
    char(typeAt + 4, SEMICOLON, '";" after the type')
    const sizeAt = typeAt + 6
    const size = dword(sizeAt, 'size')
    char(sizeAt + 4, SEMICOLON, '";" after the size')
    const fixed = FIXED_SIZE[type]
    if (fixed !== undefined && size !== fixed) fail(sizeAt, `a ${type} holds ${fixed} bytes, but the size says ${size}`)
    if (isText(type) && size % 2 !== 0) fail(sizeAt, `a ${type} is UTF-16 text, an even number of bytes, but the size says ${size}`)
    const dataAt = sizeAt + 6
    if (size > bytes.length - dataAt) fail(sizeAt, `the size says ${size} bytes of data, but only ${bytes.length - dataAt} remain in the file`)
    const dataEnd = dataAt + size
    char(dataEnd, CLOSE, `"]" (the end of the entry, after the ${size} bytes of data its size says)`)
    entries.push({ key: key.text, value: value.text, ...decode(type, bytes.subarray(dataAt, dataEnd)) })
    pos = dataEnd + 2
  }
  return entries
}

const isText = (type: RegType): boolean => type === 'REG_SZ' || type === 'REG_EXPAND_SZ' || type === 'REG_MULTI_SZ'

function decode (type: RegType, data: Buffer): RegData {
  switch (type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { type, data: withoutFinalNull(data.toString('utf16le')) }
    case 'REG_MULTI_SZ': {
      // Strings each ending in a null, then an empty one; as Windows does, the list ends at the first empty string.
      const strings = data.toString('utf16le').split('\u0000')
      const end = strings.indexOf('')
      return { type, data: end === -1 ? strings : strings.slice(0, end) }
    }
    case 'REG_DWORD':
      return { type, data: data.readUInt32LE(0) }
    case 'REG_DWORD_BIG_ENDIAN':
      return { type, data: data.readUInt32BE(0) }
    case 'REG_QWORD':
      return { type, data: data.readBigUInt64LE(0) }
    case 'REG_BINARY':
      return { type, data: new Uint8Array(data) }
  }
}

const withoutFinalNull = (s: string): string => s.endsWith('\u0000') ? s.slice(0, -1) : s

/**
 * A Registry.pol file holding `entries` in their order, as GPMC writes one:
 * names and strings null-terminated, a REG_MULTI_SZ ending in an empty string.
 * Throws a RangeError for what the format cannot hold (a null inside a name, a
 * number out of range, an empty or null-bearing string in a REG_MULTI_SZ).
 */
export function writeRegistryPol (entries: readonly PolEntry[]): Buffer {
  const header = Buffer.alloc(HEADER_BYTES)
  SIGNATURE.copy(header)
  header.writeUInt32LE(VERSION, 4)
  const parts: Buffer[] = [header]
  const text = (s: string): Buffer => Buffer.from(s, 'utf16le')
  const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b }
  for (const entry of entries) {
    for (const [what, s] of [['key', entry.key], ['value name', entry.value]] as const) {
      if (s.includes('\u0000')) throw new RangeError(`a ${what} cannot hold a null character: ${JSON.stringify(s)}`)
    }
    const data = encode(entry)
    parts.push(text(`[${entry.key}\u0000;${entry.value}\u0000;`), u32(REG_TYPES[entry.type]), text(';'), u32(data.length), text(';'), data, text(']'))
  }
  return Buffer.concat(parts)
}

function encode (entry: RegData): Buffer {
  const dword = (n: number, bigEndian: boolean): Buffer => {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`a ${entry.type} holds an integer from 0 to 4294967295, not ${n}`)
    const b = Buffer.alloc(4)
    if (bigEndian) b.writeUInt32BE(n)
    else b.writeUInt32LE(n)
    return b
  }
  switch (entry.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return Buffer.from(`${entry.data}\u0000`, 'utf16le')
    case 'REG_MULTI_SZ':
      for (const s of entry.data) {
        if (s === '' || s.includes('\u0000')) throw new RangeError(`a REG_MULTI_SZ cannot hold an empty string or a null character: ${JSON.stringify(s)}`)
      }
      return Buffer.from(`${entry.data.map((s) => `${s}\u0000`).join('')}\u0000`, 'utf16le')
    case 'REG_DWORD':
      return dword(entry.data, false)
    case 'REG_DWORD_BIG_ENDIAN':
      return dword(entry.data, true)
    case 'REG_QWORD': {
      if (entry.data < 0n || entry.data > 0xffffffffffffffffn) throw new RangeError(`a REG_QWORD holds an integer from 0 to 2^64-1, not ${entry.data}`)
      const b = Buffer.alloc(8)
      b.writeBigUInt64LE(entry.data)
      return b
    }
    case 'REG_BINARY':
      return Buffer.from(entry.data)
  }
}
