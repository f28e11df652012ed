import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Compare the code (issue 19): after redemption both parties' views show the same 6-digit code, derived from
 * the session under a service key, and the novice types the one their helper reads out (or reads theirs to the
 * helper). The numeric comparison Bluetooth pairing uses against a man in the middle: someone else who got hold
 * of the ticket opened a session whose code the helper on the phone cannot see.
 */
export const VERIFICATION_CODE_DIGITS = 6
/** Wrong codes allowed before the session ends. */
export const MAX_CODE_MISMATCHES = 3

/** The session's code: HMAC-SHA256(key, session id), its first 32 bits modulo 10⁶, zero-padded. */
export function verificationCode (key: Buffer, sessionId: string): string {
  const n = createHmac('sha256', key).update(`session-verification:${sessionId}`).digest().readUInt32BE(0)
  return String(n % 10 ** VERIFICATION_CODE_DIGITS).padStart(VERIFICATION_CODE_DIGITS, '0')
}

/** What the novice typed, as six digits (spaces and hyphens ignored: `123 456`, `123-456`); null when it cannot be one. */
export function normalizeVerificationCode (typed: string): string | null {
  const digits = typed.replace(/[\s-]/g, '')
  return new RegExp(`^[0-9]{${VERIFICATION_CODE_DIGITS}}$`).test(digits) ? digits : null
}

/** Whether the typed code is the session's, compared in constant time. */
export function verificationCodeMatches (expected: string, typed: string): boolean {
  const digits = normalizeVerificationCode(typed)
  return digits !== null && timingSafeEqual(Buffer.from(digits), Buffer.from(expected))
}

/** As shown and read out: `123 456`. */
export function formatVerificationCode (code: string): string {
  return `${code.slice(0, 3)} ${code.slice(3)}`
}
