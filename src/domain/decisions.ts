import type { Platform } from './platforms.js'
import { describeTicketTime, ticketTimeMinutes, type ControlPermission } from './policy.js'
import { describeSource, type PolicySource, type ResultantPolicy } from './resultant-policy.js'

/** One rule's verdict, named by its SPEC.md id. */
export interface Check {
  rule: string
  passed: boolean
  detail: string
  remedy?: string
}

export interface Decision {
  allowed: boolean
  checks: Check[]
}

const decided = <T extends object>(checks: Check[], extra: T): Decision & T => ({ allowed: checks.every((c) => c.passed), checks, ...extra })

const where = (s: PolicySource): string => describeSource(s)

/** How a policy source can be changed, for remedies. */
function remedyFor (source: PolicySource, change: string): string {
  switch (source.type) {
    case 'domain-policy': return `${change} in policy "${source.policyName}" (linked to ${source.domain}), or unlink it`
    case 'local-policy': return `${change} in the Local Computer Policy of ${source.computer}`
    case 'control-panel': return `${change} in the Control Panel of ${source.computer} (System → Remote), or configure it by policy`
    default: return `${change} by policy`
  }
}

/** Whether Solicited RA is on, as a check: S5 when policy disabled it, S6 when the Control Panel decided, S1 when policy enabled it. */
function solicitedCheck (policy: ResultantPolicy, computer: string): Check {
  const { value, source } = policy.solicitedRemoteAssistance
  const byPolicy = source.type === 'domain-policy' || source.type === 'local-policy'
  if (value === 'disabled') {
    return byPolicy
      ? {
          rule: 'S5',
          passed: false,
          detail: `Configure Solicited Remote Assistance is Disabled for ${computer} by ${where(source)}`,
          remedy: remedyFor(source, 'Set Configure Solicited Remote Assistance to Enabled or Not configured')
        }
      : {
          rule: 'S6',
          passed: false,
          detail: `Solicited Remote Assistance is not configured by policy and is turned off in ${where(source)}`,
          remedy: remedyFor(source, 'Turn on Remote Assistance invitations')
        }
  }
  return byPolicy
    ? { rule: 'S1', passed: true, detail: `Configure Solicited Remote Assistance is Enabled for ${computer} by ${where(source)}` }
    : { rule: 'S6', passed: true, detail: `Solicited Remote Assistance is not configured by policy; ${where(source)} allows invitations` }
}

/**
 * S1–S6: may `user` create an invitation for this computer, and with which
 * maximum lifetime (S3) and control permission (S2)?
 */
export function invitationDecision (
  policy: ResultantPolicy,
  ctx: { computer: string, user: string, sitsAtComputer: boolean }
): Decision & { maxLifetimeMinutes: number | null, mode: 'view' | 'control' | null } {
  const checks: Check[] = [
    ctx.sitsAtComputer
      ? { rule: 'S1', passed: true, detail: `${ctx.user} is a user of ${ctx.computer}` }
      : {
          rule: 'S1',
          passed: false,
          detail: `${ctx.user} is not among the users of ${ctx.computer}; only a user at the computer can ask for help from it`,
          remedy: `Add ${ctx.user} to the users of ${ctx.computer} in the directory`
        },
    solicitedCheck(policy, ctx.computer)
  ]
  const max = policy.maxTicketTime.value
  const control = policy.permitRemoteControl.value
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the two are null together (Solicited RA not in force); testing both only narrows the types
  if (max !== null && control !== null) {
    checks.push({ rule: 'S3', passed: true, detail: `maximum ticket time ${describeTicketTime(max)}, from ${where(policy.maxTicketTime.source)}` })
    checks.push({
      rule: 'S2',
      passed: true,
      detail: control === 'control'
        ? `helpers may request control, per ${where(policy.permitRemoteControl.source)}`
        : `helpers may only view, per ${where(policy.permitRemoteControl.source)}`
    })
  }
  const allowed = checks.every((c) => c.passed)
  return decided(checks, {
    // Stryker disable next-line ConditionalExpression: an allowed invitation always has a maximum; the test only narrows the type
    maxLifetimeMinutes: allowed && max !== null ? ticketTimeMinutes(max) : null,
    mode: allowed ? control : null
  })
}

/**
 * C3/S2/S6/O3: may control be granted in a session on this computer? A solicited
 * session follows *Permit remote control* (or the Control Panel); an offered one
 * follows the offer permission.
 */
export function controlDecision (policy: ResultantPolicy, origin: 'invitation' | 'offer'): Decision & { mode: ControlPermission | null } {
  if (origin === 'offer') {
    const { value, source } = policy.offerPermission
    const check: Check = value === 'control'
      ? { rule: 'O3', passed: true, detail: `Offer Remote Assistance permits helpers to view and control, per ${where(source)}` }
      : value === 'view'
        ? {
            rule: 'O3',
            passed: false,
            detail: `Offer Remote Assistance permits helpers only to view, per ${where(source)}`,
            remedy: remedyFor(source, 'Choose "Allow helpers to remotely control the computer"')
          }
        : {
            rule: 'O1',
            passed: false,
            detail: `Offer Remote Assistance is not enabled (${where(source)})`,
            remedy: remedyFor(source, 'Enable Configure Offer Remote Assistance')
          }
    return decided([check], { mode: value })
  }
  const { value, source } = policy.permitRemoteControl
  const rule = source.type === 'control-panel' || source.type === 'platform-default' ? 'S6' : 'S2'
  const check: Check = value === 'control'
    ? { rule, passed: true, detail: `remote control is permitted by ${where(source)}` }
    : value === 'view'
      ? {
          rule,
          passed: false,
          detail: `helpers may only view: ${where(source)} does not permit remote control`,
          remedy: remedyFor(source, rule === 'S6' ? 'Allow this computer to be controlled remotely' : 'Choose "Allow helpers to remotely control the computer"')
        }
      : {
          rule: policy.solicitedRemoteAssistance.source.type === 'control-panel' ? 'S6' : 'S5',
          passed: false,
          detail: `Solicited Remote Assistance is off (${where(source)})`,
          remedy: remedyFor(source, 'Enable Solicited Remote Assistance')
        }
  return decided([check], { mode: value })
}

/**
 * O1, S7/O7: is Offer Remote Assistance in force on this computer at all? It
 * needs the Offer policy enabled, and Solicited RA not disabled (by policy, or
 * by the Control Panel when policy leaves it unconfigured), except on XP SP2,
 * where the seed says the problem does not occur.
 */
export function offerInForceDecision (
  policy: ResultantPolicy,
  computer: { name: string, platform: Platform | null }
): Decision & { permission: ControlPermission | null } {
  const offer = policy.offerRemoteAssistance
  const checks: Check[] = [
    offer.value === 'enabled'
      ? { rule: 'O1', passed: true, detail: `Configure Offer Remote Assistance is Enabled for ${computer.name} by ${where(offer.source)}` }
      : {
          rule: 'O1',
          passed: false,
          detail: `Configure Offer Remote Assistance is ${offer.value === 'disabled' ? 'Disabled' : 'Not configured'} ` +
            `for ${computer.name} (${where(offer.source)})`,
          remedy: remedyFor(offer.source, 'Enable Configure Offer Remote Assistance and list the helpers')
        }
  ]
  const solicited = policy.solicitedRemoteAssistance
  if (solicited.value === 'enabled') {
    checks.push({ rule: 'S7', passed: true, detail: `Solicited Remote Assistance is not disabled on ${computer.name}` })
  } else if (computer.platform === 'xp-pro-sp2') {
    checks.push({
      rule: 'O7',
      passed: true,
      detail: `Solicited Remote Assistance is disabled on ${computer.name} (${where(solicited.source)}), which does not stop offers on Windows XP SP2`
    })
  } else {
    checks.push({
      rule: 'S7',
      passed: false,
      detail: `Solicited Remote Assistance is disabled on ${computer.name} by ${where(solicited.source)}, ` +
        'which disables Offer Remote Assistance too (O7)',
      remedy: remedyFor(solicited.source, 'Set Configure Solicited Remote Assistance to Enabled or Not configured')
    })
  }
  const allowed = checks.every((c) => c.passed)
  return decided(checks, { permission: allowed ? policy.offerPermission.value : null })
}
