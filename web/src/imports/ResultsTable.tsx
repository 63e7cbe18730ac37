import { useCallback, useEffect, useState } from 'react'
import { enc } from '../api'
import { ErrorNote, formatValue, Link } from '../ui'
import { type ResultRow, resultsPage } from './transfer'

/** Every status a result has: a row's, then (mirror imports) a user missing from the file. */
const STATUSES = ['created', 'updated', 'unchanged', 'failed', 'deactivated', 'deleted'] as const
/** A mirror import's users missing from the file come after the rows, with no line. */
const ABSENT: ReadonlySet<string> = new Set(['deactivated', 'deleted'])

/**
 * A table of an import's per-row results, read a page at a time from the API: every row, one
 * status (fixed, or chosen in a filter), or the rows with a warning. Each row shows its line,
 * status, user, errors and warnings, and (dry runs) each field's value before → after.
 */
export function ResultsTable({
  jobId,
  dir,
  title,
  status: fixedStatus,
  warning,
  filter = false,
  pageSize = 50,
  more = true,
  empty,
}: {
  jobId: string
  dir: string
  title: string
  status?: string
  warning?: string
  filter?: boolean
  pageSize?: number
  more?: boolean
  empty: string
}) {
  const [status, setStatus] = useState(fixedStatus ?? '')
  const [rows, setRows] = useState<ResultRow[]>([])
  const [done, setDone] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(false)
  const headingId = `results-${title.replace(/\W+/g, '-').toLowerCase()}`

  const load = useCallback(
    async (after: number | undefined, signal?: AbortSignal) => {
      setLoading(true)
      try {
        const page = await resultsPage(jobId, { status: status || undefined, warning, after, limit: pageSize }, signal)
        setRows((prev) => (after === undefined ? page : [...prev, ...page]))
        setDone(page.length < pageSize)
        setError(null)
      } catch (e) {
        if (!signal?.aborted) setError(e)
      } finally {
        if (!signal?.aborted) setLoading(false)
      }
    },
    [jobId, status, warning, pageSize],
  )

  // The first page, again when the filter changes.
  useEffect(() => {
    const ctl = new AbortController()
    resultsPage(jobId, { status: status || undefined, warning, limit: pageSize }, ctl.signal).then(
      (page) => {
        setRows(page)
        setDone(page.length < pageSize)
        setError(null)
      },
      (e: unknown) => !ctl.signal.aborted && setError(e),
    )
    return () => ctl.abort()
  }, [jobId, status, warning, pageSize])

  return (
    <section className="results" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {filter && (
        <div className="inline-form">
          <div>
            <label htmlFor={`${headingId}-status`}>Show rows</label>
            <select id={`${headingId}-status`} value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">all</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
      {rows.length === 0 && done && <p className="muted">{empty}</p>}
      {rows.length > 0 && <ResultRows rows={rows} dir={dir} labelledBy={headingId} />}
      {more && !done && rows.length > 0 && (
        <button type="button" className="quiet" disabled={loading} onClick={() => void load(rows[rows.length - 1].index)}>
          Show more
        </button>
      )}
    </section>
  )
}

/** Result rows as a table: line, status, user (linked), and each row's changes, errors and warnings. */
export function ResultRows({ rows, dir, labelledBy }: { rows: readonly ResultRow[]; dir: string; labelledBy: string }) {
  return (
    <table className="grid results-table" aria-labelledby={labelledBy}>
      <thead>
        <tr>
          <th scope="col">Line</th>
          <th scope="col">Status</th>
          <th scope="col">User</th>
          <th scope="col">Changes, errors and warnings</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.index} className={`status-${r.status}`}>
            <td>{r.line ?? (ABSENT.has(r.status) ? <span className="muted">not in the file</span> : `row ${r.index + 1}`)}</td>
            <td>
              <span className={`badge ${r.status}`}>{r.status}</span>
            </td>
            <td>
              {r.userId && r.status === 'deleted' ? (
                <code className="small" title={r.userId}>
                  {r.userId.slice(-8)}
                </code>
              ) : r.userId ? (
                <Link to={`/directories/${enc(dir)}/users/${enc(r.userId)}`}>{r.userId.slice(-8)}</Link>
              ) : (
                <span className="muted">new</span>
              )}
            </td>
            <td>
              <RowDetail row={r} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function RowDetail({ row }: { row: ResultRow }) {
  const changes = Object.entries(row.changes ?? {})
  return (
    <>
      {row.errors.map((e, i) => (
        <p key={`e${i}`} className="row-error">
          {e.field && <code>{e.field}</code>} {e.message}
        </p>
      ))}
      {row.warnings?.map((w, i) => (
        <p key={`w${i}`} className="row-warning">
          {w.field && <code>{w.field}</code>} {w.message}
        </p>
      ))}
      {changes.length > 0 && (
        <ul className="changes">
          {changes.map(([field, [before, after]]) => (
            <li key={field}>
              <code>{field}</code> <span className="before">{formatValue(before)}</span> <span aria-label="becomes">→</span>{' '}
              <span className="after">{formatValue(after)}</span>
            </li>
          ))}
        </ul>
      )}
      {changes.length === 0 && row.errors.length === 0 && row.changedFields.length > 0 && (
        <p className="muted">{row.changedFields.join(', ')}</p>
      )}
      {row.status === 'deleted' && changes.length === 0 && <p className="muted">deleted: no row of the file names this user</p>}
    </>
  )
}
