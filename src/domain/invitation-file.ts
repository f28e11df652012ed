/**
 * The Remote Assistance invitation file (`RAInvitation.msrcincident`), in the
 * [MS-RAI] layout:
 *
 *   <UPLOADINFO TYPE="Escalated"><UPLOADDATA USERNAME=… RCTICKET=… RCTICKETENCRYPTED=…
 *     DtStart=… DtLength=… PassStub=… L="0"/></UPLOADINFO>
 *
 * `DtStart` is seconds since 1970 UTC, `DtLength` minutes, `RCTICKETENCRYPTED`
 * 1 when a password is required. `RCTICKET` keeps the connection-string layout
 * `65538,1,<host:port>,*,<id>,*,*,<parms>`; here the service's address, the
 * invitation id, and the signed ticket. Windows writes the file as UTF-16 with
 * `encoding="Unicode"`; so does this module, and it reads UTF-16 and UTF-8 alike.
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

/** The file's text, as Windows lays it out. */
export function invitationFileXml (file: InvitationFile): string {
  const attributes: Array<[string, string]> = [
    ['USERNAME', file.username],
    ['RCTICKET', formatRcTicket(file.rcTicket)],
    ['RCTICKETENCRYPTED', file.encrypted ? '1' : '0'],
    ['DtStart', String(Math.trunc(file.dtStart))],
    ['DtLength', String(Math.trunc(file.dtLength))],
    ['PassStub', file.passStub],
    ...(file.lhTicket !== undefined ? [['LHTICKET', file.lhTicket] as [string, string]] : []),
    ['L', '0']
  ]
  return '<?xml version="1.0" encoding="Unicode" ?>\r\n<UPLOADINFO TYPE="Escalated">\r\n    <UPLOADDATA\r\n' +
    attributes.map(([k, v]) => `        ${k}="${escapeAttribute(v)}"`).join('\r\n') + ' />\r\n</UPLOADINFO>\r\n'
}

/** The file's bytes: UTF-16LE with a byte-order mark, matching `encoding="Unicode"`. */
export function writeInvitationFile (file: InvitationFile): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(invitationFileXml(file), 'utf16le')])
}

/** Reads an invitation file (UTF-16 with BOM, or UTF-8 as some copies are stored). Throws on anything else. */
export function readInvitationFile (bytes: Buffer | string): InvitationFile {
  let text: string
  if (typeof bytes === 'string') text = bytes
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) text = bytes.subarray(2).toString('utf16le')
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = Buffer.from(bytes.subarray(2)).swap16().toString('utf16le')
  else text = bytes.toString('utf8').replace(/^\uFEFF/, '')
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
