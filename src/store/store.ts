import type {
  ApiKey,
  ChangeAction,
  ChangeContext,
  ChangeRecord,
  ChangeSet,
  Directory,
  FeedPosition,
  FieldDefinition,
  Group,
  JsonObject,
  MatchKey,
  Scope,
  Tenant,
  UserRecord,
} from '../core/types.js'

import type { UserSearch, UserSearchResult } from '../core/user-filter.js'
import type { UniqueKey } from '../core/user-fields.js'
import type { JobStore } from './job-store.js'
import type { PendingMigration } from './migrations/index.js'
import type { RetentionRepo } from './repos/retention.js'
import type { WebhooksRepo } from './repos/webhooks.js'

export type { Dialect, StoreCapabilities } from './dialect.js'
export type { AbsentQuery } from './repos/mirror.js'
import type { Dialect, StoreCapabilities } from './dialect.js'

/** Values to look users up by: each unique built-in (USER_LOOKUPS), and unique custom fields. Emails and usernames match case-insensitively. */
export interface UserLookup extends Partial<Record<UniqueKey, string[]>> {
  /** Values of unique custom fields, by field key. */
  fields?: Record<string, (string | number)[]>
}

/** One history record to write: a user's whole change-set for one row. */
export interface ChangeWrite extends ChangeContext {
  userId: string
  action: ChangeAction
  at: string
  changes: ChangeSet
}

/**
 * A history record for `userId` in `context`. Spelled out, not `{ ...context, … }`: the spread
 * cost a planned row more than its whole change-set (2.3 µs of the hot path's ~14 µs per row).
 */
export const changeWrite = (context: ChangeContext, userId: string, action: ChangeAction, at: string, changes: ChangeSet): ChangeWrite => ({
  channel: context.channel,
  keyId: context.keyId,
  requestId: context.requestId,
  jobId: context.jobId,
  userId,
  action,
  at,
  changes,
})

/** Everything one batch writes, in one transaction. */
export interface BatchWrite {
  directoryId: string
  inserts: UserRecord[]
  /**
   * Final state of existing users, each with the version it was read at (optimistic check) and,
   * where the writer has it, the user as read: columns an index reads that kept their value are
   * then left out of the UPDATE (encodeBatch, `updateSkips`).
   */
  updates: { user: UserRecord; expectedVersion: number; before?: UserRecord }[]
  deletes?: { userId: string; expectedVersion: number }[]
  changes: ChangeWrite[]
}

/**
 * A BatchWrite as rows of column values (codec.ts, encodeBatch), for the engine named: made where a
 * batch is planned (the import planner's thread), so the writer only binds the values. Rows of
 * plain values also cross between threads for a fraction of what user objects cost.
 */
export interface EncodedBatch {
  encodedFor: 'sqlite' | 'postgres'
  directoryId: string
  /** Per new user, its values in USER_COLUMNS order. */
  inserts: unknown[][]
  /** Per updated user, its values in USER_SET_COLUMNS order, then its id and the version it was read at. */
  updates: unknown[][]
  /**
   * Per updated user, which columns of INDEXED_SET_COLUMNS kept their value (bit k: the k-th), so
   * the UPDATE need not set them; 0 sets every column. SQLite rewrites the entry of every index
   * over a column an UPDATE sets, changed or not: setting only what changed halved the cost of an
   * update that leaves email, external id and the rest alone. Absent: 0 for every user.
   */
  updateSkips?: number[]
  deletes: { userId: string; expectedVersion: number }[]
  /** Per history record: user id, action, at, channel, key id, request id, job id, and its change set as JSON. */
  changes: unknown[][]
}

export { LeaseLost, UniqueViolation, WriteConflict } from './errors.js'

/**
 * Told of every statement a store runs through its query builder, with its parameters: for
 * diagnostics and for tests that check query plans. Never logged by default (parameters hold data).
 */
export type QueryObserver = (sql: string, parameters: readonly unknown[]) => void

/** Kysely's `log` option for a QueryObserver. */
export const observeQueries = (observer: QueryObserver | undefined) =>
  observer
    ? {
        log: (e: { level: string; query: { sql: string; parameters: readonly unknown[] } }) =>
          void (e.level === 'query' && observer(e.query.sql, e.query.parameters)),
      }
    : {}

/** Operations inside one transaction. */
export interface StoreTx {
  /** Job bookkeeping inside the same transaction (results and checkpoint with the batch). */
  readonly jobs: JobStore
  /** Users of a directory matching any of the lookups; locked for update until the transaction ends. */
  lockUsers(directoryId: string, lookup: UserLookup): Promise<UserRecord[]>
  /**
   * lockUsers without the locks, for a writer that checks versions (writeBatch does): a user
   * another transaction changes meanwhile makes the write a WriteConflict, and the caller plans
   * again (locked). Rows that change nothing then cost no lock, and on PostgreSQL no write at all.
   */
  readUsers(directoryId: string, lookup: UserLookup): Promise<UserRecord[]>
  /** Which of `ids` are held by users of other directories (user ids are unique across the service). */
  idsTakenElsewhere(directoryId: string, ids: readonly string[]): Promise<string[]>
  /** Stores field definitions the directory lacks (a door's fields, with its first write); existing keys are left alone. */
  defineFields(directoryId: string, defs: readonly FieldDefinition[]): Promise<void>
  /** Writes a batch's users and history; a user changed since it was read, or a unique value taken, is a WriteConflict. */
  writeBatch(batch: BatchWrite): Promise<void>
  /** writeBatch for a batch encoded beforehand (for this engine). */
  writeEncoded(batch: EncodedBatch): Promise<void>
}

export interface UserListQuery {
  email?: string
  username?: string
  externalId?: string
  /** Only active (true) or deactivated (false) users. */
  active?: boolean
  /** Custom field equality: `fields.department = 'Sales'`. */
  fields?: Record<string, string | number | boolean>
  /** Metadata equality on text values, exact: `metadata.source = 'hr'`. */
  metadata?: Record<string, string>
  createdAfter?: string
  createdBefore?: string
  updatedAfter?: string
  updatedBefore?: string
  /** Return users after this internal sequence number (cursor pagination). */
  afterSeq?: number
  limit: number
}

export interface Page<T> {
  items: T[]
  /** The sequence number to pass as `afterSeq`/`beforeSeq` for the next page, or null at the end. */
  nextSeq: number | null
}

export interface FeedPage {
  /** Oldest first, each with its position (the cursor to resume after it). */
  items: (ChangeRecord & { position: FeedPosition })[]
  /** The position asked for is no longer in the feed: its record was deleted (history retention). */
  expired: boolean
}

export interface ChangeQuery {
  userId?: string
  /** Only records that touched this field path (`email`, `metadata.tier`, `fields.dept`). */
  field?: string
  jobId?: string
  /** Only records of this action (`delete`: to find a deleted user's last state). */
  action?: ChangeAction
  /** Newest first: records with a sequence number below this. */
  beforeSeq?: number
  limit: number
}

export interface NewKey {
  tenantId: string
  name: string
  hash: string
  scopes: Scope[]
  directories: string[] | null
}

export interface IdempotencyRecord {
  /** The API key that made the request: records are scoped by key, never shared between keys. */
  apiKeyId: string
  tenantId: string
  key: string
  fingerprint: string
  state: 'pending' | 'done'
  status: number | null
  contentType: string | null
  /** Response headers worth replaying (Location, ETag). */
  headers: Record<string, string> | null
  body: string | null
  createdAt: string
}

export interface DirectoryPatch {
  name?: string
  externalId?: string | null
  historyRetentionDays?: number | null
}

/**
 * The one storage interface. Both engines implement it and pass the same contract suite
 * (test/store.contract.test.ts). Every method that reads or writes users is scoped by directory,
 * and every directory lookup by tenant, so no call can reach across tenants.
 */
/**
 * Where a store's data lives, for another thread to open it (openReader): a SQLite file, or a
 * PostgreSQL database.
 */
export type StoreLocation = { engine: 'sqlite'; filename: string } | { engine: 'postgres'; connectionString: string }

export interface Store {
  readonly dialect: Dialect
  readonly capabilities: StoreCapabilities
  /** Null for an in-memory SQLite database, which only its own connection sees. */
  readonly location: StoreLocation | null
  /** Jobs, their input and results. */
  readonly jobs: JobStore
  /** What retention deletes, a page at a time (src/jobs/retention.ts). */
  readonly retention: RetentionRepo
  /** Webhooks, their delivery state, the import.* outbox and the dead letters (src/jobs/webhook-dispatcher.ts). */
  readonly webhooks: WebhooksRepo

  /**
   * Applies pending migrations; returns the names applied. Safe to call concurrently. Throws
   * SchemaTooNew, touching nothing, on a database a newer release migrated.
   */
  migrate(): Promise<string[]>
  /** The migrations `migrate` would apply, with their SQL (`rollcall migrate --dry-run`). */
  pendingMigrations(): Promise<PendingMigration[]>
  /**
   * After a large delete (a discarded upload): gives the space back to the file system where the
   * engine must be told to (SQLite's incremental vacuum); PostgreSQL's autovacuum needs no call.
   */
  reclaimSpace(): Promise<void>
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>
  close(): Promise<void>

  // tenants
  ensureTenant(name: string): Promise<Tenant>
  getTenant(id: string): Promise<Tenant | null>

  // API keys (only hashes are stored)
  createKey(key: NewKey): Promise<ApiKey>
  findKeyByHash(hash: string): Promise<(ApiKey & { hash: string }) | null>
  /** With its hash, which signs the key's links (`signLink`). */
  findKeyById(id: string): Promise<(ApiKey & { hash: string }) | null>
  listKeys(tenantId: string): Promise<ApiKey[]>
  revokeKey(tenantId: string, id: string, at: string): Promise<boolean>
  touchKey(id: string, at: string): Promise<void>

  // directories
  createDirectory(
    tenantId: string,
    input: { name: string; externalId: string | null; historyRetentionDays?: number | null },
  ): Promise<Directory>
  /** By UUID, else by externalId, within the tenant. */
  getDirectory(tenantId: string, ref: string): Promise<Directory | null>
  getDirectoryByNumber(tenantId: string, number: number): Promise<Directory | null>
  listDirectories(tenantId: string, only: string[] | null): Promise<Directory[]>
  updateDirectory(tenantId: string, id: string, patch: DirectoryPatch, at: string): Promise<Directory | null>
  /** With all its users, fields, groups, history and finished jobs; `busy` (nothing deleted) while one of its jobs is active. */
  deleteDirectory(tenantId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'>

  // field definitions (custom ones, and stored overrides of built-ins)
  listFields(directoryId: string): Promise<FieldDefinition[]>
  putField(directoryId: string, def: FieldDefinition): Promise<void>
  deleteField(directoryId: string, key: string): Promise<boolean>
  /**
   * Creates (or drops) the unique index that backs a unique custom field, so that concurrent
   * writers cannot both take a value. Creating it fails with UniqueViolation when users of the
   * directory already share a value.
   */
  setUniqueFieldIndex(directoryId: string, key: string, unique: boolean): Promise<void>

  // users
  getUser(directoryId: string, id: string): Promise<UserRecord | null>
  /** Without locking: for reads and dry runs. */
  findUsers(directoryId: string, lookup: UserLookup): Promise<UserRecord[]>
  listUsers(directoryId: string, q: UserListQuery): Promise<Page<UserRecord>>
  countUsers(directoryId: string): Promise<number>
  /** Users matching a filter tree (SCIM's filters), sorted, paged by offset, with the total that match. */
  searchUsers(directoryId: string, q: UserSearch): Promise<UserSearchResult>
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>

  // groups and memberships
  createGroup(directoryId: string, input: { kind: string; name: string; externalId: string | null }): Promise<Group>
  getGroup(directoryId: string, id: string): Promise<Group | null>
  listGroups(directoryId: string, q: { kind?: string; name?: string; externalId?: string; limit: number }): Promise<Group[]>
  renameGroup(directoryId: string, id: string, name: string, at: string): Promise<Group | null>
  deleteGroup(directoryId: string, id: string): Promise<boolean>
  /** Adds users (of the same directory) to a group; returns the ids that were not members before. */
  addMembers(directoryId: string, groupId: string, userIds: string[]): Promise<string[]>
  removeMembers(directoryId: string, groupId: string, userIds: string[]): Promise<number>
  listMembers(directoryId: string, groupId: string): Promise<string[]>
  groupsOfUser(directoryId: string, userId: string): Promise<Group[]>

  // history
  listChanges(directoryId: string, q: ChangeQuery): Promise<Page<ChangeRecord>>
  /** The change feed: records after a position, in an order that never goes back (repos/history.ts). */
  changeFeed(directoryId: string, after: FeedPosition | null, limit: number): Promise<FeedPage>
  /** The position of the newest record the feed hands out now (null: none): a consumer starting there gets only what comes after. */
  feedHead(directoryId: string): Promise<FeedPosition | null>

  // idempotency
  /**
   * Claims a key: returns null when newly claimed, else the existing record. A record made before
   * `expiredBefore` is replaced by the new claim (it expired; retention would have deleted it).
   */
  claimIdempotencyKey(rec: IdempotencyRecord, expiredBefore?: string): Promise<IdempotencyRecord | null>
  completeIdempotencyKey(
    apiKeyId: string,
    key: string,
    res: { status: number; contentType: string; headers: Record<string, string>; body: string },
  ): Promise<void>
  releaseIdempotencyKey(apiKeyId: string, key: string): Promise<void>
}

export type { MatchKey, JsonObject }
