/**
 * Windows Firewall exception entries, in the string form Group Policy uses
 * (and the seeds quote):
 *   program: `%WINDIR%\PCHealth\HelpCtr\Binaries\Helpctr.exe:*:Enabled:Remote Assistance`
 *   port:    `135:TCP:*:Enabled:Offer Remote Assistance`
 * Fields are separated by colons and may carry spaces around them (the seed's
 * `Sessmgr.exe:*: Enabled: Remote Assistance`). A program path may itself hold
 * a colon (`C:\…`), so programs are split from the right.
 */

export interface ProgramException {
  program: string
  scope: string
  enabled: boolean
  name: string
}

export interface PortException {
  port: number
  protocol: 'TCP' | 'UDP'
  scope: string
  enabled: boolean
  name: string
}

const STATUS = /^(enabled|disabled)$/i

export function parseProgramException (entry: string): ProgramException | null {
  const parts = entry.split(':')
  if (parts.length < 4) return null
  const name = parts.pop()!.trim()
  const status = parts.pop()!.trim()
  const scope = parts.pop()!.trim()
  const program = parts.join(':').trim()
  if (!program || !scope || !STATUS.test(status)) return null
  return { program, scope, enabled: status.toLowerCase() === 'enabled', name }
}

export function parsePortException (entry: string): PortException | null {
  const parts = entry.split(':').map((p) => p.trim())
  if (parts.length < 5) return null
  const [port, protocol, scope, status, ...rest] = parts as [string, string, string, string, ...string[]]
  const number = /^\d{1,5}$/.test(port) ? Number(port) : NaN
  const proto = protocol.toUpperCase()
  if (!(number >= 1 && number <= 65535) || (proto !== 'TCP' && proto !== 'UDP') || !scope || !STATUS.test(status)) return null
  return { port: number, protocol: proto, scope, enabled: status.toLowerCase() === 'enabled', name: rest.join(':') }
}

/** The firewall profiles a computer's configuration may describe (XP SP2: domain, standard; Vista and later: domain, private, public). */
export const FIREWALL_PROFILES = ['domain', 'standard', 'private', 'public'] as const
export type FirewallProfile = (typeof FIREWALL_PROFILES)[number]
