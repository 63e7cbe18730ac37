import type { FieldError } from '../core/errors.js'
import type { Store } from '../store/store.js'
import { csvCell, neutralizeFormula } from '../core/csv-cell.js'
import type { Job, JobResultRow } from '../core/jobs.js'

/** Rows per page read from the database while streaming results: memory stays flat for any size. */
const PAGE = 1000

const csvLine = (cells: string[]) => `${cells.map((c) => csvCell(neutralizeFormula(c))).join(',')}\r\n`
const errorText = (errors: FieldError[]) => errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')

async function* pages(store: Store, jobId: string, status?: string): AsyncGenerator<JobResultRow> {
  let after: number | undefined
  for (;;) {
    const rows = await store.jobs.results(jobId, { status, afterIndex: after, limit: PAGE })
    yield* rows
    if (rows.length < PAGE) return
    after = rows[rows.length - 1].index
  }
}

/** Every row's result in input order, as NDJSON. */
export async function* resultsNdjson(store: Store, job: Job, status?: string): AsyncGenerator<string> {
  for await (const r of pages(store, job.id, status)) {
    const { raw: _raw, plan, warnings, ...rest } = r
    const row = { ...rest, ...(warnings.length ? { warnings } : {}), ...(plan ? { changes: plan.changes } : {}) }
    yield `${JSON.stringify(row)}\n`
  }
}

/** Every row's result in input order, as CSV. */
export async function* resultsCsv(store: Store, job: Job, status?: string): AsyncGenerator<string> {
  yield csvLine(['index', 'line', 'status', 'userId', 'changedFields', 'errors'])
  for await (const r of pages(store, job.id, status))
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
  for await (const r of pages(store, job.id, 'failed')) {
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
