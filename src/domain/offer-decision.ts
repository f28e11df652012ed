import type { Firewall } from './computer.js'
import { offerInForceDecision, type Check, type Decision } from './decisions.js'
import { nameKey } from './names.js'
import { PLATFORMS, type Platform } from './platforms.js'
import { dcomCheck, offerFirewallChecks } from './readiness.js'
import { describeSource, type ResultantPolicy } from './resultant-policy.js'

export interface OfferFacts {
  computer: {
    name: string
    domain: string
    platform: Platform | null
    dcomEnabled: 'Y' | 'N' | null
    firewall: Firewall
    localAdministrators: string[]
    offerRaHelpers: string[]
  }
  /** The computer's domain and the domains it trusts (O4: trust is directed). */
  trustedDomains: string[]
  /** Null when the directory has no such user. */
  expert: { name: string, domain: string, enabled: boolean, groups: string[] } | null
  expertName: string
  /** The expert's own computer, when named (O6 checks both). */
  expertComputer?: { name: string, platform: Platform | null } | null
  policy: ResultantPolicy
}

const has = (list: string[], names: string[]): string | undefined => {
  const keys = new Set(list.map(nameKey))
  return names.find((n) => keys.has(nameKey(n)))
}

/** The names a list may hold the expert by: their own, and every group they belong to (nested). */
const identitiesOf = (e: NonNullable<OfferFacts['expert']>): string[] => [e.name, ...e.groups]

/**
 * May this expert offer help to this computer (SPEC.md O1–O8, S7, F4)? Every
 * check is made — a refusal lists all that failed, each with a remedy — and
 * the permission in force (O3) caps the session.
 */
export function offerDecision (f: OfferFacts): Decision & { permission: 'view' | 'control' | null } {
  const c = f.computer
  const inForce = offerInForceDecision(f.policy, { name: c.name, platform: c.platform })
  const checks: Check[] = [...inForce.checks]
  const e = f.expert

  // O2 and O3 belong to the Offer setting: without it enabled (O1 fails) there is no list
  // and no permission to check.
  const offerOn = f.policy.offerRemoteAssistance.value === 'enabled'
  // O2: the helpers list, directly or through nested groups.
  if (!e) {
    checks.push({ rule: 'O2', passed: false, detail: `${f.expertName} is not a user in the directory`, remedy: 'Offer help as a directory user' })
  } else if (!e.enabled) {
    checks.push({ rule: 'O2', passed: false, detail: `${e.name} is disabled`, remedy: `Enable ${e.name} in the directory` })
  } else if (offerOn) {
    const listed = has(f.policy.offerHelpers.value, identitiesOf(e))
    checks.push(listed
      ? {
          rule: 'O2',
          passed: true,
          detail: nameKey(listed) === nameKey(e.name) ? `${e.name} is in the helpers list` : `${e.name} is in the helpers list through ${listed}`
        }
      : {
          rule: 'O2',
          passed: false,
          detail: `neither ${e.name} nor any group it belongs to is in the helpers list (${describeSource(f.policy.offerHelpers.source)})`,
          remedy: `Add ${e.name}, or a domain group it belongs to, to the helpers of Configure Offer Remote Assistance`
        })
  }

  // O3: one permission for the whole list.
  const permission = f.policy.offerPermission.value
  if (permission) {
    checks.push({
      rule: 'O3',
      passed: true,
      detail: permission === 'control'
        ? 'helpers may view and control the computer (one permission for the whole list)'
        : 'helpers may only view the computer (one permission for the whole list)'
    })
  }

  // O4: same domain, or the computer's domain trusts the expert's.
  if (e) {
    const trusted = nameKey(e.domain) === nameKey(c.domain) || f.trustedDomains.some((d) => nameKey(d) === nameKey(e.domain))
    checks.push(trusted
      ? {
          rule: 'O4',
          passed: true,
          detail: nameKey(e.domain) === nameKey(c.domain) ? `expert and computer are both in ${c.domain}` : `${c.domain} trusts ${e.domain}`
        }
      : {
          rule: 'O4',
          passed: false,
          detail: `${c.domain} does not trust ${e.domain} (trust is directed: ${e.domain} trusting ${c.domain} is not enough)`,
          remedy: `Make ${c.domain} trust ${e.domain}`
        })
  }

  // O5: local Administrators (XP/2003) or Offer Remote Assistance Helpers (Vista and later).
  const family = c.platform ? PLATFORMS[c.platform].family : null
  if (e && family === null) {
    checks.push({
      rule: 'O5',
      passed: false,
      detail: `the platform of ${c.name} is unknown, so its local group cannot be checked`,
      remedy: `Record the platform of ${c.name}`
    })
  } else if (e) {
    const [group, members] = family === 'vista-or-later'
      ? ['Offer Remote Assistance Helpers', c.offerRaHelpers] as const
      : ['Administrators', c.localAdministrators] as const
    const member = has(members, identitiesOf(e))
    checks.push(member
      ? {
          rule: 'O5',
          passed: true,
          detail: `${e.name} is in the local ${group} group of ${c.name}${nameKey(member) === nameKey(e.name) ? '' : ` through ${member}`}`
        }
      : {
          rule: 'O5',
          passed: false,
          detail: `${e.name} is not in the local ${group} group of ${c.name}`,
          remedy: `Add ${e.name} (or a domain group it belongs to) to the local ${group} group of ${c.name}`
        })
  }

  // O6: both platforms known and eligible; never XP Home.
  for (const [who, computer] of [['the novice\'s computer', { name: c.name, platform: c.platform }], ['the expert\'s computer', f.expertComputer]] as const) {
    if (computer === undefined) continue
    if (computer === null) {
      checks.push({ rule: 'O6', passed: false, detail: `${who} is not in the directory`, remedy: 'Name a computer the directory knows' })
      continue
    }
    const p = computer.platform
    checks.push(p === null
      ? { rule: 'O6', passed: false, detail: `the platform of ${who} ${computer.name} is unknown`, remedy: `Record the platform of ${computer.name}` }
      : p === 'xp-home'
        ? {
            rule: 'O6',
            passed: false,
            detail: `${computer.name} runs Windows XP Home Edition, where Offer Remote Assistance is not available`,
            remedy: 'Use Windows XP Professional or later'
          }
        : { rule: 'O6', passed: true, detail: `${computer.name} runs ${PLATFORMS[p].label}` })
  }

  checks.push(dcomCheck(c.dcomEnabled))
  checks.push(...offerFirewallChecks(c.firewall, c.platform))
  const allowed = checks.every((check) => check.passed)
  return { allowed, checks, permission: allowed ? permission : null }
}
