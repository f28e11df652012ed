import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Invitation passwords are stored only as scrypt hashes with N = 2^15, r = 8,
 * p = 3: one of the OWASP Password Storage Cheat Sheet's equivalent minimum
 * settings (same strength as N = 2^17, r = 8, p = 1), chosen for its 32 MiB
 * per hash, so the four hashes the libuv pool runs at once stay within 128 MiB.
 * A 16-byte random salt, a 32-byte key. The parameters are stored with each
 * hash, so they can be raised later without breaking existing invitations.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 3, keyLength: 32, saltLength: 16 }

function scrypt (password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, keyLength, options, (err, key) => err ? reject(err) : resolve(key)))
}

const maxmem = (N: number, r: number) => 128 * N * r * 2

export async function hashPassword (password: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = SCRYPT_PARAMS
  const salt = randomBytes(saltLength)
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: maxmem(N, r) })
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) throw new Error('unknown password hash format')
  const expected = Buffer.from(hash, 'base64url')
  const N = Number(n)
  const R = Number(r)
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N, r: R, p: Number(p), maxmem: maxmem(N, R) })
  return timingSafeEqual(key, expected)
}
