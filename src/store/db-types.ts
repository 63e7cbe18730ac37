import type { ColumnType, Generated } from 'kysely'
import type { ChangeAction, Channel, FieldType } from '../core/types.js'
import type { InputFormat, JobKind, JobRowStatus, JobState } from '../core/jobs.js'
import type { UserFieldRow } from '../core/user-fields.js'

/**
 * Table shapes as Kysely sees them, column for column as the migrations create them.
 *
 * Where the engines differ, the type says so and the dialect's codec (codec.ts) decodes:
 * - `Timestamp`: ISO-8601 text on SQLite; `timestamptz` on PostgreSQL, parsed to the same ISO text
 *   by the pool's type parser (postgres-store.ts). Written as ISO text on both.
 * - `Json`: text on SQLite, parsed by pg on PostgreSQL; written as JSON text on both.
 * - `Bool`: 0/1 on SQLite, true/false on PostgreSQL.
 * - `Int8`: an identity or BIGINT column; pg returns int8 as a string.
 * Text columns that only ever hold one of a closed set of values are typed as that set.
 */
export type Timestamp = string
export type Json = ColumnType<unknown, string | null, string | null>
export type Bool = ColumnType<number | boolean, number | boolean, number | boolean>
export type Int8 = number | string

export interface TenantsTable {
  id: string
  name: string
  created_at: Timestamp
}

export interface ApiKeysTable {
  id: string
  tenant_id: string
  name: string
  hash: string
  scopes: Json
  directories: Json
  created_at: Timestamp
  last_used_at: Timestamp | null
  revoked_at: Timestamp | null
}

export interface DirectoriesTable {
  id: string
  tenant_id: string
  /** SQLite: given on insert (dialect.nextDirectoryNumber); PostgreSQL: an identity column. */
  number: Generated<Int8>
  external_id: string | null
  name: string
  /** Days of history kept (null: forever). */
  history_retention_days: number | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface FieldDefinitionsTable {
  directory_id: string
  key: string
  label: string
  type: FieldType
  required: Bool
  is_unique: Bool
  max_length: number | null
  pattern: string | null
  enum_values: Json
  built_in: Bool
  created_at: Timestamp
  updated_at: Timestamp
}

/** A built-in's column type: datetimes are Timestamps, integers numbers, the rest text. */
type ColumnOf<T> = T extends 'datetime' ? Timestamp : T extends 'integer' | 'number' ? number : T extends 'boolean' ? Bool : string

/**
 * `users`, derived from the table of built-in fields (core/user-fields.ts): each field's column
 * (nullable where a client writes it and it has no default) and its case-folded copy, plus the directory and the JSON bags.
 */
export type UsersTable = {
  [F in UserFieldRow as F['column']]: F extends { default: unknown }
    ? ColumnOf<F['type']>
    : F['writable'] extends true
      ? ColumnOf<F['type']> | null
      : ColumnOf<F['type']>
} & {
  [F in Extract<UserFieldRow, { foldedColumn: string }> as F['foldedColumn']]: string | null
} & {
  seq: Generated<Int8>
  directory_id: string
  metadata: Json
  fields: Json
}

export interface GroupsTable {
  id: string
  directory_id: string
  name: string
  kind: string
  external_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface GroupMembersTable {
  group_id: string
  user_id: string
}

export interface ChangesTable {
  seq: Generated<Int8>
  directory_id: string
  user_id: string
  action: ChangeAction
  at: Timestamp
  channel: Channel
  key_id: string | null
  request_id: string | null
  job_id: string | null
  changes: Json
}

export interface IdempotencyKeysTable {
  api_key_id: string
  key: string
  tenant_id: string
  fingerprint: string
  state: 'pending' | 'done'
  status: number | null
  content_type: string | null
  headers: Json
  body: string | null
  created_at: Timestamp
}

export interface SchemaMigrationsTable {
  version: number
  name: string
  applied_at: Timestamp
}

export interface JobsTable {
  id: string
  tenant_id: string
  directory_id: string
  kind: JobKind
  state: JobState
  format: InputFormat
  options: Json
  source_job_id: string | null
  input_bytes: Generated<Int8>
  input_chunks: Generated<number>
  columns: Json
  total: number | null
  processed: Generated<number>
  created: Generated<number>
  updated: Generated<number>
  unchanged: Generated<number>
  failed: Generated<number>
  conflicts: Generated<number>
  checkpoint: Generated<number>
  revert: Json
  /** Mirror imports: the absent phase's summary (AbsentSummary). */
  absent: Json
  error: string | null
  cancel_requested: ColumnType<number | boolean, number | boolean | undefined, number | boolean>
  lease_owner: string | null
  lease_until: Timestamp | null
  attempts: Generated<number>
  key_id: string | null
  request_id: string | null
  created_at: Timestamp
  started_at: Timestamp | null
  finished_at: Timestamp | null
  updated_at: Timestamp
  /** Retention: when the uploaded input was deleted. */
  input_purged_at: Timestamp | null
  /** Retention: when the per-row results, plans and conflicts were deleted. */
  results_purged_at: Timestamp | null
}

/** The users a mirror import's rows matched (migration 8). */
export interface JobMatchedTable {
  job_id: string
  user_id: string
}

export interface JobChunksTable {
  job_id: string
  seq: number
  /** BLOB on SQLite (a Buffer), BYTEA on PostgreSQL (a Buffer). */
  data: Buffer | Uint8Array
}

export interface JobResultsTable {
  job_id: string
  row_index: number
  line: number | null
  status: JobRowStatus
  user_id: string | null
  changed_fields: Json
  errors: Json
  warnings: Json
  plan: Json
  raw: string | null
}

/** A batch's per-row results in one compact record (src/store/result-batch.ts). */
export interface JobResultBatchesTable {
  job_id: string
  first_index: number
  row_count: number
  /** zlib-deflated JSON (BLOB, BYTEA); JSON text in records made before migration 005. */
  data: Buffer | string
}

export interface JobConflictsTable {
  job_id: string
  seq: number
  user_id: string
  field: string
  expected: Json
  actual: Json
}

export interface WebhooksTable {
  id: string
  directory_id: string
  url: string
  secret: string
  created_at: Timestamp
  /** Event types (JSON list); null: made before migration 9, the import.* events only. */
  events: Json
  batch_size: Generated<number>
  /** Where its user.* events are in the change feed (null: from the start). */
  feed_txid: string | null
  feed_seq: Int8 | null
  import_seq: Generated<Int8>
  failures: Generated<number>
  failing_since: Timestamp | null
  next_attempt_at: Timestamp | null
  last_error: string | null
  last_delivered_at: Timestamp | null
  lease_owner: string | null
  lease_until: Timestamp | null
}

/** import.* events, delivered from here (migration 9). */
export interface WebhookEventsTable {
  seq: Generated<Int8>
  id: string
  directory_id: string
  event: string
  payload: Json
  created_at: Timestamp
}

export interface WebhookDeadLettersTable {
  id: string
  webhook_id: string
  event: string
  events: number
  body: string
  error: string
  attempts: number
  created_at: Timestamp
  replayed_at: Timestamp | null
}

export interface DB {
  jobs: JobsTable
  job_chunks: JobChunksTable
  job_matched: JobMatchedTable
  job_results: JobResultsTable
  job_result_batches: JobResultBatchesTable
  job_conflicts: JobConflictsTable
  webhooks: WebhooksTable
  webhook_events: WebhookEventsTable
  webhook_dead_letters: WebhookDeadLettersTable
  tenants: TenantsTable
  api_keys: ApiKeysTable
  directories: DirectoriesTable
  field_definitions: FieldDefinitionsTable
  users: UsersTable
  groups: GroupsTable
  group_members: GroupMembersTable
  changes: ChangesTable
  idempotency_keys: IdempotencyKeysTable
  schema_migrations: SchemaMigrationsTable
}
