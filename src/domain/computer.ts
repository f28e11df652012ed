import type { TicketTime } from './policy.js'

/** Windows Firewall profiles: XP SP2 and 2003 have domain and standard; Vista and later domain, private and public. */
export type FirewallProfileName = 'domain' | 'standard' | 'private' | 'public'

/** One Windows Firewall profile as Group Policy and the registry describe it. */
export interface FirewallProfile {
  /** Whether Windows Firewall is on in this profile (on unless said otherwise). */
  enabled?: boolean
  /** `path:scope:Enabled|Disabled:name`, as Group Policy writes program exceptions. */
  programExceptions?: string[]
  /** `port:TCP|UDP:scope:Enabled|Disabled:name`. */
  portExceptions?: string[]
  /** *Windows Firewall: Allow Remote Desktop Exception*. */
  allowRemoteDesktopException?: boolean
}

/** A computer's firewall, per profile; a profile not described is unknown. */
export type Firewall = Partial<Record<FirewallProfileName, FirewallProfile>>

/** The computer's own Control Panel Remote Assistance settings (S6 falls back to them). */
export interface ControlPanel {
  remoteAssistanceEnabled: boolean
  allowRemoteControl: boolean
  maxInvitationTime: TicketTime
}
