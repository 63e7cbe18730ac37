/**
 * The imports benchmark's input: the sync benchmark's rows (rows.ts) plus a display name, as a
 * 10-column CSV file written to disk in a stream, and the same rows for the raw engines.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { runPhase } from './phase.js'
import { makeRow, type BenchRow, type Phase } from './rows.js'
import type { PhaseResult } from './stats.js'

/** The imports benchmark's raw phases: every row new, then every row updated (the changed file's rows). */
export const IMPORT_PHASE: Phase = { number: 1, name: 'import (all new)' }
export const IMPORT_UPDATE_PHASE: Phase = { number: 4, name: 'update (every row changed)' }

export interface ImportRow extends BenchRow {
  displayName: string
}

/**
 * Headers as an HR export spells them: Rollcall maps them by name, ignoring case, spaces, `_`
 * and `-` (`External ID` → externalId); `metadata.<key>` columns go to metadata.
 */
export const IMPORT_HEADER = [
  'Email',
  'External ID',
  'First Name',
  'Last Name',
  'Display Name',
  'Phone',
  'Country',
  'Locale',
  'metadata.plan',
  'metadata.seats',
] as const

/** Every tenth display name is `Last, First`: a quoted cell with a comma, as real exports have. */
const quotedName = (i: number): boolean => i % 10 === 0

/**
 * Row i of the file. `changed`: the same user (email, external id) under a new first name, so an
 * import of it into a directory holding the first file updates every user.
 */
export function makeImportRow(i: number, changed = false): ImportRow {
  const made = makeRow(i, 1)
  const r = changed ? { ...made, firstName: `${made.firstName}b` } : made
  return { ...r, displayName: quotedName(i) ? `${r.lastName}, ${r.firstName}` : `${r.firstName} ${r.lastName}` }
}

/** Rows [start, start + size) clipped to `total`, for the raw engines (same shape as makeBatch). */
export function makeImportBatch(start: number, size: number, total: number, changed = false): ImportRow[] {
  const end = Math.min(start + size, total)
  const rows: ImportRow[] = []
  for (let i = start; i < end; i++) rows.push(makeImportRow(i, changed))
  return rows
}

/**
 * What Rollcall stores as metadata for a row: CSV cells are text, so `metadata.seats` arrives as
 * the string "3", not the number. The raw engines write exactly this.
 */
export const importMetadata = (r: ImportRow): string => JSON.stringify({ plan: r.metadata.plan, seats: String(r.metadata.seats) })

function csvLine(r: ImportRow, i: number): string {
  const name = quotedName(i) ? `"${r.displayName}"` : r.displayName
  return (
    `${r.email},${r.externalId},${r.firstName},${r.lastName},${name},${r.phone},${r.country},${r.locale},` +
    `${r.metadata.plan},${r.metadata.seats}\n`
  )
}

/**
 * Writes a header and the lines `lineOf(i)` for i in [0, rows) (null: no line) to `file`, about
 * 1,000 lines per write and waiting for the stream to drain, so the file is never held in memory.
 * Returns its size in bytes and the lines written.
 */
async function streamCsv(file: string, rows: number, lineOf: (i: number) => string | null): Promise<{ bytes: number; rows: number }> {
  const out = createWriteStream(file)
  const failed = new Promise<never>((_, reject) => out.once('error', reject))
  let bytes = 0
  let written = 0
  const write = async (s: string): Promise<void> => {
    bytes += Buffer.byteLength(s)
    if (!out.write(s)) await Promise.race([once(out, 'drain'), failed])
  }
  await write(`${IMPORT_HEADER.join(',')}\n`)
  for (let start = 0; start < rows; start += 1_000) {
    let s = ''
    for (let i = start; i < Math.min(start + 1_000, rows); i++) {
      const line = lineOf(i)
      if (line === null) continue
      s += line
      written++
    }
    await write(s)
  }
  out.end()
  await Promise.race([once(out, 'finish'), failed])
  return { bytes, rows: written }
}

/** A header and `rows` rows (`changed`: see makeImportRow) in `file`; its size in bytes. */
export async function writeImportCsv(file: string, rows: number, changed = false): Promise<number> {
  return (await streamCsv(file, rows, (i) => csvLine(makeImportRow(i, changed), i))).bytes
}

/**
 * A mirror's source of truth for a directory holding the first `rows` rows: every row but one in
 * `absentEvery` (the users that left), and one in `changedEvery` under a new first name. Returns
 * its size in bytes and its row count.
 */
export function writeMirrorCsv(
  file: string,
  rows: number,
  absentEvery: number,
  changedEvery: number,
): Promise<{ bytes: number; rows: number }> {
  return streamCsv(file, rows, (i) => (i % absentEvery === absentEvery - 1 ? null : csvLine(makeImportRow(i, i % changedEvery === 0), i)))
}

let pool = Buffer.alloc(0)
let poolAt = 0
let lastMs = 0
let seq = 0

/**
 * A UUIDv7 laid out as Rollcall's (src/core/ids.ts: 48 bits of milliseconds, a 12-bit counter,
 * random bits), so the raw engines' id index grows at its right edge as Rollcall's does, but with
 * its random bytes drawn from a pool: the raw side measures the engine, not `randomBytes(16)` per
 * row (about 15 µs a call on the benchmark machine).
 */
export function rawUuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff
    if (seq === 0) lastMs++
    now = lastMs
  } else {
    lastMs = now
    seq = 0
  }
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(16 * 1024)
    poolAt = 0
  }
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16))
  poolAt += 16
  b.writeUIntBE(now, 0, 6)
  b[6] = 0x70 | (seq >> 8)
  b[7] = seq & 0xff
  b[8] = (b[8] & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * The raw engines' import phases: the file into the empty table, then the changed file over it,
 * each row updating its user. `write` writes one batch (the timed step) and returns how many rows
 * it wrote; `count` gives the table's rows, which must stay `total` after each phase (an upsert's
 * count cannot tell an insert from an update).
 */
export async function runRawImportPhases(
  label: string,
  total: number,
  batchSize: number,
  write: (rows: ImportRow[], update: boolean) => number | Promise<number>,
  count: () => number | Promise<number>,
): Promise<PhaseResult[]> {
  const results: PhaseResult[] = []
  for (const phase of [IMPORT_PHASE, IMPORT_UPDATE_PHASE]) {
    const update = phase === IMPORT_UPDATE_PHASE
    results.push(
      await runPhase({
        label: `${label} ${update ? 'update' : 'import'}`,
        phase,
        total,
        batchSize,
        pid: 'self',
        makeRows: (start, size, all) => makeImportBatch(start, size, all, update),
        prepare: (rows) => rows,
        write: async (rows) => {
          const n = await write(rows, update)
          const rest = rows.length - n
          return update ? { created: 0, updated: n, unchanged: rest, failed: 0 } : { created: n, updated: 0, unchanged: rest, failed: 0 }
        },
      }),
    )
    const n = await count()
    if (n !== total) throw new Error(`${label} ${phase.name}: ${n} rows in the table, expected ${total}`)
  }
  return results
}
