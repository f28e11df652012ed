import { createCipheriv, createDecipheriv, createHash, randomInt } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/**
 * The Remote Assistance invitation file (`RAInvitation.msrcincident`), in the
 * [MS-RAI] layout, as Windows Vista, 7 and 10 write it: 8-bit text, the XML
 * declaration, then one line
 *
 *   <UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME=… LHTICKET=… RCTICKET=… PassStub=…
 *     RCTICKETENCRYPTED=… DtStart=… DtLength=… L="0"/></UPLOADINFO>
 *
 * `DtStart` is seconds since 1970 UTC, `DtLength` minutes. `RCTICKET` is
 * Connection String 1: `65538,1,<host:port;…>,*,<RA session id>,*,*,<parms>`.
 * `LHTICKET` (Vista and later) is Connection String 2, UTF-16LE, encrypted
 * with AES-128-CBC (zero IV) under a key derived from the invitation's
 * password, in hex; `RCTICKETENCRYPTED` says 1 only when it is there.
 * Readers (FreeRDP's among them) read the file as 8-bit text: a UTF-16 file
 * stops them at its first zero byte. XP wrote UTF-16 with
 * `encoding="Unicode"`: those are still read.
 */

export const INVITATION_FILE_NAME = 'RAInvitation.msrcincident'

export interface RcTicket {
  /** The first two fields: protocol version `65538` and `1`. */
  version: string
  /** `host:port`, possibly several separated by `;`. */
  addresses: string
  id: string
  parms: string
}

export interface InvitationFile {
  username: string
  rcTicket: RcTicket
  encrypted: boolean
  /** Seconds since 1970 UTC. */
  dtStart: number
  /** Minutes. */
  dtLength: number
  passStub: string
  /** Vista and later files may carry an `LHTICKET` too. */
  lhTicket?: string
}

export function formatRcTicket (t: RcTicket): string {
  for (const [name, value] of Object.entries(t)) {
    if (value.includes(',')) throw new Error(`RCTICKET ${name} cannot contain a comma`)
  }
  return `${t.version},1,${t.addresses},*,${t.id},*,*,${t.parms}`
}

export function parseRcTicket (s: string): RcTicket {
  const f = s.split(',')
  if (f.length !== 8 || f[1] !== '1') throw new Error('RCTICKET does not have the 65538,1,<address>,*,<id>,*,*,<parms> layout')
  return { version: f[0]!, addresses: f[2]!, id: f[4]!, parms: f[7]! }
}

const escapeAttribute = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')

const unescapeAttribute = (s: string): string =>
  s.replace(/&(lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+)|amp);/gi, (_m, name: string, dec?: string, hex?: string) =>
    dec
      ? String.fromCodePoint(Number(dec))
      : hex
        ? String.fromCodePoint(parseInt(hex, 16))
        : ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[name.toLowerCase()]!)

/** The file's text, as Windows Vista and later lay it out: the declaration, then one line. */
export function invitationFileXml (file: InvitationFile): string {
  const attributes: Array<[string, string]> = [
    ['USERNAME', file.username],
    ...(file.lhTicket !== undefined ? [['LHTICKET', file.lhTicket] as [string, string]] : []),
    ['RCTICKET', formatRcTicket(file.rcTicket)],
    ['PassStub', file.passStub],
    ['RCTICKETENCRYPTED', file.encrypted ? '1' : '0'],
    ['DtStart', String(Math.trunc(file.dtStart))],
    ['DtLength', String(Math.trunc(file.dtLength))],
    ['L', '0']
  ]
  return '<?xml version="1.0"?>\n<UPLOADINFO TYPE="Escalated"><UPLOADDATA ' +
    attributes.map(([k, v]) => `${k}="${escapeAttribute(v)}"`).join(' ') + '/></UPLOADINFO>\n'
}

/**
 * The file's bytes: 8-bit, no byte-order mark. Every value is ASCII (names may not be: UTF-8 then, which
 * 8-bit readers pass through).
 */
export function writeInvitationFile (file: InvitationFile): Buffer {
  return Buffer.from(invitationFileXml(file))
}

/** Reads an invitation file (UTF-16 with BOM, or UTF-8 as some copies are stored). Throws on anything else. */
export function readInvitationFile (bytes: Buffer | string): InvitationFile {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a string's toString ignores the encoding, and its characters are never the marks' bytes
  const text = typeof bytes === 'string' ? bytes : decodeFile(bytes)
  if (!/<UPLOADINFO\b[^>]*\bTYPE="Escalated"/.test(text)) throw new Error('not a Remote Assistance invitation file (no <UPLOADINFO TYPE="Escalated">)')
  const data = /<UPLOADDATA\b([^>]*?)\/?>/s.exec(text)
  if (!data) throw new Error('no <UPLOADDATA> element')
  const attributes = new Map<string, string>()
  for (const m of data[1]!.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g)) attributes.set(m[1]!.toUpperCase(), unescapeAttribute(m[2]!))
  const need = (name: string): string => {
    const v = attributes.get(name)
    if (v === undefined) throw new Error(`the invitation file has no ${name}`)
    return v
  }
  const number = (name: string): number => {
    const v = need(name)
    if (!/^\d+$/.test(v)) throw new Error(`${name} is not a whole number`)
    return Number(v)
  }
  const lhTicket = attributes.get('LHTICKET')
  return {
    username: need('USERNAME'),
    rcTicket: parseRcTicket(need('RCTICKET')),
    encrypted: need('RCTICKETENCRYPTED') === '1',
    dtStart: number('DTSTART'),
    dtLength: number('DTLENGTH'),
    passStub: attributes.get('PASSSTUB') ?? '',
    ...(lhTicket !== undefined ? { lhTicket } : {})
  }
}

/** A file's text: UTF-16 after its mark, in either byte order, or else UTF-8 without its mark if it has one. */
function decodeFile (bytes: Buffer): string {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: bytes 0xFE and 0xFF never occur in UTF-8, so no text is lost by testing one
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le')
  // Stryker disable next-line ConditionalExpression,LogicalOperator: bytes 0xFE and 0xFF never occur in UTF-8, so no text is lost by testing one
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le')
  // Stryker disable next-line StringLiteral: text before <UPLOADINFO> is not read, so what stands in for the mark does not matter
  return bytes.toString('utf8').replace(/^\uFEFF/, '')
}

/** One way to reach the novice computer, as its agent reports it. */
export interface NoviceAddress {
  /** IPv4, IPv6 (without brackets, maybe with a `%zone`), or a host name. */
  host: string
  port: number
}

/** What the novice computer's agent reports about how it can be reached ([MS-RAI] Connection Strings 1 and 2). */
export interface NoviceConnection {
  addresses: NoviceAddress[]
  /** The Remote Assistance session id it advertises (`RASessionID`; `<A ID=…>`). */
  sessionId: string
  /** Vista and later: the hash of its key (`<A KH=…>`). */
  keyHash?: string | undefined
}

/** DNS names, and NetBIOS computer names (which may hold `_`, as in [MS-RAI]'s `jeff_xp`). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/
const ZONE = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * Reads `host:port` (IPv6 as `[address]:port`, with an optional `%zone`): the address, or why not. Host names
 * are DNS or NetBIOS names; ports 1–65535.
 */
export function parseNoviceAddress (text: string): NoviceAddress | { error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (!m) return { error: `"${text}" is not host:port (an IPv6 address goes in brackets: [fe80::1]:3389)` }
  const port = Number(m[3])
  if (port < 1 || port > 65535) return { error: `"${text}": the port must be 1–65535` }
  if (m[1] !== undefined) {
    const [address, zone, ...rest] = m[1].split('%')
    // Stryker disable next-line ConditionalExpression: ZONE.test(undefined) tests the text "undefined", a valid zone, so the guard only narrows the type
    if (!isIPv6(address!) || rest.length > 0 || (zone !== undefined && !ZONE.test(zone))) return { error: `"${text}": not an IPv6 address` }
    return { host: m[1], port }
  }
  const host = m[2]!
  if (/^[\d.]+$/.test(host) ? !isIPv4(host) : !HOST_NAME.test(host)) return { error: `"${text}": not an IPv4 address or a host name` }
  return { host, port }
}

/**
 * Connection String 1's address list: `host:port` joined by `;`. IPv6 addresses are left out, as Windows does
 * (their colons cannot be told from the port's); they travel in Connection String 2.
 */
export function rcTicketAddresses (addresses: NoviceAddress[]): string {
  return addresses.filter((a) => !isIPv6(a.host.split('%')[0]!)).map((a) => `${a.host}:${a.port}`).join(';')
}

/** Connection String 2 ([MS-RAI] 2.2.2), the plain text of an `LHTICKET`. */
export function connectionString2 (c: NoviceConnection): string {
  const attr = (s: string): string => escapeAttribute(s)
  const listeners = c.addresses.map((a) => `<L P="${a.port}" N="${attr(a.host)}"/>`).join('')
  return `<E><A KH="${attr(c.keyHash ?? '')}" ID="${attr(c.sessionId)}"/><C><T ID="1" SID="0">${listeners}</T></C></E>`
}

/**
 * The key [MS-RAI] derives from an invitation password for the `LHTICKET`: SHA-1 of the UTF-16LE password,
 * expanded as CryptDeriveKey does for AES (the hash XORed into a 64-byte block of 0x36, hashed again), first 16 bytes.
 */
export function lhTicketKey (password: string): Buffer {
  const hash = createHash('sha1').update(Buffer.from(password, 'utf16le')).digest()
  const block = Buffer.alloc(64, 0x36)
  // Stryker disable next-line EqualityOperator: one step further XORs with undefined, which leaves the byte as it is
  for (let i = 0; i < hash.length; i++) block[i]! ^= hash[i]!
  return createHash('sha1').update(block).digest().subarray(0, 16)
}

/** An `LHTICKET`: Connection String 2 as UTF-16LE with CRLF, AES-128-CBC with a zero IV (PKCS#7 padding), in upper-case hex. */
export function encryptLhTicket (plain: string, password: string): string {
  const cipher = createCipheriv('aes-128-cbc', lhTicketKey(password), Buffer.alloc(16))
  return Buffer.concat([cipher.update(Buffer.from(plain + '\r\n', 'utf16le')), cipher.final()]).toString('hex').toUpperCase()
}

/** Connection String 2 from an `LHTICKET`, or null when the password is wrong (the padding does not check out, or no `<E>`). */
export function decryptLhTicket (hex: string, password: string): string | null {
  try {
    const decipher = createDecipheriv('aes-128-cbc', lhTicketKey(password), Buffer.alloc(16))
    const plain = Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]).toString('utf16le').replace(/\r\n$/, '')
    return /^<E>.*<\/E>$/s.test(plain) ? plain : null
  } catch {
    return null
  }
}

/** Characters of a PassStub: those Windows uses, less the ones XML would have to escape. */
const PASS_STUB_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*_#$^=!@()-+'

/** A PassStub as Windows makes one: 14 random characters, generated per invitation. */
export function generatePassStub (): string {
  let stub = ''
  for (let i = 0; i < 14; i++) stub += PASS_STUB_ALPHABET[randomInt(PASS_STUB_ALPHABET.length)]
  return stub
}
