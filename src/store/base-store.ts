import { type Kysely, sql } from 'kysely'
import type { FeedPosition, FieldDefinition, UserRecord } from '../core/types.js'
import type { UserSearch } from '../core/user-filter.js'
import type { DB } from './db-types.js'
import type { StoreDialect } from './dialect.js'
import type { JobStore } from './job-store.js'
import type { PendingMigration } from './migrations/index.js'
import { directoriesRepo, fieldsRepo } from './repos/directories.js'
import { groupsRepo } from './repos/groups.js'
import { historyRepo } from './repos/history.js'
import { idempotencyRepo } from './repos/idempotency.js'
import { keysRepo } from './repos/keys.js'
import { retentionRepo } from './repos/retention.js'
import { webhooksRepo } from './repos/webhooks.js'
import { tenantsRepo } from './repos/tenants.js'
import { usersRepo } from './repos/users.js'
import type {
  ChangeQuery,
  DirectoryPatch,
  IdempotencyRecord,
  NewKey,
  Store,
  StoreLocation,
  StoreTx,
  UserListQuery,
  UserLookup,
} from './store.js'

/** How findUsersWith reads: see there. */
export type UserRead = 'lock' | 'read' | 'outside'

/**
 * The Store as both engines share it: one repository per aggregate (repos/*.ts) over the
 * engine's Kysely instance and its dialect (dialect.ts). Engine classes add migrations,
 * transactions and the bulk hot paths (writeBatch, findUsersWith).
 */
export abstract class BaseStore implements Store {
  readonly dialect: StoreDialect['name']
  readonly capabilities: StoreDialect['capabilities']
  abstract readonly jobs: JobStore
  abstract readonly location: StoreLocation | null
  protected readonly tenants
  protected readonly keys
  protected readonly directories
  protected readonly fields
  protected readonly users
  protected readonly groups
  protected readonly history
  protected readonly idempotency
  readonly retention
  readonly webhooks

  constructor(
    protected readonly db: Kysely<DB>,
    protected readonly sd: StoreDialect,
  ) {
    this.dialect = sd.name
    this.capabilities = sd.capabilities
    this.tenants = tenantsRepo(db)
    this.keys = keysRepo(db, sd)
    this.directories = directoriesRepo(db, sd)
    this.fields = fieldsRepo(db, sd)
    this.users = usersRepo(db, sd)
    this.groups = groupsRepo(db, sd)
    this.history = historyRepo(db, sd)
    this.idempotency = idempotencyRepo(db, sd)
    this.retention = retentionRepo(db)
    this.webhooks = webhooksRepo(db, sd)
  }

  abstract migrate(): Promise<string[]>
  abstract pendingMigrations(): Promise<PendingMigration[]>
  abstract reclaimSpace(): Promise<void>
  abstract close(): Promise<void>
  abstract transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>

  /**
   * The users of a batch's lookups (each key by its own index; see the engines' stores): in the
   * transaction `db` is, locked until it ends (`lock`) or not (`read`), or outside any (`outside`).
   */
  protected abstract findUsersWith(db: Kysely<DB>, directoryId: string, lookup: UserLookup, how: UserRead): Promise<UserRecord[]>

  /** The parts of a transaction both engines share, over the transaction's connection. */
  protected txParts(db: Kysely<DB>): Pick<StoreTx, 'lockUsers' | 'readUsers' | 'idsTakenElsewhere' | 'defineFields'> {
    const users = usersRepo(db, this.sd)
    const fields = fieldsRepo(db, this.sd)
    return {
      lockUsers: (directoryId: string, lookup: UserLookup) => this.findUsersWith(db, directoryId, lookup, 'lock'),
      readUsers: (directoryId: string, lookup: UserLookup) => this.findUsersWith(db, directoryId, lookup, 'read'),
      idsTakenElsewhere: (directoryId: string, ids: readonly string[]) => users.idsTakenElsewhere(directoryId, ids),
      defineFields: (directoryId: string, defs: readonly FieldDefinition[]) => fields.define(directoryId, defs),
    }
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db)
      return true
    } catch {
      return false
    }
  }

  ensureTenant(name: string) {
    return this.tenants.ensure(name)
  }
  getTenant(id: string) {
    return this.tenants.get(id)
  }

  createKey(key: NewKey) {
    return this.keys.create(key)
  }
  findKeyByHash(hash: string) {
    return this.keys.findByHash(hash)
  }
  findKeyById(id: string) {
    return this.keys.findById(id)
  }
  listKeys(tenantId: string) {
    return this.keys.list(tenantId)
  }
  revokeKey(tenantId: string, id: string, at: string) {
    return this.keys.revoke(tenantId, id, at)
  }
  touchKey(id: string, at: string) {
    return this.keys.touch(id, at)
  }

  createDirectory(tenantId: string, input: { name: string; externalId: string | null; historyRetentionDays?: number | null }) {
    return this.directories.create(tenantId, input)
  }
  getDirectory(tenantId: string, ref: string) {
    return this.directories.get(tenantId, ref)
  }
  getDirectoryByNumber(tenantId: string, number: number) {
    return this.directories.getByNumber(tenantId, number)
  }
  listDirectories(tenantId: string, only: string[] | null) {
    return this.directories.list(tenantId, only)
  }
  updateDirectory(tenantId: string, id: string, patch: DirectoryPatch, at: string) {
    return this.directories.update(tenantId, id, patch, at)
  }
  deleteDirectory(tenantId: string, id: string) {
    return this.directories.delete(tenantId, id)
  }

  listFields(directoryId: string) {
    return this.fields.list(directoryId)
  }
  putField(directoryId: string, def: FieldDefinition) {
    return this.fields.put(directoryId, def)
  }
  deleteField(directoryId: string, key: string) {
    return this.fields.delete(directoryId, key)
  }
  setUniqueFieldIndex(directoryId: string, key: string, unique: boolean) {
    return this.fields.setUniqueIndex(directoryId, key, unique)
  }

  getUser(directoryId: string, id: string) {
    return this.users.get(directoryId, id)
  }
  findUsers(directoryId: string, lookup: UserLookup) {
    return this.findUsersWith(this.db, directoryId, lookup, 'outside')
  }
  listUsers(directoryId: string, q: UserListQuery) {
    return this.users.list(directoryId, q)
  }
  countUsers(directoryId: string) {
    return this.users.count(directoryId)
  }
  searchUsers(directoryId: string, q: UserSearch) {
    return this.users.search(directoryId, q)
  }

  createGroup(directoryId: string, input: { kind: string; name: string; externalId: string | null }) {
    return this.groups.create(directoryId, input)
  }
  getGroup(directoryId: string, id: string) {
    return this.groups.get(directoryId, id)
  }
  listGroups(directoryId: string, q: { kind?: string; name?: string; externalId?: string; limit: number }) {
    return this.groups.list(directoryId, q)
  }
  renameGroup(directoryId: string, id: string, name: string, at: string) {
    return this.groups.rename(directoryId, id, name, at)
  }
  deleteGroup(directoryId: string, id: string) {
    return this.groups.delete(directoryId, id)
  }
  addMembers(directoryId: string, groupId: string, userIds: string[]) {
    return this.groups.addMembers(directoryId, groupId, userIds)
  }
  removeMembers(directoryId: string, groupId: string, userIds: string[]) {
    return this.groups.removeMembers(directoryId, groupId, userIds)
  }
  listMembers(directoryId: string, groupId: string) {
    return this.groups.listMembers(directoryId, groupId)
  }
  groupsOfUser(directoryId: string, userId: string) {
    return this.groups.groupsOfUser(directoryId, userId)
  }

  listChanges(directoryId: string, q: ChangeQuery) {
    return this.history.list(directoryId, q)
  }

  changeFeed(directoryId: string, after: FeedPosition | null, limit: number) {
    return this.history.feed(directoryId, after, limit)
  }

  feedHead(directoryId: string) {
    return this.history.head(directoryId)
  }

  claimIdempotencyKey(rec: IdempotencyRecord, expiredBefore?: string) {
    return this.idempotency.claim(rec, expiredBefore)
  }
  completeIdempotencyKey(
    apiKeyId: string,
    key: string,
    res: { status: number; contentType: string; headers: Record<string, string>; body: string },
  ) {
    return this.idempotency.complete(apiKeyId, key, res)
  }
  releaseIdempotencyKey(apiKeyId: string, key: string) {
    return this.idempotency.release(apiKeyId, key)
  }
}
