import type { FieldError } from '../core/errors.js'
import type {
  BulkMode,
  ChangeContext,
  ChangeSet,
  Directory,
  FieldDefinition,
  FieldInput,
  MatchKey,
  RowStatus,
  UserRecord,
} from '../core/types.js'
import type { FieldOp } from '../core/user-patch.js'
import type { StoreTx } from '../store/store.js'

export type { BulkMode, RowStatus } from '../core/types.js'

export interface BulkOptions {
  mode: BulkMode
  /** Keys to find an existing user by, in order: a row uses the first one it carries. */
  match: MatchKey[]
  /** `merge`: RFC 7396 merge patch of `metadata` (default); `replace`: the row's object replaces it. */
  metadata: 'merge' | 'replace'
  /** All rows or none. */
  atomic: boolean
  /** Best-effort only: stop after this many failed rows (the rest are reported `not_processed`). */
  maxErrors: number | null
  /** Validate and diff everything, write nothing; results carry the per-field plan. */
  dryRun: boolean
  /** A create may take its `id` from the row (Dynamic, SCIM imports); otherwise ids are the server's. */
  allowClientId: boolean
  /** Rows per transaction. */
  batchSize: number
  /** Put each written user's final record on its result (doors that echo users need it). */
  returnUsers: boolean
  /**
   * Custom fields the door needs (see `withNeededFields`): rows are validated as if they were
   * defined; those the directory lacks are stored with the first batch that writes a user.
   */
  needsFields?: readonly FieldInput[]
}

export const DEFAULT_OPTIONS: BulkOptions = {
  mode: 'upsert',
  match: ['email'],
  metadata: 'merge',
  atomic: false,
  maxErrors: null,
  dryRun: false,
  allowClientId: false,
  batchSize: 1000,
  returnUsers: false,
}

/** One input row: the raw user object (validated by the engine) and what the door already knows. */
export interface BulkRow {
  data: unknown
  /** Arithmetic instead of overwrite, per custom field key. */
  ops?: Record<string, FieldOp>
  /** Errors the door found while parsing the row (a bad CSV cell); the row fails with them. */
  errors?: FieldError[]
  /**
   * Fails the row (`version_mismatch`) unless the matched user is at this version (If-Match);
   * null: unless no user matches (applying a planned create).
   */
  expectedVersion?: number | null
}

/**
 * The rows of a bulk run, in order: one at a time, or (from a reader that parses many at once)
 * in arrays, which spares an async step per row.
 */
export type RowSource = Iterable<BulkRow> | AsyncIterable<BulkRow | readonly BulkRow[]>

/** The core command every door builds. */
export interface BulkCommand {
  directory: Directory
  /** The directory's stored field definitions. */
  fields: FieldDefinition[]
  options: BulkOptions
  context: ChangeContext
}

export interface RowResult {
  /** 0-based position in the input. */
  index: number
  status: RowStatus
  userId: string | null
  changedFields: string[]
  errors: FieldError[]
  /** Notes that do not fail the row: `duplicate_in_input` when another row of the input names the same user. */
  warnings?: FieldError[]
  /** Dry runs: per field, [before, after]. */
  changes?: ChangeSet
  /** Dry runs: the version of the user the row was planned against (null: it creates one). */
  baseVersion?: number | null
  /** With `returnUsers`: the user after this row (or as it stands, for unchanged rows). */
  user?: UserRecord
}

export interface BulkSummary {
  total: number
  created: number
  updated: number
  unchanged: number
  failed: number
}

export interface BulkResult {
  summary: BulkSummary
  /** In input order; empty when the caller asked not to collect them. */
  results: RowResult[]
  /** Atomic runs with a failure: nothing was written. */
  rolledBack: boolean
  /** The run stopped early at `maxErrors`. */
  stopped: boolean
}

/**
 * Where a bulk run's time goes, batch by batch (BulkHooks.onStage): `read` the input (read, parsed
 * and mapped, for an import), `validate` each row, `lookup` the batch's users, `plan` the rows,
 * `write` the users and their history, `results` (the caller's per-row results and checkpoint),
 * `commit` the batch's transaction.
 */
export type BulkStage = 'read' | 'validate' | 'lookup' | 'plan' | 'write' | 'results' | 'commit'

export interface BulkHooks {
  /**
   * Inside each batch's transaction, after its writes: persist results and a checkpoint with them.
   * `earlier`: warnings for rows of previous batches (a later row named the same user).
   */
  beforeCommit?: (tx: StoreTx, results: RowResult[], earlier: { index: number; warning: FieldError }[]) => Promise<void>
  /** After each batch is committed (or planned, for dry runs). */
  onProgress?: (summary: BulkSummary, batch: RowResult[]) => void | Promise<void>
  /** Keep every result in `BulkResult.results` (default true). */
  collect?: boolean
  /** The index of the first row (a job resuming after its checkpoint passes the rows after it). */
  firstIndex?: number
  /** Told the seconds each stage took, per batch (per group of rows for read and validate). */
  onStage?: (stage: BulkStage, seconds: number) => void
}
