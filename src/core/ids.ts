import { randomInt, randomUUID } from 'node:crypto'

let lastMs = 0
let seq = 0
/** `tttttttt-tttt-7`: the id's first 15 characters for `lastMs`, made once per millisecond. */
let prefix = ''
/** The counter as three hex digits, by value. */
const HEX3 = Array.from({ length: 0x1000 }, (_, i) => i.toString(16).padStart(3, '0'))

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids created together
 * sort together. Users created by one bulk batch land next to each other in every index keyed
 * by id, instead of on random pages: a batch writes a few pages instead of one per row.
 * Within one millisecond a 12-bit counter (rand_a, started at a random value below 1024) keeps
 * ids increasing.
 *
 * The random tail (the variant and 62 random bits) is that of a native `randomUUID()`, which
 * draws from the OS in bulk: `xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`, V already the RFC's variant
 * (8, 9, a or b). Building the id from Buffers and hex slices cost an import 0.4 KiB of garbage
 * and a microsecond per user.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff
    if (seq === 0) {
      lastMs++
      prefix = ''
    }
  } else {
    lastMs = now
    seq = randomInt(0x400)
    prefix = ''
  }
  if (prefix === '') {
    const h = lastMs.toString(16).padStart(12, '0')
    prefix = `${h.slice(0, 8)}-${h.slice(8)}-7`
  }
  return `${prefix}${HEX3[seq]}-${randomUUID().slice(19)}`
}
