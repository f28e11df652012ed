import type { ControlPanel } from './computer.js'
import { PLATFORMS, type Platform, type PlatformFamily } from './platforms.js'
import type { ControlPermission, EmailMethod, PolicyExtensions, PolicySettings, SettingState, TicketTime } from './policy.js'

/** Where an effective value came from. */
export type PolicySource =
  | { type: 'domain-policy', policyId: string, policyName: string, domain: string, linkOrder: number }
  | { type: 'local-policy', computer: string }
  | { type: 'control-panel', computer: string }
  | { type: 'platform-default', platform: Platform | null }
  | { type: 'not-configured' }

/** One policy object as it applies to a computer, from a domain link or as its Local Computer Policy. */
export interface PolicyLayer {
  source: Extract<PolicySource, { type: 'domain-policy' | 'local-policy' }>
  settings: PolicySettings
  /** The service's extensions (policy objects only; a Local Computer Policy has none). */
  extensions?: PolicyExtensions
}

export interface Effective<T> {
  value: T
  source: PolicySource
  note?: string
}

export interface ResultantPolicy {
  /** S1/S5/S6: whether Solicited Remote Assistance is on, after the Control Panel fallback. */
  solicitedRemoteAssistance: Effective<'enabled' | 'disabled'>
  /** S2: null while Solicited RA is off. */
  permitRemoteControl: Effective<ControlPermission | null>
  /** S3: null while Solicited RA is off. */
  maxTicketTime: Effective<TicketTime | null>
  /** S4: null while Solicited RA is off. */
  emailMethod: Effective<EmailMethod | null>
  /** O1 */
  offerRemoteAssistance: Effective<SettingState>
  /** O3: null unless Offer RA is enabled. */
  offerPermission: Effective<ControlPermission | null>
  /** O2 */
  offerHelpers: Effective<string[]>
  sessionLogging: Effective<SettingState>
  encryptedOnlyTickets: Effective<SettingState>
  customMessages: Effective<{ viewMessage: string, shareControlMessage: string } | null>
  /** Service extension (issue 19): whether the novice must type the session's verification code to accept. */
  verificationCode: Effective<'required' | 'not-required'>
}

export interface ComputerFacts {
  name: string
  platform: Platform | null
  controlPanel: ControlPanel | null
}

/** Control Panel defaults when no policy applies and the computer has none recorded (SPEC.md, *Registry facts*). */
export function platformDefaults (platform: Platform | null): { maxTicketTime: TicketTime, emailMethod: EmailMethod, family: PlatformFamily | null } {
  const family = platform ? PLATFORMS[platform].family : null
  // An unknown platform gets the shorter, Vista-and-later defaults: the safer guess.
  return family === 'xp-2003'
    ? { maxTicketTime: { value: 30, unit: 'days' }, emailMethod: 'mailto', family }
    : { maxTicketTime: { value: 6, unit: 'hours' }, emailMethod: 'smapi', family }
}

/**
 * The resultant policy of a computer. `layers` are in precedence order, highest
 * first: domain links by link order (1 wins), then the Local Computer Policy. For
 * each setting the first layer that configures it wins; *not configured*
 * overrides nothing. When Solicited RA is configured nowhere, the Control Panel
 * decides (S6), and when the computer has no Control Panel settings recorded,
 * the platform's defaults do.
 */
export function resolvePolicy (layers: PolicyLayer[], computer: ComputerFacts): ResultantPolicy {
  const first = <K extends keyof PolicySettings>(name: K): { setting: PolicySettings[K], source: PolicySource } => {
    for (const layer of layers) {
      if (layer.settings[name].state !== 'not-configured') return { setting: layer.settings[name], source: layer.source }
    }
    return { setting: { state: 'not-configured' } as PolicySettings[K], source: { type: 'not-configured' } }
  }
  const defaults = platformDefaults(computer.platform)
  const platformSource: PolicySource = { type: 'platform-default', platform: computer.platform }

  const solicited = first('solicitedRemoteAssistance')
  let solicitedState: ResultantPolicy['solicitedRemoteAssistance']
  let permitRemoteControl: ResultantPolicy['permitRemoteControl']
  let maxTicketTime: ResultantPolicy['maxTicketTime']
  let emailMethod: ResultantPolicy['emailMethod']
  if (solicited.setting.state === 'enabled') {
    solicitedState = { value: 'enabled', source: solicited.source }
    permitRemoteControl = { value: solicited.setting.permitRemoteControl!, source: solicited.source }
    maxTicketTime = { value: solicited.setting.maxTicketTime!, source: solicited.source }
    emailMethod = { value: solicited.setting.emailMethod!, source: solicited.source }
  } else if (solicited.setting.state === 'disabled') {
    const off = { source: solicited.source, note: 'Solicited Remote Assistance is disabled by policy' }
    solicitedState = { value: 'disabled', source: solicited.source }
    permitRemoteControl = { value: null, ...off }
    maxTicketTime = { value: null, ...off }
    emailMethod = { value: null, ...off }
  } else {
    // S6: not configured anywhere — the computer's own Control Panel decides.
    const cp = computer.controlPanel
    const cpSource: PolicySource = cp ? { type: 'control-panel', computer: computer.name } : platformSource
    const enabled = cp ? cp.remoteAssistanceEnabled : true
    solicitedState = { value: enabled ? 'enabled' : 'disabled', source: cpSource }
    if (enabled) {
      permitRemoteControl = { value: cp ? (cp.allowRemoteControl ? 'control' : 'view') : 'control', source: cpSource }
      maxTicketTime = { value: cp ? cp.maxInvitationTime : defaults.maxTicketTime, source: cpSource }
      emailMethod = { value: defaults.emailMethod, source: platformSource }
    } else {
      const off = { source: cpSource, note: 'Remote Assistance is turned off in the computer\'s Control Panel' }
      permitRemoteControl = { value: null, ...off }
      maxTicketTime = { value: null, ...off }
      emailMethod = { value: null, ...off }
    }
  }
  if (emailMethod.value === 'mailto' && defaults.family !== 'xp-2003') {
    emailMethod = {
      value: 'smapi',
      source: platformSource,
      note: `${computer.platform === null ? 'The platform is unknown; only' : 'On Vista and later only'} SMAPI invitations exist: ` +
        `the Mailto method set by ${describeSource(emailMethod.source)} does not apply`
    }
  }

  const offer = first('offerRemoteAssistance')
  const offerOn = offer.setting.state === 'enabled'
  const messages = first('customMessages')
  const verification = layers.find((l) => l.extensions !== undefined && l.extensions.verificationCode.state !== 'not-configured')
  let texts: ResultantPolicy['customMessages']['value'] = null
  if (messages.setting.state === 'enabled') {
    // Stryker disable next-line StringLiteral: stored settings are normalized, so an enabled setting holds both texts; the default only satisfies the type
    texts = { viewMessage: messages.setting.viewMessage ?? '', shareControlMessage: messages.setting.shareControlMessage ?? '' }
  }
  return {
    solicitedRemoteAssistance: solicitedState,
    permitRemoteControl,
    maxTicketTime,
    emailMethod,
    offerRemoteAssistance: { value: offer.setting.state, source: offer.source },
    offerPermission: { value: offerOn ? offer.setting.permission! : null, source: offer.source },
    offerHelpers: { value: offerOn ? offer.setting.helpers! : [], source: offer.source },
    sessionLogging: valueOf(first('sessionLogging')),
    encryptedOnlyTickets: valueOf(first('encryptedOnlyTickets')),
    customMessages: { value: texts, source: messages.source },
    verificationCode: verification
      ? { value: verification.extensions!.verificationCode.state === 'enabled' ? 'required' : 'not-required', source: verification.source }
      : { value: 'not-required', source: { type: 'not-configured' } }
  }
}

function valueOf (found: { setting: { state: SettingState }, source: PolicySource }): Effective<SettingState> {
  return { value: found.setting.state, source: found.source }
}

/** A source in words, for details and remedies: `policy "RA Helpdesk" linked to CONTOSO (link order 1)`. */
export function describeSource (source: PolicySource): string {
  switch (source.type) {
    case 'domain-policy': return `policy "${source.policyName}" linked to ${source.domain} (link order ${source.linkOrder})`
    case 'local-policy': return `the Local Computer Policy of ${source.computer}`
    case 'control-panel': return `the Control Panel of ${source.computer}`
    case 'platform-default': return `the default of ${source.platform ? PLATFORMS[source.platform].label : 'an unknown platform'}`
    case 'not-configured': return 'no policy (not configured)'
  }
}
