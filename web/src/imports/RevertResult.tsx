import { useEffect, useState } from 'react'
import { api, enc, type ImportJob } from '../api'
import { ErrorNote, formatValue, Link } from '../ui'

interface Conflict {
  userId: string
  field: string
  expected: unknown
  actual: unknown
}

/** What a revert did, and the fields it left alone because someone changed them after the import. */
export function RevertResult({ job }: { job: ImportJob }) {
  const r = job.revert
  const [conflicts, setConflicts] = useState<Conflict[]>([])
  const [next, setNext] = useState<number | null>(null)
  const [error, setError] = useState<unknown>(null)
  const finished = job.state === 'reverted'

  async function load(cursor: number | null) {
    try {
      const page = await api<{ data: Conflict[]; nextCursor: number | null }>(
        'GET',
        `/imports/${enc(job.id)}/conflicts?limit=100${cursor === null ? '' : `&cursor=${cursor}`}`,
      )
      setConflicts((prev) => (cursor === null ? page.data : [...prev, ...page.data]))
      setNext(page.nextCursor)
    } catch (e) {
      setError(e)
    }
  }

  useEffect(() => {
    if (!finished) return
    let live = true
    api<{ data: Conflict[]; nextCursor: number | null }>('GET', `/imports/${enc(job.id)}/conflicts?limit=100`).then(
      (page) => {
        if (!live) return
        setConflicts(page.data)
        setNext(page.nextCursor)
      },
      (e: unknown) => live && setError(e),
    )
    return () => {
      live = false
    }
  }, [finished, job.id])

  if (!r) return null
  return (
    <section aria-labelledby="revert-title">
      <h2 id="revert-title">Revert</h2>
      <p>
        {finished ? 'Reverted' : 'Reverting'}: {r.users} users looked at, {r.restored} restored, {r.deleted} deleted, {r.conflicts}{' '}
        conflicts.
      </p>
      <ErrorNote error={error} />
      {finished && conflicts.length === 0 && !error && <p className="muted">No conflicts: every field the import set is back.</p>}
      {conflicts.length > 0 && (
        <table className="grid" aria-label="Revert conflicts">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Field</th>
              <th scope="col">The import set</th>
              <th scope="col">Now (left as it is)</th>
            </tr>
          </thead>
          <tbody>
            {conflicts.map((c, i) => (
              <tr key={`${c.userId}/${c.field}/${i}`}>
                <td>
                  <Link to={`/directories/${enc(job.directoryId)}/users/${enc(c.userId)}`}>{c.userId.slice(-8)}</Link>
                </td>
                <td>{c.field ? <code>{c.field}</code> : 'the whole user (created by the import, changed since)'}</td>
                <td>{formatValue(c.expected)}</td>
                <td>{formatValue(c.actual)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button type="button" className="quiet" onClick={() => void load(next)}>
          Show more conflicts
        </button>
      )}
    </section>
  )
}
