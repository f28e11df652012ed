import type { Firewall } from './computer.js'
import { parsePortException, parseProgramException, type FirewallProfile } from './firewall.js'
import { PLATFORMS, type Platform } from './platforms.js'
import type { Check } from './decisions.js'

/** The exact entries of the seeds (SPEC.md F1–F4), and their Vista-and-later counterparts. */
export const ENTRIES = {
  helpctr: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpctr.exe:*:Enabled:Remote Assistance – Windows Messenger and Voice',
  sessmgr: '%WINDIR%\\SYSTEM32\\Sessmgr.exe:*:Enabled:Remote Assistance',
  helpsvc: '%WINDIR%\\PCHealth\\HelpCtr\\Binaries\\Helpsvc.exe:*:Enabled:Offer Remote Assistance',
  port135: '135:TCP:*:Enabled:Offer Remote Assistance',
  msra: '%WINDIR%\\SYSTEM32\\msra.exe:*:Enabled:Remote Assistance',
  raserver: '%WINDIR%\\SYSTEM32\\raserver.exe:*:Enabled:Offer Remote Assistance'
} as const

const PROFILE_LABEL: Record<FirewallProfile, string> = {
  domain: 'Domain Profile',
  standard: 'Standard Profile',
  private: 'Private Profile',
  public: 'Public Profile'
}

/** The firewall profiles a platform has: XP SP2/2003 Domain and Standard; Vista and later Domain, Private, Public. */
export function profilesOf (platform: Platform | null): FirewallProfile[] {
  if (platform === null) return []
  return PLATFORMS[platform].family === 'xp-2003' ? ['domain', 'standard'] : ['domain', 'private', 'public']
}

// Stryker disable next-line MethodExpression: folding to lower case instead compares the same paths equal
const normalizeProgram = (p: string): string => p.replace(/\//g, '\\').toUpperCase()

/** Whether a profile holds an enabled exception equivalent to `entry` (program path or port/protocol; scope and name free). */
export function hasException (firewall: Firewall, profile: FirewallProfile, entry: string): boolean {
  const settings = firewall[profile]
  if (!settings) return false
  const port = parsePortException(entry)
  if (port) {
    // Stryker disable next-line ArrayDeclaration: an entry that does not parse matches nothing, so any stand-in list of them is as empty
    return (settings.portExceptions ?? []).some((e) => {
      const p = parsePortException(e)
      return p !== null && p.enabled && p.port === port.port && p.protocol === port.protocol
    })
  }
  const wanted = parseProgramException(entry)!
  // Stryker disable next-line ArrayDeclaration: an entry that does not parse matches nothing, so any stand-in list of them is as empty
  return (settings.programExceptions ?? []).some((e) => {
    const p = parseProgramException(e)
    return p !== null && p.enabled && normalizeProgram(p.program) === normalizeProgram(wanted.program)
  })
}

/**
 * One check per required entry per profile: passed when present (or the
 * firewall is off in that profile), otherwise the exact entry to add as the
 * remedy, naming the profile.
 */
export function firewallChecks (rule: string, firewall: Firewall, platform: Platform | null, entries: string[], what: string): Check[] {
  const profiles = profilesOf(platform)
  if (profiles.length === 0) {
    return [{
      rule,
      passed: false,
      detail: `the platform is unknown, so the firewall profiles for ${what} cannot be checked`,
      remedy: 'Record the computer\'s platform'
    }]
  }
  const checks: Check[] = []
  for (const profile of profiles) {
    const settings = firewall[profile]
    if (settings?.enabled === false) {
      checks.push({ rule, passed: true, detail: `Windows Firewall is off in the ${PROFILE_LABEL[profile]}: nothing to open for ${what}` })
      continue
    }
    for (const entry of entries) {
      const kind = parsePortException(entry) ? 'port exception' : 'program exception'
      checks.push(hasException(firewall, profile, entry)
        ? { rule, passed: true, detail: `${PROFILE_LABEL[profile]} has the ${kind} ${entry}` }
        : {
            rule,
            passed: false,
            detail: settings ? `${PROFILE_LABEL[profile]} lacks the ${kind} for ${what}` : `the ${PROFILE_LABEL[profile]} is not described for this computer`,
            remedy: `In Windows Firewall: ${PROFILE_LABEL[profile]}, add to "Define ${kind}s": ${entry}`
          })
    }
  }
  return checks
}

/** F4 (and its Vista-and-later form): what Offer Remote Assistance needs opened, per profile. */
export function offerFirewallChecks (firewall: Firewall, platform: Platform | null): Check[] {
  const vista = platform !== null && PLATFORMS[platform].family === 'vista-or-later'
  const entries = vista ? [ENTRIES.port135, ENTRIES.msra, ENTRIES.raserver] : [ENTRIES.port135, ENTRIES.sessmgr, ENTRIES.helpsvc, ENTRIES.helpctr]
  return firewallChecks('F4', firewall, platform, entries, 'Offer Remote Assistance')
}

/**
 * Readiness of a computer (SPEC.md F1–F4, O8): DCOM and every firewall
 * prerequisite for its platform, each with the exact entry to add.
 */
export function readinessChecks (c: { platform: Platform | null, dcomEnabled: 'Y' | 'N' | null, firewall: Firewall }): { checks: Check[], warnings: string[] } {
  const checks: Check[] = [dcomCheck(c.dcomEnabled)]
  const warnings: string[] = []
  const p = c.platform
  if (p !== null && PLATFORMS[p].family === 'xp-2003') {
    checks.push(...firewallChecks('F1', c.firewall, p, [ENTRIES.helpctr], 'Solicited Remote Assistance'))
  }
  if (p === 'server-2003-sp1') {
    for (const profile of profilesOf(p)) {
      const on = c.firewall[profile]?.allowRemoteDesktopException === true || c.firewall[profile]?.enabled === false
      checks.push(on
        ? {
            rule: 'F2',
            passed: true,
            detail: `${PROFILE_LABEL[profile]}: Allow Remote Desktop Exception is enabled (the Sessmgr.exe exception does not work on Server 2003 SP1)`
          }
        : {
            rule: 'F2',
            passed: false,
            detail: `${PROFILE_LABEL[profile]}: on Windows Server 2003 SP1 the Sessmgr.exe exception does not work; ` +
              'Remote Assistance needs the Remote Desktop exception',
            remedy: `Enable "Windows Firewall: Allow Remote Desktop Exception" in the ${PROFILE_LABEL[profile]}`
          })
    }
  }
  if (p === 'xp-pro-sp2' || p === 'xp-x64-sp1') {
    checks.push(...firewallChecks('F3', c.firewall, p, [ENTRIES.sessmgr], 'Remote Assistance'))
    for (const profile of profilesOf(p)) {
      if (c.firewall[profile]?.allowRemoteDesktopException === true) {
        warnings.push(`F3: ${PROFILE_LABEL[profile]}: the Remote Desktop exception works, but keeps port 3389 open all the time; ` +
          'the Sessmgr.exe exception opens it only while needed')
      }
    }
  }
  checks.push(...offerFirewallChecks(c.firewall, p))
  return { checks, warnings }
}

export function dcomCheck (dcom: 'Y' | 'N' | null): Check {
  return dcom === 'Y'
    ? { rule: 'O8', passed: true, detail: 'EnableDCOM is Y' }
    : {
        rule: 'O8',
        passed: false,
        detail: `EnableDCOM is ${dcom === null ? 'missing' : 'N'}: Remote Assistance uses DCOM and will not work`,
        remedy: 'Set the string value EnableDCOM = Y under HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole'
      }
}
