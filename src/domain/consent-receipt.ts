import { hash } from 'node:crypto'
import canonicalizeModule from 'canonicalize'

// The package is CommonJS (`module.exports = serialize`); its types describe an ES default export instead.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined

/**
 * Signed consent receipts (issue 19). Every consent event of a session is appended to a hash chain: each entry
 * holds the SHA-256 of the entry before it (`prev`; the first holds GENESIS), and an entry's hash is the SHA-256
 * of its canonical JSON (RFC 8785, JCS), in lower-case hex. A receipt is the chain with a JWS over its head.
 * Changing an entry changes its hash; removing or reordering entries breaks a `prev` or a `seq`; cutting the end
 * off changes the head the signature names. The check below is the whole algorithm (README, *Consent receipts*).
 */
export const RECEIPT_FORMAT = 'ra-consent-receipt/1'
export const RECEIPT_JWS_TYP = 'ra-consent-receipt+jws'
export const GENESIS = '0'.repeat(64)

/** The events that make up a session's consent: what the novice was asked and answered, and how it ended. */
export const CONSENT_EVENT_TYPES: ReadonlySet<string> = new Set([
  'session.created', 'session.accepted', 'session.declined', 'session.expired', 'session.ended', 'session.terminated',
  'control.requested', 'control.granted', 'control.denied', 'control.request-expired', 'control.stopped', 'control.dropped',
  'control.renewed', 'control.expired', 'security.code-mismatch', 'security.reported'
])

export interface ConsentEntry {
  /** 1, 2, 3… in the order the events happened. */
  seq: number
  sessionId: string
  type: string
  at: string
  /** Who: `DOMAIN\name`, or `system`. */
  actor: string
  data: Record<string, unknown>
  /** The hash of the entry before, or GENESIS. */
  prev: string
}

export interface ReceiptEntry { hash: string, entry: ConsentEntry }

/** What the receipt's JWS signs. */
export interface ReceiptClaims {
  iss: string
  /** The session. */
  sub: string
  /** The last entry's hash (GENESIS for an empty chain). */
  head: string
  count: number
  iat: number
}

export interface ConsentReceipt {
  format: typeof RECEIPT_FORMAT
  sessionId: string
  entries: ReceiptEntry[]
  head: string
  /** Compact JWS (EdDSA, the service's ticket key, `typ` RECEIPT_JWS_TYP) over ReceiptClaims. */
  signature: string
}

/** An entry's canonical text (what its hash is over, and what is stored). */
export function canonicalEntry (entry: ConsentEntry): string {
  // JSON values only (strings, numbers, booleans, null, arrays, objects): canonicalize gives a string for them.
  return canonicalize(entry)!
}

export function sha256Hex (text: string): string {
  return hash('sha256', text, 'hex')
}

/** The next link after `last` (null: the first). */
export function nextEntry (
  last: { seq: number, hash: string } | null,
  fields: Omit<ConsentEntry, 'seq' | 'prev'>
): { entry: ConsentEntry, text: string, hash: string } {
  const entry: ConsentEntry = { seq: (last?.seq ?? 0) + 1, ...fields, prev: last?.hash ?? GENESIS }
  const text = canonicalEntry(entry)
  return { entry, text, hash: sha256Hex(text) }
}

export interface ReceiptProblem {
  /** The entry the problem is at, when at one. */
  seq?: number
  problem: string
}

/**
 * Every link of a receipt, against the claims its signature holds (the signature itself is checked first, by
 * the caller): entries numbered 1, 2, 3… of this session, each one's hash as stated, each one's `prev` the hash of
 * the one before, and the signed head and count those of the last entry. No problems means the chain is whole.
 */
export function checkChain (
  receipt: Pick<ConsentReceipt, 'sessionId' | 'entries' | 'head'>,
  claims: Pick<ReceiptClaims, 'sub' | 'head' | 'count'>
): ReceiptProblem[] {
  const problems: ReceiptProblem[] = []
  if (claims.sub !== receipt.sessionId) problems.push({ problem: `the signature is for session ${claims.sub}, not ${receipt.sessionId}` })
  let prev = GENESIS
  receipt.entries.forEach(({ hash, entry }, i) => {
    const seq = i + 1
    if (entry.seq !== seq) problems.push({ seq, problem: `entry ${seq} says it is entry ${String(entry.seq)}: entries were removed or reordered` })
    if (entry.sessionId !== receipt.sessionId) problems.push({ seq, problem: `entry ${seq} is of another session` })
    if (entry.prev !== prev) problems.push({ seq, problem: `entry ${seq} does not follow the one before it (its prev is not that entry's hash)` })
    const actual = sha256Hex(canonicalEntry(entry))
    if (actual !== hash) problems.push({ seq, problem: `entry ${seq} was changed: its content hashes to ${actual}, not ${hash}` })
    prev = actual
  })
  if (claims.count !== receipt.entries.length) {
    problems.push({ problem: `the signature covers ${claims.count} entries; the receipt has ${receipt.entries.length}` })
  }
  if (claims.head !== prev) problems.push({ problem: 'the signed head is not the hash of the last entry' })
  if (receipt.head !== claims.head) problems.push({ problem: 'the receipt\'s head is not the one signed' })
  return problems
}
