import Papa from 'papaparse'
import { isPlainObject } from '../../core/merge.js'
import type { JsonObject } from '../../core/types.js'

/** One user read from the `csv` string: where it came from, and what it sets. */
export interface CsvUser {
  /** `csv row N`, counting data rows from 1 (the header is not a row). */
  where: string
  email: string
  phone?: string
  metadata?: JsonObject
}

export interface CsvParse {
  users: CsvUser[]
  /** Every problem found, each naming its row; the request fails if there is any. */
  problems: string[]
}

/**
 * Parses One of None's `csv` field: RFC 4180 (a metadata cell holding commas must be quoted),
 * headers `email` (required), `phone`, `metadata` matched case-insensitively, other columns
 * ignored, an empty cell meaning "not provided" (doors.md §1(b) [A]). A row with fewer cells than
 * the header simply leaves the rest empty; a row with more is malformed (an unquoted JSON cell).
 */
export function parseUsersCsv(csv: string): CsvParse {
  const parsed = Papa.parse<Record<string, string | undefined>>(csv, {
    header: true,
    delimiter: ',',
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim().toLowerCase(),
  })
  const problems: string[] = []
  const at = (row: number | undefined) => (row === undefined ? 'csv' : `csv row ${row + 1}`)
  for (const e of parsed.errors) {
    // Papa Parse counts the header line in the row of quote errors, not in that of field-count errors.
    if (e.type === 'Quotes' && e.row !== undefined) e.row -= 1
    if (e.code === 'TooFewFields') continue
    if (e.code === 'TooManyFields')
      problems.push(`${at(e.row)}: more cells than the header has columns (a metadata cell that contains commas must be quoted)`)
    else problems.push(`${at(e.row)}: ${e.message}`)
  }
  const headers = parsed.meta.fields ?? []
  if (!headers.includes('email')) return { users: [], problems: [...problems, "csv: the header must name an 'email' column"] }

  const users: CsvUser[] = []
  parsed.data.forEach((row, i) => {
    const where = `csv row ${i + 1}`
    const cell = (k: string) => {
      const v = row[k]
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined
    }
    const email = cell('email')
    if (!email) {
      problems.push(`${where}: email is required`)
      return
    }
    const user: CsvUser = { where, email }
    const phone = cell('phone')
    if (phone !== undefined) user.phone = phone
    const metadata = cell('metadata')
    if (metadata !== undefined) {
      let value: unknown
      try {
        value = JSON.parse(metadata)
      } catch (e) {
        problems.push(`${where}: metadata is not valid JSON (${(e as Error).message})`)
        return
      }
      if (!isPlainObject(value)) {
        problems.push(`${where}: metadata must be a JSON object`)
        return
      }
      user.metadata = value
    }
    users.push(user)
  })
  return { users, problems }
}
