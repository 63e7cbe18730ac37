import type { ImportJob } from '../api'
import { formatDuration, RESTING_STATES } from './use-import'

/** How far a job is: `processed` of `total` (unknown until the input has been read to the end). */
export function percentOf(job: ImportJob): number | null {
  if (job.state === 'completed' || job.state === 'reverted' || job.state === 'reverting') return 100
  const { total, processed } = job.counts
  if (!total) return job.state === 'queued' || job.state === 'uploading' ? 0 : null
  return Math.min(100, Math.floor((processed / total) * 100))
}

/** The live progress of an import: a progress bar, rows per second, ETA and the counts. */
export function ImportProgress({ job }: { job: ImportJob }) {
  const pct = percentOf(job)
  const c = job.counts
  const label = job.options.dryRun ? 'Dry run progress' : job.kind === 'apply' ? 'Apply progress' : 'Import progress'
  // A mirror import over its limit has read every row and waits: nothing moves until someone decides.
  const waiting = job.state === 'needs_confirmation'
  return (
    <div className="progress-block">
      <div className="progress-head">
        <span id={`progress-${job.id}`}>{label}</span>
        <span aria-hidden="true">
          {pct === null ? 'reading…' : `${pct} %`}
          {waiting && ' · waiting for a confirmation'}
        </span>
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-labelledby={`progress-${job.id}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={pct === null ? `${c.processed} rows so far` : `${pct} %, ${c.processed} of ${c.total ?? '?'} rows`}
      >
        <div
          className={`bar${pct === null && !waiting ? ' indeterminate' : ''}${waiting ? ' waiting' : ''}`}
          style={{ width: `${pct ?? 100}%` }}
        />
      </div>
      <p className="muted" aria-live="polite">
        {c.processed.toLocaleString()} of {c.total === null ? 'an unknown number of' : c.total.toLocaleString()} rows ·{' '}
        {job.rowsPerSecond === null ? '—' : `${job.rowsPerSecond.toLocaleString()} rows/s`}
        {!RESTING_STATES.has(job.state) && <> · ETA {formatDuration(job.etaSeconds)}</>}
        {waiting && <> · the rows are written; the users missing from the file wait for a confirmation</>}
      </p>
    </div>
  )
}

const COUNT_LABELS: [keyof ImportJob['counts'], string][] = [
  ['total', 'Rows'],
  ['created', 'Created'],
  ['updated', 'Updated'],
  ['unchanged', 'Unchanged'],
  ['failed', 'Failed'],
  ['conflicts', 'Conflicts'],
]

/** Counts by status (for a dry run: what applying the plan will do). */
export function Counts({ job, caption }: { job: ImportJob; caption: string }) {
  return (
    <dl className="counts" aria-label={caption}>
      {COUNT_LABELS.map(([k, label]) => (
        <div key={k} className={`count ${k}`}>
          <dt>{label}</dt>
          <dd>{job.counts[k] ?? '—'}</dd>
        </div>
      ))}
    </dl>
  )
}
