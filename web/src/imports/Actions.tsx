import { useState } from 'react'
import { api, enc, type ImportJob } from '../api'
import { navigate } from '../router'
import { ErrorNote, useLoad } from '../ui'
import { download } from './transfer'
import { ACTIVE_STATES, plural } from './use-import'

/**
 * What can be done with an import now: cancel it while it runs, apply a completed dry run's plan,
 * revert a completed import (after a confirmation), and download its failed rows.
 */
export function ImportActions({ job, update }: { job: ImportJob; update: (j: ImportJob) => void }) {
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [confirmRevert, setConfirmRevert] = useState(false)
  // An apply writes a plan: the rows that failed are the plan's, in the planned file's columns.
  const plan = useLoad(`plan:${job.sourceJobId ?? ''}`, (signal) =>
    job.sourceJobId ? api<ImportJob>('GET', `/imports/${enc(job.sourceJobId)}`, undefined, { signal }) : Promise.resolve(null),
  )
  const failedSource = job.kind === 'apply' ? plan.data : job
  const done = job.state === 'completed'

  async function act(action: 'cancel' | 'apply' | 'revert') {
    setBusy(true)
    setError(null)
    try {
      const answer = await api<ImportJob>('POST', `/imports/${enc(job.id)}/${action}`)
      setConfirmRevert(false)
      if (action === 'apply') navigate(`/imports/${enc(answer.id)}`)
      else update(answer)
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  async function save(path: string, name: string) {
    setError(null)
    try {
      await download(path, name)
    } catch (e) {
      setError(e)
    }
  }

  return (
    <div className="actions-block">
      <div className="button-row">
        {ACTIVE_STATES.has(job.state) && job.state !== 'reverting' && (
          <button type="button" className="danger" disabled={busy} onClick={() => void act('cancel')}>
            Cancel import
          </button>
        )}
        {done && job.options.dryRun && job.kind === 'import' && (
          <button type="button" disabled={busy} onClick={() => void act('apply')}>
            Apply this plan
          </button>
        )}
        {failedSource && failedSource.counts.failed > 0 && (
          <button
            type="button"
            className="quiet"
            onClick={() => void save(`/imports/${enc(failedSource.id)}/failed.csv`, `import-${failedSource.id.slice(0, 8)}-failed.csv`)}
          >
            Download failed rows ({failedSource.counts.failed})
          </button>
        )}
        {job.kind === 'apply' && job.counts.failed > 0 && (
          <button
            type="button"
            className="quiet"
            onClick={() =>
              void save(`/imports/${enc(job.id)}/results?status=failed&format=csv`, `apply-${job.id.slice(0, 8)}-conflicts.csv`)
            }
          >
            Download rows that did not apply ({job.counts.failed})
          </button>
        )}
        {done && !job.options.dryRun && !confirmRevert && (
          <button type="button" className="quiet danger" disabled={busy} onClick={() => setConfirmRevert(true)}>
            Revert
          </button>
        )}
      </div>
      {done && job.options.dryRun && job.kind === 'import' && (
        <p className="muted">
          Applying writes exactly this plan, without reading the file again. A user someone changed since the plan was made becomes a
          conflict and is left as it is.
        </p>
      )}
      {confirmRevert && (
        <div className="confirm" role="group" aria-label="Confirm the revert">
          <p>
            Revert this import? Every field it set goes back to its value before it, and the {plural(job.counts.created, 'user')} it created
            are deleted. Fields someone changed since are left as they are and listed as conflicts.
          </p>
          <div className="button-row">
            <button type="button" className="danger" disabled={busy} onClick={() => void act('revert')}>
              Revert import
            </button>
            <button type="button" className="quiet" onClick={() => setConfirmRevert(false)}>
              Keep it
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={error} />
    </div>
  )
}
