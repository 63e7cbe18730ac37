import type { ImportOptions, InputFormat, Job, JobState } from './jobs.js'

export interface JobView {
  id: string
  directoryId: string
  kind: Job['kind']
  state: JobState
  format: InputFormat
  options: ImportOptions
  sourceJobId: string | null
  counts: Job['counts'] & { total: number | null }
  rowsPerSecond: number | null
  etaSeconds: number | null
  inputBytes: number
  /** Once reverted (or reverting): users restored, deleted again, and conflicts left alone. */
  revert: Job['revert']
  /** Mirror imports, once the input is in: the absent users and what was done to them. */
  absent: Omit<NonNullable<Job['absent']>, 'afterSeq'> | null
  error: string | null
  /** Who started it: the key's id (null when the CLI ran it on the database) and the request's id. */
  keyId: string | null
  requestId: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  /** Retention: when the uploaded file was deleted (it is once the job ends). */
  inputDeletedAt: string | null
  /** Retention: when the per-row results were deleted; results, failed.csv and conflicts answer 410 since. */
  resultsDeletedAt: string | null
}

/** What a client sees of a job, with its rate and, once the total is known, its ETA. */
export function viewJob(j: Job, now = Date.now()): JobView {
  const start = j.startedAt ? Date.parse(j.startedAt) : null
  const end = j.finishedAt ? Date.parse(j.finishedAt) : now
  const secs = start === null ? 0 : Math.max(0.001, (end - start) / 1000)
  const rate = start === null || j.counts.processed === 0 ? null : Math.round(j.counts.processed / secs)
  const eta =
    rate && j.total !== null && !j.finishedAt ? Math.max(0, Math.round((j.total - j.counts.processed) / rate)) : j.finishedAt ? 0 : null
  return {
    id: j.id,
    directoryId: j.directoryId,
    kind: j.kind,
    state: j.state,
    format: j.format,
    options: j.options,
    sourceJobId: j.sourceJobId,
    counts: { total: j.total, ...j.counts },
    rowsPerSecond: rate,
    etaSeconds: eta,
    inputBytes: j.inputBytes,
    revert: j.revert,
    absent: j.absent && (({ afterSeq: _, ...rest }) => rest)(j.absent),
    error: j.error,
    keyId: j.keyId,
    requestId: j.requestId,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    inputDeletedAt: j.inputPurgedAt,
    resultsDeletedAt: j.resultsPurgedAt,
  }
}
