/**
 * Remote Assistance policy as registry values, the way RemoteAssistance.admx
 * lays it out and GPMC writes it into a GPO's Registry.pol (SPEC.md,
 * *Registry facts*): both directions, pure functions.
 */
import { ACCOUNT_NAME_PATTERN, nameKey } from './names.js'
import {
  OPTION_DEFAULTS, SETTING_NAMES, type ControlPermission, type EmailMethod, type PolicySettings, type SettingName, type SettingState,
  type SettingsProblem, type TicketTimeUnit
} from './policy.js'
import type { PolEntry } from './registry-pol.js'

/** Where RemoteAssistance.admx keeps its values (keys compare case-insensitively, as the registry's do). */
export const TERMINAL_SERVICES_KEY = 'Software\\Policies\\Microsoft\\Windows NT\\Terminal Services'
/** The Offer helpers list: one REG_SZ per helper, named and holding `DOMAIN\name`. */
export const HELPERS_KEY = `${TERMINAL_SERVICES_KEY}\\RAUnsolicit`

/** Each setting's values under TERMINAL_SERVICES_KEY: the main value (1 enabled, 0 disabled), then its options. */
export const SETTING_VALUES: Record<SettingName, readonly string[]> = {
  solicitedRemoteAssistance: ['fAllowToGetHelp', 'fAllowFullControl', 'MaxTicketExpiry', 'MaxTicketExpiryUnits', 'fUseMailto'],
  offerRemoteAssistance: ['fAllowUnsolicited', 'fAllowUnsolicitedFullControl'],
  sessionLogging: ['LoggingEnabled'],
  encryptedOnlyTickets: ['CreateEncryptedOnlyTickets'],
  customMessages: ['UseCustomMessages', 'ShareControlMessage', 'ViewMessage']
}

const SETTING_LABELS: Record<SettingName, string> = {
  solicitedRemoteAssistance: 'Solicited Remote Assistance',
  offerRemoteAssistance: 'Offer Remote Assistance',
  // Stryker disable next-line StringLiteral: a setting without options never has a value left over to explain, so this label is never shown
  sessionLogging: 'Session logging',
  // Stryker disable next-line StringLiteral: a setting without options never has a value left over to explain, so this label is never shown
  encryptedOnlyTickets: 'Encrypted-only tickets',
  customMessages: 'Custom warning messages'
}

/** `MaxTicketExpiryUnits`: 0 minutes, 1 hours, 2 days. */
const UNITS: readonly TicketTimeUnit[] = ['minutes', 'hours', 'days']
const MAX_TICKET_EXPIRY = 99
/** The JSON API's limits (schemas/policy.ts), which an imported policy meets too. */
const MESSAGE_MAX_LENGTH = 4096
const HELPERS_MAX = 1000
/** GPMC's data for its `**` markers: a REG_SZ holding one space. */
const MARKER_DATA = ' '

const SETTING_OF = new Map<string, SettingName>(SETTING_NAMES.flatMap((s) => SETTING_VALUES[s].map((v) => [v.toLowerCase(), s] as const)))
const CANONICAL = new Map<string, string>(SETTING_NAMES.flatMap((s) => SETTING_VALUES[s].map((v) => [v.toLowerCase(), v] as const)))
const ACCOUNT_NAME = new RegExp(ACCOUNT_NAME_PATTERN, 'u')

/** An entry of the file that does not go into the policy, and why. */
export interface IgnoredEntry { key: string, value: string, reason: string }

export interface RegistryImport {
  /** Every setting, as the file configures it; options left out of an enabled setting get the ADMX defaults, with a warning. */
  settings: PolicySettings
  /** Defaults that stood in for values the file lacks. */
  warnings: SettingsProblem[]
  ignored: IgnoredEntry[]
}

interface Held { name: string, entry: PolEntry, index: number }
type Place = 'settings' | 'helpers'

/**
 * The policy a Registry.pol sets. Entries apply in file order, as the Group
 * Policy client applies them: a later value replaces an earlier one, and
 * GPMC's markers delete (`**del.<value>`, `**delvals.`, `**DeleteValues`,
 * `**DeleteKeys`; `**soft.<value>` sets a value only where none is). A main
 * value of 1 is *enabled*, 0 *disabled*, none *not configured*: the markers
 * that come with a disabled setting are deletions, not values. Everything else
 * (other keys, other values under the key, options of a setting that is not
 * enabled, values of the wrong type or out of range) is listed as ignored.
 * A message longer than the API allows, or an enabled custom-messages setting
 * without any text, is a problem: the policy could not be saved as the file says.
 */
export function settingsFromRegistry (entries: readonly PolEntry[]): RegistryImport | { problem: SettingsProblem } {
  const held: Record<Place, Map<string, Held>> = { settings: new Map(), helpers: new Map() }
  const ignored: Array<IgnoredEntry & { index: number }> = []
  const ignore = (entry: PolEntry, index: number, reason: string): void => { ignored.push({ key: entry.key, value: entry.value, reason, index }) }
  /** Takes a held value out of play, listing it as ignored. */
  const drop = (place: Place, h: Held, reason: string): void => {
    held[place].delete(h.name.toLowerCase())
    ignore(h.entry, h.index, reason)
  }
  const remove = (place: Place, name: string, marker: string): boolean => {
    const h = held[place].get(name.toLowerCase())
    if (h) drop(place, h, `deleted by a later ${marker} marker`)
    return place === 'helpers' || SETTING_OF.has(name.toLowerCase())
  }
  const clear = (place: Place, marker: string): void => {
    for (const h of [...held[place].values()]) drop(place, h, `deleted by a later ${marker} marker`)
  }

  for (const [index, entry] of entries.entries()) {
    const marker = entry.value.toLowerCase()
    if (marker === '**deletekeys') {
      // Subkeys of entry.key to delete: ours, or a key above them.
      let applies = false
      const names = namesIn(entry)
      for (const name of names) {
        const deleted = `${entry.key}\\${name}`.toLowerCase()
        const covers = (key: string): boolean => key.toLowerCase() === deleted || key.toLowerCase().startsWith(`${deleted}\\`)
        if (covers(TERMINAL_SERVICES_KEY)) clear('settings', '**DeleteKeys')
        if (covers(HELPERS_KEY)) clear('helpers', '**DeleteKeys')
        applies ||= covers(HELPERS_KEY)
      }
      if (!applies) ignore(entry, index, 'deletes no Remote Assistance key')
      continue
    }
    const place = placeOf(entry.key)
    if (!place) {
      ignore(entry, index, 'not a Remote Assistance key')
      continue
    }
    if (marker.startsWith('**delvals')) {
      clear(place, '**delvals.')
    } else if (marker === '**deletevalues') {
      const applies = namesIn(entry).map((name) => remove(place, name, '**DeleteValues')).some(Boolean)
      if (!applies) ignore(entry, index, 'deletes no Remote Assistance value')
    } else if (marker.startsWith('**del.')) {
      if (!remove(place, entry.value.slice('**del.'.length), '**del.')) ignore(entry, index, 'deletes no Remote Assistance value')
    } else if (marker.startsWith('**soft.')) {
      const name = entry.value.slice('**soft.'.length)
      if (held[place].has(name.toLowerCase())) ignore(entry, index, `${name} is already set (**soft. sets a value only where none is)`)
      else hold(place, name, entry, index)
    } else if (marker.startsWith('**')) {
      ignore(entry, index, 'a marker that does not change Remote Assistance settings')
    } else if (entry.value === '') {
      ignore(entry, index, 'names no value (such an entry only creates the key)')
    } else {
      hold(place, entry.value, entry, index)
    }
  }

  function hold (place: Place, name: string, entry: PolEntry, index: number): void {
    if (place === 'settings' && !SETTING_OF.has(name.toLowerCase())) {
      ignore(entry, index, 'not a Remote Assistance value')
      return
    }
    const before = held[place].get(name.toLowerCase())
    if (before) drop(place, before, 'replaced by a later entry for the same value')
    held[place].set(name.toLowerCase(), { name, entry, index })
  }

  const used = new Set<Held>()
  const warnings: SettingsProblem[] = []
  const dword = (name: string): { h: Held, n: number } | undefined => {
    const h = held.settings.get(name.toLowerCase())
    if (!h) return undefined
    if (h.entry.type === 'REG_DWORD') return { h, n: h.entry.data }
    drop('settings', h, `${CANONICAL.get(name.toLowerCase())} must be a REG_DWORD, not a ${h.entry.type}`)
    return undefined
  }
  const stateOf = (name: string): SettingState => {
    const v = dword(name)
    if (!v) return 'not-configured'
    if (v.n !== 0 && v.n !== 1) {
      drop('settings', v.h, `${v.n} is neither 1 (enabled) nor 0 (disabled): the setting is taken as not configured`)
      return 'not-configured'
    }
    used.add(v.h)
    return v.n === 1 ? 'enabled' : 'disabled'
  }
  /** An option of an enabled setting: its value, or its default (with a warning) when the file lacks it or it is out of range. */
  const option = <T>(name: string, field: string, parse: (n: number) => T | undefined, expected: string, fallback: T, shown: string): T => {
    const v = dword(name)
    const value = v && parse(v.n)
    if (v && value === undefined) drop('settings', v.h, `${v.n} is not ${expected}`)
    if (v && value !== undefined) {
      used.add(v.h)
      return value
    }
    warnings.push({ field: `settings.${field}`, message: `${name} is ${v ? 'out of range' : 'not in the file'}: the default, ${shown}, applies` })
    return fallback
  }
  const choice = <T>(values: readonly T[]) => (n: number): T | undefined => values[n]
  const flag = <T>(one: T, zero: T) => (n: number): T | undefined => n === 1 ? one : n === 0 ? zero : undefined

  let solicitedRemoteAssistance: PolicySettings['solicitedRemoteAssistance']
  const solicited = stateOf('fAllowToGetHelp')
  if (solicited === 'enabled') {
    const d = OPTION_DEFAULTS
    const s = 'solicitedRemoteAssistance'
    solicitedRemoteAssistance = {
      state: solicited,
      permitRemoteControl: option<ControlPermission>('fAllowFullControl', `${s}.permitRemoteControl`, flag('control', 'view'), '1 (control) or 0 (view only)',
        d.permitRemoteControl, d.permitRemoteControl),
      maxTicketTime: {
        value: option('MaxTicketExpiry', `${s}.maxTicketTime.value`, (n) => n >= 1 && n <= MAX_TICKET_EXPIRY ? n : undefined, `from 1 to ${MAX_TICKET_EXPIRY}`,
          d.maxTicketTime.value, String(d.maxTicketTime.value)),
        unit: option('MaxTicketExpiryUnits', `${s}.maxTicketTime.unit`, choice(UNITS), '0 (minutes), 1 (hours) or 2 (days)',
          d.maxTicketTime.unit, d.maxTicketTime.unit)
      },
      emailMethod: option<EmailMethod>('fUseMailto', `${s}.emailMethod`, flag('mailto', 'smapi'), '1 (Mailto) or 0 (Simple MAPI)', d.emailMethod, d.emailMethod)
    }
  } else {
    solicitedRemoteAssistance = { state: solicited }
  }

  let offerRemoteAssistance: PolicySettings['offerRemoteAssistance']
  const offer = stateOf('fAllowUnsolicited')
  // In file order: a Map keeps insertion order, and a replaced value is deleted before it is held again.
  const helpers = [...held.helpers.values()]
  if (offer === 'enabled') {
    const permission = option<ControlPermission>('fAllowUnsolicitedFullControl', 'offerRemoteAssistance.permission', flag('control', 'view'),
      '1 (view and control) or 0 (view only)', OPTION_DEFAULTS.offerPermission, OPTION_DEFAULTS.offerPermission)
    const names: string[] = []
    const seen = new Set<string>()
    for (const h of helpers) {
      if (h.entry.type !== 'REG_SZ' && h.entry.type !== 'REG_EXPAND_SZ') {
        drop('helpers', h, `a helper must be a REG_SZ, not a ${h.entry.type}`)
        continue
      }
      const name = h.entry.data
      if (!ACCOUNT_NAME.test(name)) {
        drop('helpers', h, `${JSON.stringify(name)} is not a user or group as DOMAIN\\name`)
      } else if (seen.has(accountKey(name))) {
        drop('helpers', h, `${name} is already in the helpers list`)
      } else if (names.length >= HELPERS_MAX) {
        drop('helpers', h, `the helpers list holds at most ${HELPERS_MAX} entries`)
      } else {
        seen.add(accountKey(name))
        names.push(name)
        used.add(h)
      }
    }
    offerRemoteAssistance = { state: offer, permission, helpers: names }
  } else {
    offerRemoteAssistance = { state: offer }
    for (const h of helpers) drop('helpers', h, `${SETTING_LABELS.offerRemoteAssistance} is ${describe(offer)}: its helpers list does not apply`)
  }

  let customMessages: PolicySettings['customMessages']
  const messages = stateOf('UseCustomMessages')
  if (messages === 'enabled') {
    const text = (name: string, field: string): string | SettingsProblem => {
      const h = held.settings.get(name.toLowerCase())
      if (!h) return ''
      if (h.entry.type !== 'REG_SZ' && h.entry.type !== 'REG_EXPAND_SZ') {
        drop('settings', h, `${name} must be a REG_SZ, not a ${h.entry.type}`)
        return ''
      }
      const s = h.entry.data
      if (s.length > MESSAGE_MAX_LENGTH) {
        return { field: `settings.customMessages.${field}`, message: `${name} is ${s.length} characters long; a message holds at most ${MESSAGE_MAX_LENGTH}` }
      }
      used.add(h)
      return s
    }
    const viewMessage = text('ViewMessage', 'viewMessage')
    const shareControlMessage = text('ShareControlMessage', 'shareControlMessage')
    if (typeof viewMessage !== 'string') return { problem: viewMessage }
    if (typeof shareControlMessage !== 'string') return { problem: shareControlMessage }
    if (!viewMessage && !shareControlMessage) {
      return {
        problem: {
          field: 'settings.customMessages',
          message: 'UseCustomMessages is 1 (enabled), but neither ViewMessage nor ShareControlMessage holds a text'
        }
      }
    }
    customMessages = { state: messages, viewMessage, shareControlMessage }
  } else {
    customMessages = { state: messages }
  }
  const settings: PolicySettings = {
    solicitedRemoteAssistance,
    offerRemoteAssistance,
    sessionLogging: { state: stateOf('LoggingEnabled') },
    encryptedOnlyTickets: { state: stateOf('CreateEncryptedOnlyTickets') },
    customMessages
  }

  // What is left under the key: options of settings that are not enabled.
  for (const h of held.settings.values()) {
    if (used.has(h)) continue
    const setting = SETTING_OF.get(h.name.toLowerCase())!
    const main = SETTING_VALUES[setting][0]!
    const option = CANONICAL.get(h.name.toLowerCase())
    ignore(h.entry, h.index, `${SETTING_LABELS[setting]} (${main}) is ${describe(settings[setting].state)}: ${option} applies only while it is enabled`)
  }

  return {
    settings,
    warnings,
    ignored: ignored.sort((a, b) => a.index - b.index).map(({ index: _index, ...rest }) => rest)
  }
}

const placeOf = (key: string): Place | null => {
  const k = key.toLowerCase()
  return k === TERMINAL_SERVICES_KEY.toLowerCase() ? 'settings' : k === HELPERS_KEY.toLowerCase() ? 'helpers' : null
}

/** The value names a `**DeleteKeys` or `**DeleteValues` marker lists: its text, split at semicolons. */
const namesIn = (entry: PolEntry): string[] => typeof entry.data === 'string' ? entry.data.split(';').map((s) => s.trim()).filter(Boolean) : []

const accountKey = (name: string): string => name.split('\\').map(nameKey).join('\\')

const describe = (state: SettingState): string => state === 'not-configured' ? 'not configured' : state

/**
 * The entries GPMC writes for a policy: a configured setting's main value
 * (1 or 0) under TERMINAL_SERVICES_KEY; when enabled, all its options; when
 * disabled, a `**del.<option>` marker for each option. The helpers list is
 * cleared with `**delvals.` on RAUnsolicit whenever Offer RA is configured, and
 * then lists each helper. An empty custom message is a `**del.` marker too.
 * A setting that is not configured writes nothing.
 */
export function registryFromSettings (settings: PolicySettings): PolEntry[] {
  const out: PolEntry[] = []
  const helpers: PolEntry[] = []
  const dword = (value: string, data: number): void => { out.push({ key: TERMINAL_SERVICES_KEY, value, type: 'REG_DWORD', data }) }
  const text = (value: string, data: string): void => {
    out.push(data === '' ? deleted(value) : { key: TERMINAL_SERVICES_KEY, value, type: 'REG_SZ', data })
  }
  const deleted = (value: string): PolEntry => ({ key: TERMINAL_SERVICES_KEY, value: `**del.${value}`, type: 'REG_SZ', data: MARKER_DATA })
  const main = (name: SettingName): boolean => {
    const state = settings[name].state
    if (state === 'not-configured') return false
    const [value, ...options] = SETTING_VALUES[name]
    dword(value!, state === 'enabled' ? 1 : 0)
    if (state === 'disabled') out.push(...options.map(deleted))
    return state === 'enabled'
  }

  const solicited = settings.solicitedRemoteAssistance
  if (main('solicitedRemoteAssistance')) {
    const time = solicited.maxTicketTime ?? OPTION_DEFAULTS.maxTicketTime
    dword('fAllowFullControl', (solicited.permitRemoteControl ?? OPTION_DEFAULTS.permitRemoteControl) === 'control' ? 1 : 0)
    dword('MaxTicketExpiry', time.value)
    dword('MaxTicketExpiryUnits', UNITS.indexOf(time.unit))
    dword('fUseMailto', (solicited.emailMethod ?? OPTION_DEFAULTS.emailMethod) === 'mailto' ? 1 : 0)
  }
  const offer = settings.offerRemoteAssistance
  if (main('offerRemoteAssistance')) {
    dword('fAllowUnsolicitedFullControl', (offer.permission ?? OPTION_DEFAULTS.offerPermission) === 'control' ? 1 : 0)
  }
  if (offer.state !== 'not-configured') {
    helpers.push({ key: HELPERS_KEY, value: '**delvals.', type: 'REG_SZ', data: MARKER_DATA })
    const listed = offer.state === 'enabled' ? offer.helpers ?? [] : []
    for (const helper of listed) helpers.push({ key: HELPERS_KEY, value: helper, type: 'REG_SZ', data: helper })
  }
  main('sessionLogging')
  main('encryptedOnlyTickets')
  const messages = settings.customMessages
  if (main('customMessages')) {
    text('ShareControlMessage', messages.shareControlMessage ?? '')
    text('ViewMessage', messages.viewMessage ?? '')
  }
  return [...out, ...helpers]
}
