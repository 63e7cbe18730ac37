/**
 * The CSV parser alone over the imports benchmark's file, streamed from disk in 1 MiB chunks (the
 * size the server stores and reads back): Rollcall's parseCsv, Rollcall's whole input reader
 * (parseCsv plus the column mapping into user objects, what the import job runs per row before
 * the engine), and papaparse. Every record is checked: a fast wrong answer is no benchmark.
 */
import { createReadStream } from 'node:fs'
import Papa from 'papaparse'
import { effectiveFields } from '../src/core/fields.js'
import { parseCsvChunks } from '../src/engine/parsers/csv.js'
import { parseImportOptions } from '../src/http/routes/import-upload.js'
import { readInputChunks } from '../src/jobs/input.js'
import { IMPORT_HEADER } from './import-rows.js'
import { nowMs } from './stats.js'

export interface ParserResult {
  name: string
  /** Data rows (the header not counted). */
  rows: number
  seconds: number
  rowsPerSec: number
  mbPerSec: number
}

const CHUNK = 1024 * 1024
const WIDTH = IMPORT_HEADER.length

async function rollcallParseCsv(file: string, rows: number): Promise<number> {
  let records = 0
  // delimiter null: detected, as an upload without options is.
  // The records of each chunk at once, as the import job reads them.
  for await (const chunk of parseCsvChunks(createReadStream(file, { highWaterMark: CHUNK }), { delimiter: null, quote: '"' })) {
    for (const rec of chunk) {
      if (!rec.cells || rec.cells.length !== WIDTH)
        throw new Error(`parseCsv, line ${rec.line}: ${rec.error ?? `${rec.cells?.length} cells`}`)
      records++
    }
  }
  if (records !== rows + 1) throw new Error(`parseCsv read ${records} records, expected ${rows + 1}`)
  return records - 1
}

async function rollcallReadInput(file: string, rows: number): Promise<number> {
  let n = 0
  const input = readInputChunks(createReadStream(file, { highWaterMark: CHUNK }), {
    format: 'csv',
    options: parseImportOptions({}),
    definitions: effectiveFields([]),
  })
  for await (const chunk of input) {
    for (const r of chunk) {
      if (r.row.errors?.length || typeof (r.row.data as { email?: unknown }).email !== 'string') {
        throw new Error(`readInput, line ${r.line}: ${JSON.stringify(r.row.errors ?? r.row.data)}`)
      }
      n++
    }
  }
  if (n !== rows) throw new Error(`readInput read ${n} rows, expected ${rows}`)
  return n
}

function papaparse(file: string, rows: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let records = 0
    let bad: string | null = null
    // A Node stream: papaparse parses each chunk as it comes (no backpressure needed, parsing is synchronous).
    Papa.parse<string[]>(createReadStream(file, { highWaterMark: CHUNK, encoding: 'utf8' }), {
      skipEmptyLines: true,
      step: (r) => {
        if (bad === null && (r.errors.length > 0 || r.data.length !== WIDTH))
          bad = `row ${records + 1}: ${JSON.stringify(r.errors[0] ?? r.data)}`
        records++
      },
      complete: () => {
        if (bad !== null) reject(new Error(`papaparse, ${bad}`))
        else if (records !== rows + 1) reject(new Error(`papaparse read ${records} records, expected ${rows + 1}`))
        else resolve(records - 1)
      },
      error: (err: Error) => reject(err),
    })
  })
}

const PARSERS: readonly { name: string; run: (file: string, rows: number) => Promise<number> }[] = [
  { name: 'Rollcall parseCsv', run: rollcallParseCsv },
  { name: 'Rollcall readInput (parseCsv + mapping)', run: rollcallReadInput },
  { name: 'papaparse (step)', run: papaparse },
]

export async function benchParsers(file: string, bytes: number, rows: number): Promise<ParserResult[]> {
  const out: ParserResult[] = []
  for (const p of PARSERS) {
    const t0 = nowMs()
    const n = await p.run(file, rows)
    const seconds = (nowMs() - t0) / 1000
    out.push({ name: p.name, rows: n, seconds, rowsPerSec: n / seconds, mbPerSec: bytes / 1e6 / seconds })
  }
  return out
}
