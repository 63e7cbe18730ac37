import type { FieldError } from '../core/errors.js'
import type { FieldDefinition } from '../core/types.js'
import { parseCsvChunks } from '../engine/parsers/csv.js'
import { NotAJsonArray, parseJsonArray, parseNdjson } from '../engine/parsers/json.js'
import { csvMapper, MappingError, objectMapper } from '../engine/parsers/mapping.js'
import type { BulkRow } from '../engine/types.js'
import type { ImportOptions, InputFormat } from '../core/jobs.js'

/** The input cannot be read as a whole (not CSV, empty, bad header): the job fails before any write. */
export class InputError extends Error {}

/** One input row, with where it stood: the engine gets `row`, results get `line` and `raw`. */
export interface InputRow {
  row: BulkRow
  line: number
  /**
   * The record as it came: its text, or for a well-formed CSV record its cells, encoded (rawText)
   * only when a result keeps them: a failed row's. Most rows never need it.
   */
  raw: string | readonly string[]
}

/** The record as results keep it: its text, or a CSV record's cells as a JSON array. */
export const rawText = (r: InputRow): string => (typeof r.raw === 'string' ? r.raw : JSON.stringify(r.raw))

export interface ReadInput {
  format: InputFormat
  options: ImportOptions
  definitions: readonly FieldDefinition[]
  /** Told the CSV header once it is read (kept for failed.csv). */
  onColumns?: (columns: string[]) => void
}

const rowError = (message: string): FieldError => ({ field: '', code: 'malformed_row', message })

/** Does the first chunk look like text at all? Binary files fail before any write. */
async function* guardBinary(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let first = true
  let any = false
  for await (const c of chunks) {
    if (first && c.subarray(0, 8192).includes(0))
      throw new InputError('the file is not text (it holds NUL bytes); send CSV, NDJSON or a JSON array')
    first = false
    if (c.length) any = true
    yield c
  }
  if (!any) throw new InputError('the file is empty')
}

/** The rows of an input, in order, mapped to user objects; bad rows carry their errors. */
export async function* readInput(chunks: AsyncIterable<Buffer>, opts: ReadInput): AsyncGenerator<InputRow> {
  for await (const rows of readInputChunks(chunks, opts)) yield* rows
}

/**
 * readInput's rows as the chunks of input complete them (CSV: the rows of each stored chunk; JSON:
 * one at a time): the import runs its per-row work in plain loops, one async step per chunk.
 */
export async function* readInputChunks(chunks: AsyncIterable<Buffer>, opts: ReadInput): AsyncGenerator<InputRow[]> {
  const source = guardBinary(chunks)
  if (opts.format === 'csv') {
    let map: ReturnType<typeof csvMapper> | null = null
    let width = 0
    let rows = 0
    for await (const records of parseCsvChunks(source, { delimiter: opts.options.delimiter, quote: opts.options.quote })) {
      const out: InputRow[] = []
      for (const rec of records) {
        if (!map) {
          if (!rec.cells) throw new InputError(`the header (line ${rec.line}) is malformed: ${rec.error}`)
          const header = opts.options.header ? rec.cells.map((c) => c.trim()) : rec.cells.map((_, i) => `column${i + 1}`)
          if (header.some((h) => h === '')) throw new InputError('the header has an empty column name')
          try {
            map = csvMapper(header, opts.definitions, opts.options)
          } catch (e) {
            if (e instanceof MappingError) throw new InputError(e.message)
            throw e
          }
          width = header.length
          opts.onColumns?.(header)
          if (opts.options.header) continue
        }
        rows++
        if (!rec.cells) {
          out.push({
            row: { data: {}, errors: [rowError(`line ${rec.line}: ${rec.error}`)] },
            line: rec.line,
            raw: JSON.stringify([rec.raw]),
          })
          continue
        }
        const raw = rec.cells
        if (rec.cells.length !== width) {
          out.push({
            row: { data: {}, errors: [rowError(`line ${rec.line}: expected ${width} cells, got ${rec.cells.length}`)] },
            line: rec.line,
            raw,
          })
          continue
        }
        const { data, errors, ops } = map(rec.cells)
        out.push({ row: { data, ...(errors.length ? { errors } : {}), ...(ops ? { ops } : {}) }, line: rec.line, raw })
      }
      if (out.length) yield out
    }
    if (!map) throw new InputError('the file is empty')
    if (rows === 0) throw new InputError('the file has a header but no rows')
    return
  }
  const mapObject = objectMapper(opts.options.mapping)
  let rows = 0
  try {
    for await (const rec of opts.format === 'ndjson' ? parseNdjson(source) : parseJsonArray(source)) {
      rows++
      if (rec.error !== undefined)
        yield [{ row: { data: {}, errors: [rowError(`line ${rec.line}: ${rec.error}`)] }, line: rec.line, raw: rec.raw }]
      else yield [{ row: { data: mapObject(rec.value) }, line: rec.line, raw: rec.raw }]
    }
  } catch (e) {
    if (e instanceof InputError) throw e
    if (e instanceof NotAJsonArray) throw new InputError(e.message)
    throw e
  }
  if (rows === 0) throw new InputError(opts.format === 'ndjson' ? 'the file has no records' : 'the JSON array is empty')
}
