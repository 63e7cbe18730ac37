// Jobs as the domain sees them: states, options, counts, stored results. Pure types, shared by the
// store that keeps them, the engine and the worker that runs them.
import type { FieldError } from './errors.js'
import type { BulkMode, Channel, ChangeSet, FeedPosition, FieldInput, MatchKey, RowStatus } from './types.js'

/**
 * uploading → queued → running → completed | failed | cancelled; a completed import may go
 * reverting → reverted. `uploading` jobs are invisible to workers until their input is stored.
 * A mirror import whose absent users are over its `maxAbsent` stops in `needs_confirmation`
 * before it writes any absent change: confirming queues it again (it goes on with the absent
 * users only), cancelling ends it.
 */
export const JOB_STATES = [
  'uploading',
  'queued',
  'running',
  'needs_confirmation',
  'completed',
  'failed',
  'cancelled',
  'reverting',
  'reverted',
] as const
export type JobState = (typeof JOB_STATES)[number]
/** States in which a job still reads or writes its directory. */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['uploading', 'queued', 'running', 'needs_confirmation', 'reverting']
/** States a job does not leave by itself: a client waiting on a job stops at any of them. */
export const RESTING_JOB_STATES: ReadonlySet<JobState> = new Set(['needs_confirmation', 'completed', 'failed', 'cancelled', 'reverted'])

/** `import`: rows from an uploaded file. `apply`: the stored plan of a dry-run import, written as planned. */
export type JobKind = 'import' | 'apply'
export type InputFormat = 'csv' | 'ndjson' | 'json'

export interface ImportOptions {
  mode: BulkMode
  match: MatchKey[]
  metadata: 'merge' | 'replace'
  atomic: boolean
  maxErrors: number | null
  dryRun: boolean
  /** Input column (or JSON key) → field path (`email`, `metadata.plan`, `fields.dept`). */
  mapping: Record<string, string> | null
  /** What to do with columns that map to nothing: fail the job (default), keep them as metadata, or ignore them. */
  unmapped: 'fail' | 'metadata' | 'ignore'
  /** An empty CSV cell leaves the field as it is (`skip`, default) or clears it (`null`). */
  emptyMeans: 'skip' | 'null'
  /** CSV: the delimiter, or null to detect it among `,` `;` tab `|`. */
  delimiter: string | null
  quote: string
  /** CSV: the first row names the columns (default true). */
  header: boolean
  /** The door the import came through, for history (default `native`). */
  channel?: Channel
  /**
   * CSV: columns named `<column><opSuffix>` (Returning.AI's `xp_op`) hold `add`, `subtract` or
   * `overwrite` for the numeric field of `<column>` in the same row. Null: no operator columns.
   */
  opSuffix?: string | null
  /** The uploaded file's name, when it had one (multipart). */
  fileName?: string | null
  /** Custom fields the door needs, defined with the job's first write (BulkOptions.needsFields). */
  needsFields?: readonly FieldInput[]
  /**
   * Mirror mode: what happens, once the whole input is in, to the directory's users (in `scope`)
   * that no row matched. `keep` (default): nothing, as for any import.
   */
  absent?: AbsentAction
  /** Mirror mode: only users matching all of these equalities can be absent (`metadata.source`: `hr`). */
  scope?: Record<string, string | number | boolean> | null
  /** Mirror mode: the most absent users changed without a confirmation (default 10 % of the scoped users). */
  maxAbsent?: MaxAbsent
  /** Mirror mode: change absent users even though some rows failed (default false: a failed row may be a user who is still there). */
  absentOnErrors?: boolean
}

/** What a mirror import does to users its input does not name. */
export type AbsentAction = 'keep' | 'deactivate' | 'delete'
/** An import that mirrors its source: users its input does not name are deactivated or deleted. */
export const isMirror = (o: Pick<ImportOptions, 'absent'>): boolean => o.absent === 'deactivate' || o.absent === 'delete'
/** A mirror import's safeguard: at most this many absent users, or this percentage of the scoped ones. */
export type MaxAbsent = { count: number } | { percent: number }
export const DEFAULT_MAX_ABSENT: MaxAbsent = { percent: 10 }

/** `5%` or `200`: a maxAbsent option as the API and the CLI take it; null when it is neither. */
export function parseMaxAbsent(text: string): MaxAbsent | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text)
  if (!m) return null
  const n = Number(m[1])
  if (m[2]) return n <= 100 ? { percent: n } : null
  return Number.isSafeInteger(n) ? { count: n } : null
}

/** A user a mirror import found absent, as a safeguard's sample shows it. */
export interface AbsentUserRef {
  id: string
  email: string | null
  username: string | null
  externalId: string | null
}

/**
 * The absent phase of a mirror import, from when its input is in: `skipped` (rows failed, or the
 * input stopped early), `needs_confirmation` (over `maxAbsent`), `running`, `done`.
 */
export interface AbsentSummary {
  action: 'deactivate' | 'delete'
  phase: 'skipped' | 'needs_confirmation' | 'running' | 'done'
  /** Users in scope when the input was in (for `deactivate`: active ones). */
  scoped: number
  /** Of those, the ones no row matched. */
  absent: number
  /** The safeguard's limit, as a count. */
  limit: number
  /** Someone confirmed going over the limit. */
  confirmed: boolean
  deactivated: number
  deleted: number
  /** Why nothing absent was changed (`skipped`). */
  reason: string | null
  /** The first absent users (up to 10), for a person deciding whether to confirm (or to apply a plan). */
  sample: AbsentUserRef[]
  /** Internal, while running: the users' sequence number the next batch starts after (a resume goes on from it). */
  afterSeq?: number
}

/** What an import does when a request leaves an option out. */
export const DEFAULT_IMPORT_OPTIONS: Readonly<ImportOptions> = Object.freeze<ImportOptions>({
  mode: 'upsert',
  match: ['email'],
  metadata: 'merge',
  atomic: false,
  maxErrors: null,
  dryRun: false,
  mapping: null,
  unmapped: 'fail',
  emptyMeans: 'skip',
  delimiter: null,
  quote: '"',
  header: true,
})

export interface JobCounts {
  processed: number
  created: number
  updated: number
  unchanged: number
  failed: number
  /** Apply and revert: rows or fields that changed since, left as they are. */
  conflicts: number
}

export interface Job {
  id: string
  tenantId: string
  directoryId: string
  kind: JobKind
  state: JobState
  format: InputFormat
  options: ImportOptions
  sourceJobId: string | null
  inputBytes: number
  inputChunks: number
  /** CSV: the header cells, for failed.csv. */
  columns: string[] | null
  /** Rows in the input, once it has been read to the end. */
  total: number | null
  counts: JobCounts
  /** Rows [0, checkpoint) are done and committed. */
  checkpoint: number
  /** Once a revert ran (or runs): what it did. */
  revert: RevertSummary | null
  /** Mirror imports: the absent phase. */
  absent: AbsentSummary | null
  error: string | null
  cancelRequested: boolean
  leaseOwner: string | null
  leaseUntil: string | null
  attempts: number
  keyId: string | null
  requestId: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  updatedAt: string
  /** Retention: when the uploaded input was deleted (the job had ended; nothing reads it again). */
  inputPurgedAt: string | null
  /** Retention: when the per-row results, plans and revert conflicts were deleted (counts and history stay). */
  resultsPurgedAt: string | null
}

/** Jobs of the installation by state, and when the oldest queued one was made (metrics). */
export interface JobStats {
  byState: Partial<Record<JobState, number>>
  oldestQueuedAt: string | null
}

/**
 * A stored result's status: a row's, or, after the input's rows (indexes from the input's total
 * on), a user a mirror import deactivated or deleted as absent.
 */
export type JobRowStatus = RowStatus | 'deactivated' | 'deleted'
export const JOB_ROW_STATUSES: readonly JobRowStatus[] = ['created', 'updated', 'unchanged', 'failed', 'deactivated', 'deleted']

/** One row's stored result. */
export interface JobResultRow {
  index: number
  /** 1-based line of the input where the row starts (CSV and NDJSON); null for absent users. */
  line: number | null
  status: JobRowStatus
  userId: string | null
  changedFields: string[]
  errors: FieldError[]
  /** Notes that did not fail the row (`duplicate_in_input`). */
  warnings: FieldError[]
  /** Dry runs: what applying will do, and what it checks first. */
  plan: RowPlan | null
  /** Failed rows: the input as it came (CSV cells, or the JSON text), for failed.csv. */
  raw: string | null
}

/** A dry-run row's plan: the patch as parsed, the user and version it was planned against. */
export interface RowPlan {
  data: unknown
  ops?: Record<string, 'add' | 'subtract'>
  userId: string | null
  /** The user's version when planned (null: the row creates the user). */
  baseVersion: number | null
  changes: ChangeSet
}

export const EMPTY_COUNTS: JobCounts = { processed: 0, created: 0, updated: 0, unchanged: 0, failed: 0, conflicts: 0 }

/** What reverting an import did, user by user. */
export interface RevertSummary {
  /** Users whose changes by the job were looked at. */
  users: number
  /** Users set back to how they were before the job. */
  restored: number
  /** Users the job had created, deleted again. */
  deleted: number
  /** Fields (or whole created users) someone changed after the job: left as they are. */
  conflicts: number
}

/** A field a revert left alone because it changed after the job. */
export interface RevertConflict {
  userId: string
  /** A field path, or '' for a whole user the job created and someone changed since. */
  field: string
  /** What the job had set. */
  expected: unknown
  /** What the field holds now. */
  actual: unknown
}

/** The events a webhook can subscribe to: users changing (from history), and imports resting. */
export const USER_EVENTS = ['user.created', 'user.updated', 'user.deactivated', 'user.deleted'] as const
export const IMPORT_EVENTS = [
  'import.completed',
  'import.failed',
  'import.cancelled',
  'import.reverted',
  'import.needs_confirmation',
] as const
export type WebhookEvent = (typeof USER_EVENTS)[number] | (typeof IMPORT_EVENTS)[number]

/** A URL told of a directory's events (signed with the secret), with its delivery state. */
export interface Webhook {
  id: string
  directoryId: string
  url: string
  secret: string
  createdAt: string
  events: WebhookEvent[]
  /** user.* events per POST, at most. */
  batchSize: number
}

/** Where a webhook's deliveries stand (durable: a restart goes on from here). */
export interface WebhookState extends Webhook {
  /** The change-feed position of the last user.* record delivered (null: none yet, from the start). */
  feed: FeedPosition | null
  /** The last import.* event delivered. */
  importSeq: number
  /** Failed attempts in a row (0: all well). */
  failures: number
  failingSince: string | null
  nextAttemptAt: string | null
  lastError: string | null
  lastDeliveredAt: string | null
}

/** A delivery given up after every attempt: its body, kept for an admin to read and replay. */
export interface DeadLetter {
  id: string
  webhookId: string
  /** `batch` (user.* events) or the import event. */
  event: string
  /** Events in the body. */
  events: number
  body: string
  error: string
  attempts: number
  createdAt: string
  replayedAt: string | null
}

/** An import.* event waiting in the outbox. */
export interface ImportEventRecord {
  seq: number
  id: string
  directoryId: string
  event: string
  payload: unknown
  createdAt: string
}
