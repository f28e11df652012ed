import { createPrivateKey, hash, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto'
import { errors, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { nowIso } from '../db/database.js'
import type { Freshness } from '../db/directory-cache.js'
import { AppError } from '../errors.js'
import type { Store, Unit } from '../repositories/index.js'
import type { KeyRow } from '../repositories/keys-repository.js'
import type { ActorContext } from './context.js'
import { decryptSecret, encryptSecret } from './key-encryption.js'
import { signer } from './signer.js'

/**
 * Ed25519 (EdDSA): deterministic signatures, so no per-signature nonce can leak
 * the key. ES256 signs in about 26 µs here against Ed25519's 36 µs with
 * node:crypto (bench/ticket-algorithms.ts; alike through jose's WebCrypto):
 * about 5 % of a creation's CPU, not worth the nonces.
 */
export const TICKET_ALG = 'EdDSA'
export const TICKET_TYP = 'ra-invitation+jwt'

export interface TicketClaims {
  invitationId: string
  jti: string
  issuedAt: Date
  notBefore: Date
  expiresAt: Date
}

export interface VerifiedTicket {
  invitationId: string
  jti: string
  kid: string
  expiresAt: Date
}

export class ConfigurationError extends Error {}

interface Options {
  issuer: string
  audience: string
  keyEncryptionSecret: string | undefined
  clockToleranceS: number
}

/**
 * Ticket signing and verification, and the keys behind them. Private keys live
 * in the database (encrypted at rest when a secret is configured); the active
 * one is kept in memory and reloaded when another process rotated it.
 */
export class TicketService {
  private signing: { kid: string, key: KeyObject } | undefined
  /** Private keys by kid, for deriving a ticket again with the key that signed it. */
  private readonly privateKeys = new Map<string, KeyObject>()
  private readonly publicKeys = new Map<string, CryptoKey>()
  /** Per key, the latest expiry already recorded by this process. */
  private readonly recordedUse = new Map<string, string>()

  constructor (
    private readonly store: Store,
    private readonly options: Options
  ) {}

  /**
   * Makes sure an active key exists and that every stored key is readable with the configured secret.
   * Safe when several processes start on one database at once: each change is a unit of work that
   * re-reads what it decides on, so one key is generated and each key is encrypted once.
   */
  async init (): Promise<{ generated: boolean, encryptedNow: number }> {
    const secret = this.options.keyEncryptionSecret
    // Encrypted before the unit of work (scrypt takes a while), stored only if the key is still in the clear then.
    const envelopes: Array<{ kid: string, privateKey: string }> = []
    for (const row of await this.store.repos.keys.all()) {
      if (row.encrypted === 1 && secret === undefined) {
        throw new ConfigurationError('the ticket-signing keys are encrypted: set RA_KEY_ENCRYPTION_SECRET to the secret they were encrypted with')
      }
      const jwk = this.privateJwk(row)
      if (row.encrypted === 0 && secret !== undefined) {
        envelopes.push({ kid: row.kid, privateKey: encryptSecret(JSON.stringify(jwk), secret, row.kid) })
      }
    }
    let encryptedNow = 0
    if (envelopes.length > 0) {
      encryptedNow = await this.store.work(async (u) => {
        let n = 0
        for (const { kid, privateKey } of envelopes) {
          // Another process starting on the same database may have encrypted it meanwhile.
          if ((await u.keys.get(kid))?.encrypted !== 0) continue
          await u.keys.setPrivateKey(kid, privateKey, true)
          n++
        }
        return n
      })
    }
    let generated = false
    if (!await this.store.repos.keys.active()) {
      const key = await this.newKey()
      generated = await this.store.work(async (u) => {
        // Another process starting on the same database may have made one meanwhile: decided one at a time.
        await u.lock('signing-keys')
        if (await u.keys.active()) return false
        await this.storeKey(u, key)
        return true
      })
    }
    await this.loadSigningKey()
    return { generated, encryptedNow }
  }

  /**
   * A new active key; the old one is retired but keeps verifying its tickets until they expire.
   * The key retired is read in the same unit of work that retires it, so rotations raced from
   * several processes each retire what was active when they ran, and leave one active key.
   */
  async rotate (ctx: ActorContext): Promise<{ kid: string, retired: string[] }> {
    const key = await this.newKey()
    const kid = key.kid
    const before = await this.store.work(async (u) => {
      await u.lock('signing-keys')
      const before = (await u.keys.active())?.kid
      await this.storeKey(u, key)
      await u.audit.record({ ...ctx, action: 'key.rotate', target: `keys/${kid}`, outcome: 'success', details: { kid, retired: before ?? null } })
      return before
    })
    await this.loadSigningKey()
    return { kid, retired: before ? [before] : [] }
  }

  /** The public keys that still verify tickets, as a JWKS. */
  async jwks (): Promise<{ keys: JWK[] }> {
    return { keys: (await this.store.repos.keys.verifying(nowIso())).map((r) => JSON.parse(r.public_jwk) as JWK) }
  }

  /**
   * Signs a ticket with the active key, or with `withKid` (which may be retired).
   * Ed25519 signatures are deterministic, so the same claims and key give the
   * same ticket: an invitation's ticket can be derived again for e-mail delivery
   * without ever being stored. `since`: the mark of the request it serves (DirectoryCache).
   */
  async sign (claims: TicketClaims, key: { withKid?: string, since?: Freshness | undefined } = {}): Promise<{ ticket: string, kid: string }> {
    const { withKid } = key
    const signing = withKid !== undefined ? { kid: withKid, key: await this.privateKeyOf(withKid) } : await this.activeKey(key.since)
    const kid = signing.kid
    // The compact JWS, byte for byte what jose's SignJWT makes (a test holds it to that), signed with
    // node:crypto directly: jose through WebCrypto measured at about 260 µs a signature here.
    const ticket = await compactJws({ alg: TICKET_ALG, typ: TICKET_TYP, kid }, {
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: claims.invitationId,
      jti: claims.jti,
      iat: Math.floor(claims.issuedAt.getTime() / 1000),
      nbf: Math.floor(claims.notBefore.getTime() / 1000),
      exp: Math.floor(claims.expiresAt.getTime() / 1000)
    }, signing.key)
    await this.recordUse(kid, claims.expiresAt.toISOString())
    return { ticket, kid }
  }

  /**
   * A compact JWS of `payload` (with `iss` this service) under the active ticket key, with its own `typ`: the
   * consent receipts' signature. Verified with the JWKS, as tickets are; it carries no expiry, so the key stays
   * published only while its tickets live (a receipt is signed when fetched, and can be fetched again).
   */
  async signDocument (typ: string, payload: Record<string, unknown>): Promise<string> {
    const { kid, key } = await this.activeKey()
    return await compactJws({ alg: TICKET_ALG, typ, kid }, { iss: this.options.issuer, ...payload }, key)
  }

  private async activeKey (since?: Freshness): Promise<{ kid: string, key: KeyObject }> {
    const active = await this.store.repos.keys.active(since)
    if (!this.signing || active?.kid !== this.signing.kid) await this.loadSigningKey(active)
    return this.signing!
  }

  /**
   * Checks signature and claims with everything pinned: algorithm, `typ`, `iss`,
   * `aud`, and `exp`/`jti`/`sub`/`nbf`/`iat` required (jose would accept a token
   * without `exp` unless told). Each failure has its own code.
   */
  async verify (ticket: string, since?: Freshness): Promise<VerifiedTicket> {
    TicketService.requireCanonical(ticket)
    let kid = ''
    try {
      const { payload, protectedHeader } = await jwtVerify(ticket, async (header) => {
        kid = typeof header.kid === 'string' ? header.kid : ''
        return this.publicKey(kid, since)
      }, {
        algorithms: [TICKET_ALG],
        typ: TICKET_TYP,
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['exp', 'jti', 'sub', 'nbf', 'iat'],
        clockTolerance: this.options.clockToleranceS
      })
      return {
        invitationId: String(payload.sub),
        jti: String(payload.jti),
        kid: String(protectedHeader.kid),
        expiresAt: new Date((payload as Required<JWTPayload>).exp * 1000)
      }
    } catch (err) {
      throw ticketError(err)
    }
  }

  /**
   * Whether `ticket` is exactly the one this service issued with hash
   * `issued.ticketHash`, and verify() would accept it now: its key still
   * verifies, the issuer and audience in it are still this service's, and its
   * times hold (with the same tolerance). Only SHA-256 and a constant-time
   * compare, instead of a signature verification (measured here at about
   * three signatures); anything else goes through verify() and its codes.
   */
  async matchesIssued (
    ticket: string,
    issued: { ticketHash: string | null, kid: string, notBefore: Date, expiresAt: Date },
    since?: Freshness
  ): Promise<boolean> {
    if (issued.ticketHash === null) return false
    const expected = Buffer.from(issued.ticketHash, 'base64url')
    const presented = hash('sha256', ticket, 'buffer')
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) return false
    const claims = readClaims(ticket)
    if (claims?.iss !== this.options.issuer || claims.aud !== this.options.audience) return false
    const now = Date.now()
    const tolerance = this.options.clockToleranceS * 1000
    if (issued.notBefore.getTime() > now + tolerance || issued.expiresAt.getTime() <= now - tolerance) return false
    return await this.verifyingKey(issued.kid, new Date(now).toISOString(), since) !== undefined
  }

  /**
   * The key `kid` if it still verifies at `now`: the active one, or a retired
   * one with tickets not yet expired. From the directory cache (a redemption
   * reads no key); a key the cached row would refuse is read again first, since
   * the cached `max_expires_at` may be older than the stored one.
   */
  private async verifyingKey (kid: string, now: string, since?: Freshness): Promise<KeyRow | undefined> {
    const verifies = (row: KeyRow | undefined): row is KeyRow =>
      row !== undefined && (row.retired_at === null || (row.max_expires_at !== null && row.max_expires_at > now))
    const cached = await this.store.repos.keys.known(kid, since)
    if (verifies(cached)) return cached
    const row = await this.store.repos.keys.get(kid)
    return verifies(row) ? row : undefined
  }

  /**
   * Refuses anything but a compact JWS whose three parts are canonical
   * base64url: no padding, and no set bits after the last whole byte. Without
   * this, the final character of a part can be re-spelled (`A` for `B`) into
   * the same bytes, and one ticket would have many accepted spellings.
   */
  static requireCanonical (ticket: unknown): asserts ticket is string {
    if (typeof ticket !== 'string' || ticket.length > 8192 || !COMPACT_JWS.test(ticket) || !ticket.split('.').every(isCanonicalBase64url)) {
      throw new AppError('TICKET_MALFORMED', 'the ticket is not a compact JWS (three canonical base64url parts)', { field: 'ticket' })
    }
  }

  /** What a ticket is stored as: its SHA-256, base64url. */
  static hashOf (ticket: string): string {
    return hash('sha256', ticket, 'base64url')
  }

  /** The claims of a compact JWS, read without checking anything (to find its invitation); undefined if unreadable. */
  static claimsOf (ticket: unknown): { sub?: unknown, iss?: unknown, aud?: unknown } | undefined {
    return readClaims(ticket)
  }

  /**
   * The key must keep verifying until its last ticket expires: recorded (a unit
   * of work of its own, committed before the ticket is handed out) whenever that
   * moment moves later, which is at most once a second per key.
   */
  private async recordUse (kid: string, expiresAt: string): Promise<void> {
    if ((this.recordedUse.get(kid) ?? '') >= expiresAt) return
    await this.store.repos.keys.extendUse(kid, expiresAt)
    // Signatures run concurrently: keep the latest recorded, whichever finished last.
    if ((this.recordedUse.get(kid) ?? '') < expiresAt) this.recordedUse.set(kid, expiresAt)
  }

  private async publicKey (kid: string, since?: Freshness): Promise<CryptoKey> {
    const row = await this.verifyingKey(kid, nowIso(), since)
    if (!row) {
      throw new AppError('TICKET_SIGNATURE_INVALID', 'the ticket was not signed by a key of this service', { field: 'ticket' })
    }
    let key = this.publicKeys.get(kid)
    if (!key) {
      key = await importJWK(JSON.parse(row.public_jwk) as JWK, TICKET_ALG) as CryptoKey
      this.publicKeys.set(kid, key)
    }
    return key
  }

  /** A new key pair, as it is stored (encrypted when a secret is configured); made outside any unit of work. */
  private async newKey (): Promise<Pick<KeyRow, 'kid' | 'alg' | 'public_jwk' | 'private_key' | 'encrypted'>> {
    const { publicKey, privateKey } = await generateKeyPair(TICKET_ALG, { crv: 'Ed25519', extractable: true })
    const kid = randomUUID()
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: TICKET_ALG, use: 'sig' }
    const privateJwk = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: TICKET_ALG })
    const secret = this.options.keyEncryptionSecret
    return {
      kid,
      alg: TICKET_ALG,
      public_jwk: JSON.stringify(publicJwk),
      private_key: secret === undefined ? privateJwk : encryptSecret(privateJwk, secret, kid),
      encrypted: secret === undefined ? 0 : 1
    }
  }

  /** Stores `key` as the active key in unit `u`, retiring every other. */
  private async storeKey (u: Unit, key: Pick<KeyRow, 'kid' | 'alg' | 'public_jwk' | 'private_key' | 'encrypted'>): Promise<void> {
    await u.keys.insert({ ...key, created_at: nowIso() })
    await u.keys.retireAllBut(key.kid, nowIso())
  }

  /** Loads the active key (`known`, when the caller just read it) for signing. */
  private async loadSigningKey (known?: KeyRow): Promise<void> {
    const row = known ?? await this.store.repos.keys.active()
    if (!row) throw new Error('no active signing key')
    this.signing = { kid: row.kid, key: await this.privateKeyOf(row.kid, row) }
  }

  private async privateKeyOf (kid: string, known?: KeyRow): Promise<KeyObject> {
    let key = this.privateKeys.get(kid)
    if (!key) {
      const row = known ?? await this.store.repos.keys.get(kid)
      if (!row) throw new Error(`no signing key ${kid}`)
      key = createPrivateKey({ key: this.privateJwk(row) as never, format: 'jwk' })
      this.privateKeys.set(kid, key)
    }
    return key
  }

  private privateJwk (row: KeyRow): JWK {
    if (row.encrypted === 0) return JSON.parse(row.private_key) as JWK
    try {
      return JSON.parse(decryptSecret(row.private_key, this.options.keyEncryptionSecret!, row.kid)) as JWK
    } catch {
      throw new ConfigurationError(`RA_KEY_ENCRYPTION_SECRET does not decrypt signing key ${row.kid}: it is not the secret the keys were encrypted with`)
    }
  }
}

function readClaims (ticket: unknown): { sub?: unknown, iss?: unknown, aud?: unknown } | undefined {
  if (typeof ticket !== 'string' || ticket.length > 8192) return undefined
  const parts = ticket.split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown
    return claims !== null && typeof claims === 'object' ? claims as { sub?: unknown } : undefined
  } catch {
    return undefined
  }
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** Whether a base64url string (alphabet already checked) is the one encoding of its bytes. */
export function isCanonicalBase64url (part: string): boolean {
  // A remainder of 1 character encodes no whole byte; 2 and 3 leave 4 and 2 unused bits, which must be zero.
  return part.length % 4 !== 1 && Buffer.from(part, 'base64url').toString('base64url') === part
}

function base64url (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** jose's errors, as the API's codes. Messages never echo the ticket. */
function ticketError (err: unknown): AppError {
  if (err instanceof AppError) return err
  const at = { field: 'ticket' }
  if (err instanceof errors.JWTExpired) return new AppError('TICKET_EXPIRED', 'the ticket has expired', at)
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new AppError('TICKET_NOT_YET_VALID', 'the ticket is not valid yet', at)
    if (err.claim === 'aud') return new AppError('TICKET_WRONG_AUDIENCE', 'the ticket is meant for another audience', at)
    return new AppError(
      'TICKET_CLAIMS_INVALID',
      `the ticket's ${err.claim} claim is ${err.reason === 'missing' ? 'missing' : 'not what this service issues'}`,
      at
    )
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new AppError('TICKET_SIGNATURE_INVALID', 'the ticket\'s signature does not verify with a key of this service', at)
  }
  return new AppError('TICKET_MALFORMED', 'the ticket cannot be read', at)
}

/** `header.payload.signature`, signed with Ed25519. */
async function compactJws (header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): Promise<string> {
  const input = `${base64url(header)}.${base64url(payload)}`
  // On the signing thread, beside the event loop (signer.ts).
  return `${input}.${await signer().sign(input, key)}`
}
