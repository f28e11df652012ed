/**
 * Windows account names: `DOMAIN\name`. Names compare case-insensitively, as
 * Windows does, so every stored name has a key: its NFC, upper-cased form.
 */

/** NetBIOS domain name: 1–15 characters, starting with a letter or digit. */
export const DOMAIN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$'
/** Account (user or group) name: no characters Windows forbids in sAMAccountName, no edge spaces or final period. */
const ACCOUNT_PART = '[^\\\\/"\\[\\]:;|=,+*?<>@\\x00-\\x1f](?:[^\\\\/"\\[\\]:;|=,+*?<>@\\x00-\\x1f]{0,62}[^\\\\/"\\[\\]:;|=,+*?<>@\\x00-\\x1f. ])?'
/** Computer (NetBIOS) name: 1–15 letters, digits, hyphens or underscores. */
const COMPUTER_PART = '[A-Za-z0-9_-]{1,15}'
const DOMAIN_PART = DOMAIN_NAME_PATTERN.slice(1, -1)

export const ACCOUNT_NAME_PATTERN = `^${DOMAIN_PART}\\\\(?! )${ACCOUNT_PART}$`
export const COMPUTER_NAME_PATTERN = `^${DOMAIN_PART}\\\\${COMPUTER_PART}$`

export interface QualifiedName {
  domain: string
  name: string
}

/** Splits `DOMAIN\name`; the caller's schema has already checked the form. */
export function splitQualifiedName (qualified: string): QualifiedName {
  const at = qualified.indexOf('\\')
  if (at <= 0) throw new TypeError(`not a DOMAIN\\name: ${qualified}`)
  return { domain: qualified.slice(0, at), name: qualified.slice(at + 1) }
}

/** The case-insensitive key of one name part. */
export function nameKey (name: string): string {
  return name.normalize('NFC').toUpperCase()
}

/** Whether a computer name is acceptable beyond its pattern: NetBIOS names may not be all digits. */
export function isValidComputerName (qualified: string): boolean {
  return !/^\d+$/.test(splitQualifiedName(qualified).name)
}
