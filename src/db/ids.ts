import { randomFillSync } from 'node:crypto'

/**
 * New row ids: UUIDv7 (RFC 9562), time-ordered, so consecutive inserts land on
 * the same index page instead of a random one (measured in bench/: inserting
 * with random v4 keys cost about 1.6 times as much at 8 rows per commit, and
 * the gap grows with the table). 48 bits of milliseconds, then a 12-bit
 * counter that keeps ids from one process increasing within a millisecond,
 * then 62 random bits: still unguessable, which matters because ids appear
 * in URLs (access is checked on every read regardless).
 */
const pool = Buffer.alloc(16 * 256)
let poolAt = pool.length
let lastMs = 0
let counter = 0

export function newId (): string {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  const b = pool.subarray(poolAt, poolAt + 16)
  poolAt += 16
  let ms = Date.now()
  if (ms > lastMs) {
    lastMs = ms
    counter = b[7]! & 0x1ff // a random start leaves room to count up
  } else {
    // Same millisecond (or the clock stepped back): count on; borrow the next millisecond when the counter is full.
    ms = lastMs
    if (++counter > 0xfff) {
      lastMs = ++ms
      counter = 0
    }
  }
  b.writeUIntBE(ms, 0, 6)
  b[6] = 0x70 | (counter >> 8)
  b[7] = counter & 0xff
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Any UUID (the API accepts ids of every version: older rows have v4 ids). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
