/**
 * Remote Assistance policy, as Group Policy holds it: five settings, each
 * three-state (not configured / enabled / disabled), with the options and
 * ranges of RemoteAssistance.admx (SPEC.md, *Registry facts*).
 */

export type SettingState = 'not-configured' | 'enabled' | 'disabled'
export type TicketTimeUnit = 'minutes' | 'hours' | 'days'
export interface TicketTime { value: number, unit: TicketTimeUnit }
export type ControlPermission = 'control' | 'view'
export type EmailMethod = 'mailto' | 'smapi'

export interface SolicitedSetting {
  state: SettingState
  /** S2 — only when enabled. */
  permitRemoteControl?: ControlPermission
  /** S3 — only when enabled. */
  maxTicketTime?: TicketTime
  /** S4 — only when enabled. */
  emailMethod?: EmailMethod
}

export interface OfferSetting {
  state: SettingState
  /** O3 — one permission for the whole helpers list. */
  permission?: ControlPermission
  /** O2 — `DOMAIN\user` and `DOMAIN\group` entries. */
  helpers?: string[]
}

export interface CustomMessagesSetting {
  state: SettingState
  /** `ViewMessage`: shown before connecting. */
  viewMessage?: string
  /** `ShareControlMessage`: shown before sharing control. */
  shareControlMessage?: string
}

export interface PolicySettings {
  solicitedRemoteAssistance: SolicitedSetting
  offerRemoteAssistance: OfferSetting
  sessionLogging: { state: SettingState }
  encryptedOnlyTickets: { state: SettingState }
  customMessages: CustomMessagesSetting
}

export const SETTING_NAMES = ['solicitedRemoteAssistance', 'offerRemoteAssistance', 'sessionLogging', 'encryptedOnlyTickets', 'customMessages'] as const
export type SettingName = (typeof SETTING_NAMES)[number]

/** Options of each setting, which exist only while it is enabled. */
const OPTIONS: Record<SettingName, string[]> = {
  solicitedRemoteAssistance: ['permitRemoteControl', 'maxTicketTime', 'emailMethod'],
  offerRemoteAssistance: ['permission', 'helpers'],
  // Stryker disable next-line ArrayDeclaration: no client sends an option by the name a stand-in list would hold
  sessionLogging: [],
  // Stryker disable next-line ArrayDeclaration: no client sends an option by the name a stand-in list would hold
  encryptedOnlyTickets: [],
  customMessages: ['viewMessage', 'shareControlMessage']
}

export interface SettingsProblem { field: string, message: string }

/** What an enabled setting gets for an option left out: the ADMX defaults. */
export const OPTION_DEFAULTS = {
  permitRemoteControl: 'control',
  maxTicketTime: { value: 1, unit: 'hours' },
  emailMethod: 'mailto',
  offerPermission: 'control'
} as const satisfies {
  permitRemoteControl: ControlPermission
  maxTicketTime: TicketTime
  emailMethod: EmailMethod
  offerPermission: ControlPermission
}

export const NOT_CONFIGURED: PolicySettings = {
  solicitedRemoteAssistance: { state: 'not-configured' },
  offerRemoteAssistance: { state: 'not-configured' },
  sessionLogging: { state: 'not-configured' },
  encryptedOnlyTickets: { state: 'not-configured' },
  customMessages: { state: 'not-configured' }
}

/**
 * Completes and checks settings given by a client (types and ranges are the
 * schema's job). A setting left out is not configured. An enabled setting gets
 * the ADMX defaults for options it leaves out (remote control allowed, 1 hour,
 * Mailto; offer permission *view and control*, no helpers). Options given for a
 * setting that is not enabled are an error: Windows would discard them, and a
 * client who sends them almost certainly meant something else.
 */
export function normalizeSettings (input: Partial<PolicySettings>, prefix = 'settings'): { settings: PolicySettings } | { problem: SettingsProblem } {
  for (const name of SETTING_NAMES) {
    const setting = input[name] as Record<string, unknown> | undefined
    if (!setting || setting['state'] === 'enabled') continue
    const option = OPTIONS[name].find((o) => setting[o] !== undefined)
    if (option) {
      return {
        problem: {
          field: `${prefix}.${name}.${option}`,
          message: `${prefix}.${name}.${option} may only be given when the setting is enabled (it is ${String(setting['state'])})`
        }
      }
    }
  }
  const messages = input.customMessages
  if (messages?.state === 'enabled' && !messages.viewMessage && !messages.shareControlMessage) {
    return {
      problem: {
        field: `${prefix}.customMessages`,
        message: `${prefix}.customMessages: an enabled setting needs viewMessage, shareControlMessage or both`
      }
    }
  }
  const solicited = input.solicitedRemoteAssistance ?? { state: 'not-configured' }
  const offer = input.offerRemoteAssistance ?? { state: 'not-configured' }
  return {
    settings: {
      solicitedRemoteAssistance: solicited.state === 'enabled'
        ? {
            state: 'enabled',
            permitRemoteControl: solicited.permitRemoteControl ?? OPTION_DEFAULTS.permitRemoteControl,
            maxTicketTime: solicited.maxTicketTime ?? { ...OPTION_DEFAULTS.maxTicketTime },
            emailMethod: solicited.emailMethod ?? OPTION_DEFAULTS.emailMethod
          }
        : { state: solicited.state },
      offerRemoteAssistance: offer.state === 'enabled'
        ? { state: 'enabled', permission: offer.permission ?? OPTION_DEFAULTS.offerPermission, helpers: offer.helpers ?? [] }
        : { state: offer.state },
      sessionLogging: { state: input.sessionLogging?.state ?? 'not-configured' },
      encryptedOnlyTickets: { state: input.encryptedOnlyTickets?.state ?? 'not-configured' },
      customMessages: messages?.state === 'enabled'
        ? { state: 'enabled', viewMessage: messages.viewMessage ?? '', shareControlMessage: messages.shareControlMessage ?? '' }
        : { state: messages?.state ?? 'not-configured' }
    }
  }
}

/**
 * Service extensions beside the ADMX settings, per policy object: RemoteAssistance.admx has no such values, so
 * they are not in a GPO's Registry.pol (import leaves them not configured, export leaves them out). Three-state
 * and applied in link order like the settings. `verificationCode` enabled: the novice must type the session's
 * verification code to accept (compare the code, issue 19).
 */
export interface PolicyExtensions {
  verificationCode: { state: SettingState }
}

export const NO_EXTENSIONS: PolicyExtensions = { verificationCode: { state: 'not-configured' } }

/** Extensions as stored, or as a client gives them (a row written before a field existed lacks it: not configured). */
export function completeExtensions (stored: Partial<PolicyExtensions> | undefined): PolicyExtensions {
  return { verificationCode: stored?.verificationCode ?? NO_EXTENSIONS.verificationCode }
}

export const MINUTES_PER_UNIT: Record<TicketTimeUnit, number> = { minutes: 1, hours: 60, days: 1440 }

export function ticketTimeMinutes (t: TicketTime): number {
  return t.value * MINUTES_PER_UNIT[t.unit]
}

export function describeTicketTime (t: TicketTime): string {
  return `${t.value} ${t.value === 1 ? t.unit.slice(0, -1) : t.unit}`
}
