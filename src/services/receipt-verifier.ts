import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose'
import { checkChain, RECEIPT_FORMAT, RECEIPT_JWS_TYP, type ConsentReceipt, type ReceiptClaims, type ReceiptProblem } from '../domain/consent-receipt.js'

export interface ReceiptVerdict {
  valid: boolean
  problems: ReceiptProblem[]
  /** What the signature says, once it verified. */
  claims?: ReceiptClaims
  entries: number
}

/**
 * Verifies a consent receipt offline (README, *Consent receipts*): the JWS with a key of `jwks` (the service's
 * /.well-known/jwks.json, EdDSA only, `typ` ra-consent-receipt+jws), then every link of the chain against the
 * head and count it signs. Nothing of the receipt is trusted before its signature verifies.
 */
export async function verifyReceipt (document: unknown, jwks: JSONWebKeySet): Promise<ReceiptVerdict> {
  const shapeProblem = receiptShapeProblem(document)
  if (shapeProblem !== null) return { valid: false, problems: [{ problem: shapeProblem }], entries: 0 }
  const receipt = document as ConsentReceipt
  let claims: ReceiptClaims
  try {
    const { payload, protectedHeader } = await compactVerify(receipt.signature, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] })
    if (protectedHeader.typ !== RECEIPT_JWS_TYP) {
      return { valid: false, problems: [{ problem: `the signature is not a consent receipt's (typ ${String(protectedHeader.typ)})` }], entries: 0 }
    }
    claims = JSON.parse(new TextDecoder().decode(payload)) as ReceiptClaims
  } catch (err) {
    return { valid: false, problems: [{ problem: `the signature does not verify with these keys: ${(err as Error).message}` }], entries: 0 }
  }
  const problems = checkChain(receipt, claims)
  return { valid: problems.length === 0, problems, claims, entries: receipt.entries.length }
}

function receiptShapeProblem (d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return 'not a receipt: a JSON object is expected'
  const r = d as Record<string, unknown>
  if (r['format'] !== RECEIPT_FORMAT) return `not a receipt: format is not ${RECEIPT_FORMAT}`
  if (typeof r['sessionId'] !== 'string' || typeof r['head'] !== 'string' || typeof r['signature'] !== 'string') {
    return 'not a receipt: sessionId, head and signature are strings'
  }
  if (!Array.isArray(r['entries'])) return 'not a receipt: entries is a list'
  for (const [i, e] of (r['entries'] as unknown[]).entries()) {
    const entry = (e as { entry?: unknown } | null)?.entry
    if (typeof (e as { hash?: unknown } | null)?.hash !== 'string' || typeof entry !== 'object' || entry === null) {
      return `not a receipt: entries[${i}] needs a hash and an entry`
    }
  }
  return null
}
