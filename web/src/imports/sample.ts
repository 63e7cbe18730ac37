import Papa from 'papaparse'
import type { Format } from './formats'
import { duplicateColumn } from '../../../src/core/column-mapping'

/**
 * The start of a chosen file, read in the browser: its format, its columns and its first rows,
 * and the problems that make the server refuse it (empty, not text, duplicate columns). Only the
 * first SAMPLE_BYTES are read, whatever the file's size; the upload streams the file itself.
 */

export type { Format } from './formats'
export const SAMPLE_BYTES = 256 * 1024
const SAMPLE_ROWS = 20

export interface Sample {
  format: Format
  columns: string[]
  /** The first rows, each cell as text (JSON values written as JSON). */
  rows: Record<string, string>[]
  /** The sample is the whole file. */
  whole: boolean
  /** CSV: the delimiter the columns were read with, sent with the upload so the server reads the same columns. */
  delimiter?: string
}

/** A file the server would refuse before any write: the wizard says why and uploads nothing. */
export class FileProblem extends Error {}

function formatOf(name: string, text: string): Format {
  const ext = /\.(csv|tsv|txt|ndjson|jsonl|json)$/i.exec(name)?.[1].toLowerCase()
  if (ext === 'ndjson' || ext === 'jsonl') return 'ndjson'
  if (ext === 'json') return 'json'
  if (ext) return 'csv'
  const first = text.trimStart()[0]
  return first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv'
}

const cellText = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v))

function fromRecords(records: unknown[], format: Format, whole: boolean): Sample {
  const objects = records.filter((r): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r))
  if (objects.length === 0) throw new FileProblem('The start of the file holds no JSON object (one user per object).')
  const columns: string[] = []
  for (const o of objects) for (const k of Object.keys(o)) if (!columns.includes(k)) columns.push(k)
  const rows = objects.map((o) => Object.fromEntries(columns.map((c) => [c, cellText(o[c])])))
  return { format, columns, rows, whole }
}

/** The complete top-level values at the start of a JSON array's text (the text may stop mid-value). */
export function leadingArrayItems(text: string, max: number): unknown[] {
  const start = text.indexOf('[')
  const items: unknown[] = []
  let depth = 0
  let from = -1
  let inString = false
  for (let i = start + 1; i < text.length && items.length < max; i++) {
    const ch = text[i]
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
      continue
    }
    if (ch === '"') inString = true
    if (ch === '{' || ch === '[') {
      if (depth === 0) from = i
      depth++
    } else if (ch === '}' || ch === ']') {
      depth--
      if (depth === 0 && from !== -1) {
        items.push(JSON.parse(text.slice(from, i + 1)))
        from = -1
      }
      if (depth < 0) break
    }
  }
  return items
}

function csvSample(text: string, whole: boolean): Sample {
  // The last line of a partial read may be cut: parse whole lines only.
  const body = whole ? text : text.slice(0, Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1)
  const parsed = Papa.parse<string[]>(body, {
    preview: SAMPLE_ROWS + 1,
    skipEmptyLines: 'greedy',
    delimitersToGuess: [',', ';', '\t', '|'],
  })
  const [header, ...rest] = parsed.data
  if (!header || header.every((h) => h.trim() === '')) throw new FileProblem('The file has no header line naming its columns.')
  const dup = duplicateColumn(header)
  if (dup)
    throw new FileProblem(
      `The column "${dup.name}" appears twice (columns ${dup.first + 1} and ${dup.second + 1}): the server refuses a file with duplicate columns. Rename one and choose the file again.`,
    )
  if (whole && rest.length === 0) throw new FileProblem('The file has a header line but no rows.')
  const rows = rest.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])))
  return { format: 'csv', columns: header, rows, whole, delimiter: parsed.meta.delimiter }
}

export async function sampleFile(file: File): Promise<Sample> {
  if (file.size === 0) throw new FileProblem('The file is empty.')
  const whole = file.size <= SAMPLE_BYTES
  const bytes = new Uint8Array(await file.slice(0, SAMPLE_BYTES).arrayBuffer())
  if (bytes.includes(0)) throw new FileProblem('This is not a text file (it holds NUL bytes): choose a CSV, NDJSON or JSON file.')
  let text: string
  try {
    // `stream` when the read stops inside the file: a character cut at the end is not an error.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !whole })
  } catch {
    throw new FileProblem('This is not UTF-8 text: save the file as UTF-8 (CSV UTF-8) and choose it again.')
  }
  if (text.trim() === '') throw new FileProblem('The file is empty (it holds only blank space).')
  const format = formatOf(file.name, text)
  if (format === 'csv') return csvSample(text, whole)
  if (format === 'ndjson') {
    const lines = text.split(/\r\n|\n|\r/)
    if (!whole) lines.pop()
    const records: unknown[] = []
    for (const line of lines) {
      if (records.length >= SAMPLE_ROWS) break
      if (!line.trim()) continue
      try {
        records.push(JSON.parse(line))
      } catch {
        // A bad line fails alone on the server, with its line number.
      }
    }
    return fromRecords(records, 'ndjson', whole)
  }
  if (!text.trimStart().startsWith('[')) throw new FileProblem('A .json file must hold a JSON array of users.')
  let items: unknown[]
  try {
    const all: unknown = whole ? JSON.parse(text) : null
    items = Array.isArray(all) ? all.slice(0, SAMPLE_ROWS) : leadingArrayItems(text, SAMPLE_ROWS)
  } catch {
    throw new FileProblem('The file is not valid JSON.')
  }
  if (whole && items.length === 0) throw new FileProblem('The JSON array is empty.')
  return fromRecords(items, 'json', whole)
}
