import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'

/**
 * Envelope for private keys at rest: AES-256-GCM under a key derived from
 * RA_KEY_ENCRYPTION_SECRET with scrypt (N=2^15, r=8, p=1, a fresh 16-byte salt
 * per key). The key id is bound as additional authenticated data, so an
 * envelope cannot be moved to another key's row.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }

interface Envelope { v: 1, kdf: 'scrypt', salt: string, iv: string, tag: string, ct: string }

export function encryptSecret (plaintext: string, secret: string, aad: string): string {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const key = scryptSync(secret, salt, 32, SCRYPT)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const envelope: Envelope = {
    v: 1,
    kdf: 'scrypt',
    salt: salt.toString('base64url'),
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ct: ct.toString('base64url')
  }
  return JSON.stringify(envelope)
}

/** Throws when the secret is wrong or the envelope was tampered with. */
export function decryptSecret (stored: string, secret: string, aad: string): string {
  const e = JSON.parse(stored) as Envelope
  const key = scryptSync(secret, Buffer.from(e.salt, 'base64url'), 32, SCRYPT)
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(e.iv, 'base64url'))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(Buffer.from(e.tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(e.ct, 'base64url')), decipher.final()]).toString('utf8')
}
