import { randomBytes } from 'node:crypto'

let lastMs = 0
let seq = 0

// Random bytes are drawn from the OS 4 KiB at a time: one crypto call per id cost more than the
// rest of creating a user row.
const POOL = 4096
let pool = randomBytes(POOL)
let offset = 0
function random(n: number): Buffer {
  if (offset + n > POOL) {
    pool = randomBytes(POOL)
    offset = 0
  }
  const out = pool.subarray(offset, offset + n)
  offset += n
  return out
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids created together
 * sort together. Users created by one bulk batch land next to each other in every index keyed
 * by id, instead of on random pages: a batch writes a few pages instead of one per row.
 * Within one millisecond a 12-bit counter keeps ids increasing.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff
    if (seq === 0) lastMs++
    now = lastMs
  } else {
    lastMs = now
    seq = random(2).readUInt16BE(0) & 0x3ff
  }
  const b = Buffer.from(random(16))
  b.writeUIntBE(now, 0, 6)
  b[6] = 0x70 | (seq >> 8)
  b[7] = seq & 0xff
  b[8] = (b[8] & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
