import { useEffect, useState } from 'react'
import { api, type Directory, enc, type ImportJob } from '../api'
import { ACTIVE_STATES, stateLabel } from '../imports/use-import'
import { KeyName, useKeyNames } from '../key-names'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

const PAGE = 50

/**
 * A directory's imports, newest first: state, counts, when; each links to its page; a queued or
 * running one, or one waiting for a confirmation, can be cancelled (confirming is on its page,
 * next to the users it would change).
 */
export function ImportsPage({ dir }: { dir: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const [jobs, setJobs] = useState<ImportJob[]>([])
  const [done, setDone] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [tick, setTick] = useState(0)
  const running = jobs.some((j) => ACTIVE_STATES.has(j.state))
  const keyNames = useKeyNames()

  // The newest page, again every 2 s while an import of the list is still active.
  useEffect(() => {
    const ctl = new AbortController()
    api<{ data: ImportJob[] }>('GET', `${base}/imports?limit=${PAGE}`, undefined, { signal: ctl.signal }).then(
      (r) => {
        setJobs((prev) => [...r.data, ...prev.slice(PAGE)])
        if (tick === 0) setDone(r.data.length < PAGE)
        setError(null)
      },
      (e: unknown) => !ctl.signal.aborted && setError(e),
    )
    return () => ctl.abort()
  }, [base, tick])
  useEffect(() => {
    if (!running) return
    const t = setTimeout(() => setTick((n) => n + 1), 2000)
    return () => clearTimeout(t)
  }, [running, jobs])

  async function older() {
    try {
      const last = jobs[jobs.length - 1]
      const r = await api<{ data: ImportJob[] }>('GET', `${base}/imports?limit=${PAGE}&before=${enc(last.createdAt)}`)
      setJobs((prev) => [...prev, ...r.data])
      setDone(r.data.length < PAGE)
    } catch (e) {
      setError(e)
    }
  }

  async function cancel(j: ImportJob) {
    try {
      const answer = await api<ImportJob>('POST', `/imports/${enc(j.id)}/cancel`)
      setJobs((prev) => prev.map((x) => (x.id === answer.id ? answer : x)))
    } catch (e) {
      setError(e)
    }
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / Imports
      </p>
      <h1>Imports{directory.data ? ` of ${directory.data.name}` : ''}</h1>
      <p>
        <Link to={`${base}/imports/new`} className="button">
          New import
        </Link>
      </p>
      <ErrorNote error={error ?? directory.error} />
      {done && jobs.length === 0 && <p className="muted">No imports in this directory yet.</p>}
      {jobs.length > 0 && (
        <table className="grid" aria-label="Imports">
          <thead>
            <tr>
              <th scope="col">Import</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Rows</th>
              <th scope="col">Created · updated · unchanged · failed</th>
              <th scope="col">Started by</th>
              <th scope="col">Channel</th>
              <th scope="col">When</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id}>
                <td>
                  <Link to={`/imports/${enc(j.id)}`}>{`${j.options.dryRun ? 'Plan' : 'Import'} ${j.id.slice(0, 8)}`}</Link>
                </td>
                <td>{j.kind === 'apply' ? 'apply' : j.options.dryRun ? 'dry run' : 'import'}</td>
                <td>
                  <span className={`state ${j.state}`}>{stateLabel(j.state)}</span>
                </td>
                <td>
                  {j.counts.processed}
                  {j.counts.total !== null && j.counts.total !== j.counts.processed ? ` of ${j.counts.total}` : ''}
                </td>
                <td>
                  {j.counts.created} · {j.counts.updated} · {j.counts.unchanged} · {j.counts.failed}
                </td>
                <td>
                  <KeyName id={j.keyId} names={keyNames} />
                </td>
                <td>{typeof j.options.channel === 'string' ? j.options.channel : 'native'}</td>
                <td>{formatTime(j.createdAt)}</td>
                <td className="actions">
                  {(j.state === 'queued' || j.state === 'running' || j.state === 'needs_confirmation') && (
                    <button
                      type="button"
                      className="quiet danger"
                      onClick={() => void cancel(j)}
                      aria-label={`Cancel import ${j.id.slice(0, 8)}`}
                    >
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!done && jobs.length > 0 && (
        <button type="button" className="quiet" onClick={() => void older()}>
          Older imports
        </button>
      )}
    </section>
  )
}
