import { createHmac, randomBytes } from 'node:crypto'

/**
 * Short codes that can be dictated (issue 19), as Windows 7's Easy Connect and Quick Assist have: 12 characters
 * of Crockford's base32 (60 bits), shown in groups of four, read case-insensitively with the look-alikes folded
 * (I and L are 1, O is 0, U is V). Stored only as a keyed hash.
 */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const CODE_LENGTH = 12
/** Bits of chance in a code: 12 characters of 5 bits. */
export const CODE_BITS = CODE_LENGTH * 5
/** A code lives at most this long, and never longer than the policy's maximum ticket time. */
export const CODE_MAX_MINUTES = 30

/** A new code, normalized (no separators): 60 random bits. */
export function generateShortCode (): string {
  const bytes = randomBytes(8) // 64 bits; the top 60 are used
  let bits = bytes.readBigUInt64BE() >> 4n
  let code = ''
  for (let i = 0; i < CODE_LENGTH; i++) {
    code = CODE_ALPHABET[Number(bits & 31n)]! + code
    bits >>= 5n
  }
  return code
}

/** As shown and dictated: `ABCD-EFGH-JKMN`. */
export function formatShortCode (code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8, 12)}`
}

/**
 * What was typed, as a code: case-insensitive, spaces and hyphens ignored, I/L read as 1, O as 0, U as V.
 * Null when it cannot be a code (another length, or a character outside the alphabet).
 */
export function normalizeShortCode (typed: string): string | null {
  const folded = typed.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0').replace(/U/g, 'V')
  if (folded.length !== CODE_LENGTH) return null
  for (const c of folded) if (!CODE_ALPHABET.includes(c)) return null
  return folded
}

/** The keyed hash a code is stored and looked up by (HMAC-SHA256 under the service's code key, base64url). */
export function shortCodeHash (key: Buffer, code: string): string {
  return createHmac('sha256', key).update(code).digest('base64url')
}

/** How long a code lives: at most 30 minutes, and never longer than the invitation. */
export function shortCodeMinutes (invitationMinutes: number): number {
  return Math.min(CODE_MAX_MINUTES, invitationMinutes)
}

/**
 * The guessing budget (RFC 8628 §5.1): the expected hours to guess one of `liveCodes` codes when at most
 * `failuresPerHour` wrong guesses are allowed, service-wide, each hour. Half the code space, on average.
 */
export function expectedHoursToGuess (liveCodes: number, failuresPerHour: number): number {
  return 2 ** (CODE_BITS - 1) / liveCodes / failuresPerHour
}
