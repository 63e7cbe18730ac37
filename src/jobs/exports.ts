import type { FieldError } from '../core/errors.js'
import type { Store } from '../store/store.js'
import { csvCell, neutralizeFormula } from '../core/csv-cell.js'
import type { Job, JobResultRow } from '../core/jobs.js'

/** Rows per page read from the database while streaming results: memory stays flat for any size. */
const PAGE = 1000

const csvLine = (cells: string[]) => `${cells.map((c) => csvCell(neutralizeFormula(c))).join(',')}\r\n`
const errorText = (errors: FieldError[]) => errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')

/**
 * Which results to read: of one status; only rows after a row index (a page's last `index`); at
 * most `limit` rows; only rows carrying a warning of this code (`duplicate_in_input`).
 */
export interface ResultsQuery {
  status?: string
  after?: number
  limit?: number
  warning?: string
}

async function* pages(store: Store, jobId: string, q: ResultsQuery = {}): AsyncGenerator<JobResultRow> {
  let after = q.after
  let left = q.limit ?? Infinity
  for (;;) {
    const want = q.warning ? PAGE : Math.min(PAGE, left)
    // With a warning asked for, only rows that carry one are read (an index read); the code is checked here.
    const rows = await store.jobs.results(jobId, {
      status: q.status,
      withWarnings: q.warning !== undefined,
      afterIndex: after,
      limit: want,
    })
    for (const r of rows) {
      if (q.warning && !r.warnings.some((w) => w.code === q.warning)) continue
      yield r
      if (--left <= 0) return
    }
    if (rows.length < want) return
    after = rows[rows.length - 1].index
  }
}

/** Every row's result in input order (or those the query asks for), as NDJSON. */
export async function* resultsNdjson(store: Store, job: Job, q: ResultsQuery = {}): AsyncGenerator<string> {
  for await (const r of pages(store, job.id, q)) {
    const { raw: _raw, plan, warnings, ...rest } = r
    const row = { ...rest, ...(warnings.length ? { warnings } : {}), ...(plan ? { changes: plan.changes } : {}) }
    yield `${JSON.stringify(row)}\n`
  }
}

/** Every row's result in input order (or those the query asks for), as CSV. */
export async function* resultsCsv(store: Store, job: Job, q: ResultsQuery = {}): AsyncGenerator<string> {
  yield csvLine(['index', 'line', 'status', 'userId', 'changedFields', 'errors'])
  for await (const r of pages(store, job.id, q))
    yield csvLine([
      String(r.index),
      r.line == null ? '' : String(r.line),
      r.status,
      r.userId ?? '',
      r.changedFields.join(' '),
      errorText(r.errors),
    ])
}

/**
 * The failed rows in the input's own columns plus `error`, ready to fix and upload again. Rows
 * from NDJSON or JSON come as one `record` column holding the JSON text.
 */
export async function* failedCsv(store: Store, job: Job): AsyncGenerator<string> {
  const columns = job.format === 'csv' && job.columns ? job.columns : ['record']
  yield csvLine([...columns, 'error'])
  for await (const r of pages(store, job.id, { status: 'failed' })) {
    let cells: string[]
    if (job.format === 'csv') {
      try {
        cells = JSON.parse(r.raw ?? '[]') as string[]
      } catch {
        cells = [r.raw ?? '']
      }
    } else cells = [r.raw ?? '']
    const padded = columns.map((_, i) => cells[i] ?? '')
    yield csvLine([
      ...padded,
      r.line == null ? errorText(r.errors) : `line ${r.line}: ${errorText(r.errors)}`.replace(/^line (\d+): line \1: /, 'line $1: '),
    ])
  }
}
