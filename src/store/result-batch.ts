import { deflateSync, inflateSync } from 'node:zlib'
import type { JobResultRow, JobRowStatus } from '../core/jobs.js'

/**
 * A batch's per-row results as one compact record (`job_result_batches`), instead of one
 * `job_results` row each: a row that needs no more than its status, user id, line and changed
 * fields costs about 45 bytes of one JSON text written once per batch, not a row, an index entry
 * and five columns of its own. Rows that carry more (errors, warnings, a dry run's plan, the raw
 * input of a failed row) keep a `job_results` row of their own, which overrides the batch's entry
 * for that index, so `results?status=failed` and the warnings stay index reads.
 *
 * The JSON is stored deflated (zlib, level 1): user ids are most of it, and ids made close in
 * time share their UUIDv7 prefix, so a row costs ~14 bytes instead of ~45 (0.5 ms a 1,000-row
 * batch). Records written before this are JSON text, and read as such.
 */
export interface ResultBatch {
  firstIndex: number
  count: number
  /** zlib-deflated JSON; JSON text (a string, or its bytes) in records made before compression. */
  data: Buffer | string
}

/** A zlib stream's first byte (deflate, 32 KiB window); JSON text starts with `{`. */
const ZLIB_HEADER = 0x78

/** The stored form: parallel per-row arrays, short keys, each list of changed fields kept once. */
interface Encoded {
  /** One character per row: c created, u updated, n unchanged, f failed; absent users d deactivated, x deleted. */
  s: string
  /** User ids (null: none, as for a failed new row). */
  u: (string | null)[]
  /** Lines as differences from the row before (the first from 0); null when no row has a line. */
  l: number[] | null
  /** The distinct lists of changed fields… */
  f: string[][]
  /** …and each row's list, by position in `f` (-1: none changed). */
  x: number[]
}

const CODE: Record<JobRowStatus, string> = { created: 'c', updated: 'u', unchanged: 'n', failed: 'f', deactivated: 'd', deleted: 'x' }
const STATUS: Record<string, JobRowStatus> = { c: 'created', u: 'updated', n: 'unchanged', f: 'failed', d: 'deactivated', x: 'deleted' }

/** A row whose result needs a `job_results` row of its own. */
export const needsDetail = (r: JobResultRow): boolean =>
  r.errors.length > 0 || r.warnings.length > 0 || r.plan !== null || r.raw !== null || r.status === 'failed'

/**
 * The compact record of `rows`, or null when it would hold nothing useful (every row needs a
 * detail row) or the rows are not one run of consecutive indexes.
 */
export function encodeBatch(rows: readonly JobResultRow[]): ResultBatch | null {
  if (rows.length === 0) return null
  const first = rows[0].index
  let details = 0
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].index !== first + i) return null
    if (needsDetail(rows[i])) details++
  }
  if (details === rows.length) return null
  let s = ''
  const u: (string | null)[] = new Array(rows.length)
  const l: number[] = new Array(rows.length)
  let anyLine = false
  let previousLine = 0
  const lists = new Map<string, number>()
  const f: string[][] = []
  const x: number[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]
    s += CODE[r.status]
    u[i] = r.userId
    if (r.line !== null) {
      anyLine = true
      l[i] = r.line - previousLine
      previousLine = r.line
    } else l[i] = 0
    if (r.changedFields.length === 0) x[i] = -1
    else {
      const key = r.changedFields.join('\u0000')
      let at = lists.get(key)
      if (at === undefined) {
        at = f.length
        f.push(r.changedFields)
        lists.set(key, at)
      }
      x[i] = at
    }
  }
  // A line of 0 never occurs (lines are 1-based), so 0 stands for "no line" after decoding.
  const encoded: Encoded = { s, u, l: anyLine ? l : null, f, x }
  return { firstIndex: first, count: rows.length, data: deflateSync(JSON.stringify(encoded), { level: 1 }) }
}

const textOf = (data: Buffer | string): string =>
  typeof data === 'string' ? data : data[0] === ZLIB_HEADER ? inflateSync(data).toString('utf8') : data.toString('utf8')

/** The rows of a compact record, in index order, each as a result without detail. */
export function decodeBatch(batch: ResultBatch): JobResultRow[] {
  const e = JSON.parse(textOf(batch.data)) as Encoded
  const out: JobResultRow[] = new Array(batch.count)
  let line = 0
  for (let i = 0; i < batch.count; i++) {
    let rowLine: number | null = null
    if (e.l) {
      line += e.l[i]
      rowLine = e.l[i] === 0 ? null : line
    }
    out[i] = {
      index: batch.firstIndex + i,
      line: rowLine,
      status: STATUS[e.s[i]],
      userId: e.u[i],
      changedFields: e.x[i] < 0 ? [] : [...e.f[e.x[i]]],
      errors: [],
      warnings: [],
      plan: null,
      raw: null,
    }
  }
  return out
}
