import { createHash, randomUUID } from 'node:crypto'
import { type Expression, type Kysely, type SqlBool, sql } from 'kysely'
import type { ApiKey, ChangeRecord, Directory, FieldDefinition, Group, Tenant, UserRecord } from '../core/types.js'
import type { UserSearch, UserSearchResult } from '../core/user-filter.js'
import { changeFromRow, type Codec, directoryFromRow, fieldFromRow, keyFromRow, userFromRow } from './codec.js'
import { ACTIVE_JOB_STATES } from '../core/jobs.js'
import type { DB } from './db-types.js'
import type { JobStore } from './job-store.js'
import { UniqueViolation } from './store.js'
import { searchUsers, type UserFilterDialect } from './user-filter.js'
import { normEmail } from '../core/normalize.js'
import type {
  ChangeQuery,
  Dialect,
  DirectoryPatch,
  IdempotencyRecord,
  NewKey,
  Page,
  Store,
  StoreCapabilities,
  StoreTx,
  UserListQuery,
  UserLookup,
} from './store.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The parts of the Store that read the same on both engines, written once with Kysely.
 * Engine classes add transactions, migrations, the batch write hot path and the few
 * expressions whose SQL differs (JSON access).
 */
export abstract class BaseStore implements Store {
  abstract readonly dialect: Dialect
  abstract readonly capabilities: StoreCapabilities
  abstract readonly jobs: JobStore
  abstract reclaimSpace(): Promise<void>
  protected abstract readonly db: Kysely<DB>
  protected abstract readonly codec: Codec

  abstract migrate(): Promise<string[]>
  abstract close(): Promise<void>
  abstract transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>
  protected abstract isUniqueViolation(e: unknown): boolean
  /** SQL expression: the custom field `key` of a user equals `value`. */
  protected abstract customFieldEquals(key: string, value: string | number | boolean): Expression<SqlBool>
  /** SQL expression: a change record touched field path `field`. */
  protected abstract changeTouches(field: string): Expression<SqlBool>
  /** Value for a new directory's `number` column, or undefined to let the column default. */
  protected abstract nextDirectoryNumber(): Expression<number> | undefined
  /** SQL expression: the custom field `key` of a user is one of `values`. */
  protected abstract customFieldIn(key: string, values: (string | number)[]): Expression<SqlBool>
  /** How this engine reads custom fields and orders text in `searchUsers` filters (see user-filter.ts). */
  protected abstract readonly userFilterDialect: UserFilterDialect
  abstract setUniqueFieldIndex(directoryId: string, key: string, unique: boolean): Promise<void>

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db)
      return true
    } catch {
      return false
    }
  }

  // ---- tenants

  async ensureTenant(name: string): Promise<Tenant> {
    await this.db
      .insertInto('tenants')
      .values({ id: randomUUID(), name, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    const r = await this.db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirstOrThrow()
    return { id: r.id, name: r.name, createdAt: this.codec.readTime(r.created_at) }
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const r = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst()
    return r ? { id: r.id, name: r.name, createdAt: this.codec.readTime(r.created_at) } : null
  }

  // ---- keys

  async createKey(k: NewKey): Promise<ApiKey> {
    const row = {
      id: randomUUID(),
      tenant_id: k.tenantId,
      name: k.name,
      hash: k.hash,
      scopes: this.codec.writeJson(k.scopes),
      directories: this.codec.writeJson(k.directories),
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked_at: null,
    }
    await this.db.insertInto('api_keys').values(row).execute()
    return keyFromRow(row, { ...this.codec, readJson: <T>(v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as T })
  }

  async findKeyByHash(hash: string): Promise<(ApiKey & { hash: string }) | null> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst()
    return r ? { ...keyFromRow(r, this.codec), hash: r.hash } : null
  }

  async listKeys(tenantId: string): Promise<ApiKey[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute()
    return rows.map((r) => keyFromRow(r, this.codec))
  }

  async revokeKey(tenantId: string, id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }

  async touchKey(id: string, at: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute()
  }

  // ---- directories

  async createDirectory(tenantId: string, input: { name: string; externalId: string | null }): Promise<Directory> {
    const now = new Date().toISOString()
    const id = randomUUID()
    const number = this.nextDirectoryNumber()
    try {
      await this.db
        .insertInto('directories')
        .values({
          id,
          tenant_id: tenantId,
          external_id: input.externalId,
          name: input.name,
          created_at: now,
          updated_at: now,
          ...(number ? { number } : {}),
        })
        .execute()
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new UniqueViolation('externalId')
      throw e
    }
    return (await this.getDirectory(tenantId, id)) as Directory
  }

  async getDirectory(tenantId: string, ref: string): Promise<Directory | null> {
    const base = this.db.selectFrom('directories').selectAll().where('tenant_id', '=', tenantId)
    const byId = UUID_RE.test(ref) ? await base.where('id', '=', ref.toLowerCase()).executeTakeFirst() : undefined
    const r = byId ?? (await base.where('external_id', '=', ref).executeTakeFirst())
    return r ? directoryFromRow(r, this.codec) : null
  }

  async getDirectoryByNumber(tenantId: string, number: number): Promise<Directory | null> {
    const r = await this.db
      .selectFrom('directories')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('number', '=', number)
      .executeTakeFirst()
    return r ? directoryFromRow(r, this.codec) : null
  }

  async listDirectories(tenantId: string, only: string[] | null): Promise<Directory[]> {
    if (only && only.length === 0) return []
    let q = this.db.selectFrom('directories').selectAll().where('tenant_id', '=', tenantId)
    if (only) q = q.where('id', 'in', only)
    const rows = await q.orderBy('number').execute()
    return rows.map((r) => directoryFromRow(r, this.codec))
  }

  async updateDirectory(tenantId: string, id: string, patch: DirectoryPatch, at: string): Promise<Directory | null> {
    const set: Record<string, unknown> = { updated_at: at }
    if (patch.name !== undefined) set.name = patch.name
    if (patch.externalId !== undefined) set.external_id = patch.externalId
    try {
      await this.db.updateTable('directories').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute()
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new UniqueViolation('externalId')
      throw e
    }
    return this.getDirectory(tenantId, id)
  }

  async deleteDirectory(tenantId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'> {
    // In one statement, so no job can start between the check and the delete.
    const r = await this.db
      .deleteFrom('directories')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('jobs').select('jobs.id').whereRef('jobs.directory_id', '=', 'directories.id').where('jobs.state', 'in', [...ACTIVE_JOB_STATES]))),
      )
      .executeTakeFirst()
    if (Number(r.numDeletedRows) > 0) return 'deleted'
    return (await this.getDirectory(tenantId, id)) ? 'busy' : 'not_found'
  }

  // ---- fields

  async listFields(directoryId: string): Promise<FieldDefinition[]> {
    const rows = await this.db
      .selectFrom('field_definitions')
      .selectAll()
      .where('directory_id', '=', directoryId)
      .orderBy('created_at')
      .orderBy('key')
      .execute()
    return rows.map((r) => fieldFromRow(r, this.codec))
  }

  private fieldRow(directoryId: string, d: FieldDefinition, now: string) {
    return {
      directory_id: directoryId,
      key: d.key,
      label: d.label,
      type: d.type,
      required: this.codec.writeBool(d.required),
      is_unique: this.codec.writeBool(d.unique),
      max_length: d.maxLength,
      pattern: d.pattern,
      enum_values: this.codec.writeJson(d.enumValues),
      built_in: this.codec.writeBool(d.builtIn),
      created_at: d.createdAt ?? now,
      updated_at: d.updatedAt ?? now,
    }
  }

  async putField(directoryId: string, d: FieldDefinition): Promise<void> {
    const row = this.fieldRow(directoryId, d, new Date().toISOString())
    const { directory_id: _d, key: _k, created_at: _c, ...update } = row
    await this.db
      .insertInto('field_definitions')
      .values(row)
      .onConflict((oc) => oc.columns(['directory_id', 'key']).doUpdateSet(update))
      .execute()
  }

  /** Defines fields that do not exist yet, in the caller's transaction; one defined meanwhile is kept as it is. */
  protected async defineFieldsWith(db: Kysely<DB>, directoryId: string, defs: readonly FieldDefinition[]): Promise<void> {
    if (defs.length === 0) return
    const now = new Date().toISOString()
    await db
      .insertInto('field_definitions')
      .values(defs.map((d) => this.fieldRow(directoryId, d, now)))
      .onConflict((oc) => oc.columns(['directory_id', 'key']).doNothing())
      .execute()
  }

  async deleteField(directoryId: string, key: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('field_definitions')
      .where('directory_id', '=', directoryId)
      .where('key', '=', key)
      .executeTakeFirst()
    return Number(r.numDeletedRows) > 0
  }

  // ---- users

  async getUser(directoryId: string, id: string): Promise<UserRecord | null> {
    const r = await this.db
      .selectFrom('users')
      .selectAll()
      .where('directory_id', '=', directoryId)
      .where('id', '=', id)
      .executeTakeFirst()
    return r ? userFromRow(r, this.codec) : null
  }

  async findUsers(directoryId: string, lookup: UserLookup): Promise<UserRecord[]> {
    return this.findUsersWith(this.db, directoryId, lookup, false)
  }

  /** One query for all the lookups of a batch; `lock` adds FOR UPDATE where the engine has it. */
  protected async findUsersWith(db: Kysely<DB>, directoryId: string, lookup: UserLookup, lock: boolean): Promise<UserRecord[]> {
    const ids = lookup.id ?? []
    const ext = lookup.externalId ?? []
    const emails = (lookup.email ?? []).map((e) => normEmail(e) as string)
    const usernames = (lookup.username ?? []).map((e) => normEmail(e) as string)
    const custom = Object.entries(lookup.fields ?? {}).filter(([, v]) => v.length > 0)
    if (ids.length + ext.length + emails.length + usernames.length + custom.length === 0) return []
    let q = db
      .selectFrom('users')
      .selectAll()
      .where('directory_id', '=', directoryId)
      .where((eb) => {
        const ors = []
        if (ids.length) ors.push(eb('id', 'in', ids))
        if (ext.length) ors.push(eb('external_id', 'in', ext))
        if (emails.length) ors.push(eb('email_norm', 'in', emails))
        if (usernames.length) ors.push(eb('username_norm', 'in', usernames))
        for (const [key, values] of custom) ors.push(this.customFieldIn(key, values))
        return eb.or(ors)
      })
    // Locks are taken in id order, so two batches over the same users cannot deadlock.
    if (lock && this.capabilities.skipLocked) q = q.orderBy('id').forUpdate()
    const rows = await q.execute()
    return rows.map((r) => userFromRow(r, this.codec))
  }

  /** Which of `ids` belong to users of other directories: user ids are unique across the service. */
  protected async idsTakenWith(db: Kysely<DB>, directoryId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return []
    const rows = await db.selectFrom('users').select('id').where('id', 'in', [...ids]).where('directory_id', '<>', directoryId).execute()
    return rows.map((r) => r.id)
  }

  async listUsers(directoryId: string, q: UserListQuery): Promise<Page<UserRecord>> {
    let query = this.db.selectFrom('users').selectAll().where('directory_id', '=', directoryId)
    if (q.email !== undefined) query = query.where('email_norm', '=', normEmail(q.email))
    if (q.username !== undefined) query = query.where('username_norm', '=', normEmail(q.username))
    if (q.externalId !== undefined) query = query.where('external_id', '=', q.externalId)
    if (q.createdAfter) query = query.where('created_at', '>=', q.createdAfter)
    if (q.createdBefore) query = query.where('created_at', '<', q.createdBefore)
    if (q.updatedAfter) query = query.where('updated_at', '>=', q.updatedAfter)
    if (q.updatedBefore) query = query.where('updated_at', '<', q.updatedBefore)
    for (const [k, v] of Object.entries(q.fields ?? {})) query = query.where(this.customFieldEquals(k, v))
    if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq)
    const rows = await query.orderBy('seq').limit(q.limit + 1).execute()
    const more = rows.length > q.limit
    const page = more ? rows.slice(0, q.limit) : rows
    return {
      items: page.map((r) => userFromRow(r, this.codec)),
      nextSeq: more ? Number(page[page.length - 1].seq) : null,
    }
  }

  async countUsers(directoryId: string): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('directory_id', '=', directoryId)
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }

  searchUsers(directoryId: string, q: UserSearch): Promise<UserSearchResult> {
    return searchUsers(this.db, this.codec, this.userFilterDialect, directoryId, q)
  }

  // ---- groups

  private groupFromRow(r: Record<string, unknown>): Group {
    return {
      id: r.id as string,
      directoryId: r.directory_id as string,
      kind: r.kind as string,
      name: r.name as string,
      externalId: r.external_id as string | null,
      createdAt: this.codec.readTime(r.created_at),
      updatedAt: this.codec.readTime(r.updated_at),
    }
  }

  async createGroup(directoryId: string, input: { kind: string; name: string; externalId: string | null }): Promise<Group> {
    const now = new Date().toISOString()
    const row = { id: randomUUID(), directory_id: directoryId, kind: input.kind, name: input.name, external_id: input.externalId, created_at: now, updated_at: now }
    try {
      await this.db.insertInto('groups').values(row).execute()
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new UniqueViolation('name')
      throw e
    }
    return this.groupFromRow(row)
  }

  async getGroup(directoryId: string, id: string): Promise<Group | null> {
    const r = await this.db.selectFrom('groups').selectAll().where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
    return r ? this.groupFromRow(r) : null
  }

  async listGroups(directoryId: string, q: { kind?: string; name?: string; externalId?: string; limit: number }): Promise<Group[]> {
    let query = this.db.selectFrom('groups').selectAll().where('directory_id', '=', directoryId)
    if (q.kind !== undefined) query = query.where('kind', '=', q.kind)
    if (q.name !== undefined) query = query.where('name', '=', q.name)
    if (q.externalId !== undefined) query = query.where('external_id', '=', q.externalId)
    const rows = await query.orderBy('created_at').orderBy('id').limit(q.limit).execute()
    return rows.map((r) => this.groupFromRow(r))
  }

  async renameGroup(directoryId: string, id: string, name: string, at: string): Promise<Group | null> {
    try {
      await this.db.updateTable('groups').set({ name, updated_at: at }).where('directory_id', '=', directoryId).where('id', '=', id).execute()
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new UniqueViolation('name')
      throw e
    }
    return this.getGroup(directoryId, id)
  }

  async deleteGroup(directoryId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('groups').where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
    return Number(r.numDeletedRows) > 0
  }

  async addMembers(directoryId: string, groupId: string, userIds: string[]): Promise<string[]> {
    if (!(await this.getGroup(directoryId, groupId)) || userIds.length === 0) return []
    // Only users of the group's own directory can join it.
    const valid = await this.db.selectFrom('users').select('id').where('directory_id', '=', directoryId).where('id', 'in', userIds).execute()
    if (valid.length === 0) return []
    const before = new Set(await this.listMembers(directoryId, groupId))
    const added = valid.map((v) => v.id).filter((id) => !before.has(id))
    if (added.length)
      await this.db
        .insertInto('group_members')
        .values(added.map((user_id) => ({ group_id: groupId, user_id })))
        .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
        .execute()
    return added
  }

  async removeMembers(directoryId: string, groupId: string, userIds: string[]): Promise<number> {
    if (!(await this.getGroup(directoryId, groupId)) || userIds.length === 0) return 0
    const r = await this.db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', 'in', userIds).executeTakeFirst()
    return Number(r.numDeletedRows)
  }

  async listMembers(directoryId: string, groupId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select('group_members.user_id')
      .where('groups.directory_id', '=', directoryId)
      .where('group_members.group_id', '=', groupId)
      .orderBy('group_members.user_id')
      .execute()
    return rows.map((r) => r.user_id)
  }

  async groupsOfUser(directoryId: string, userId: string): Promise<Group[]> {
    const rows = await this.db
      .selectFrom('groups')
      .innerJoin('group_members', 'group_members.group_id', 'groups.id')
      .selectAll('groups')
      .where('groups.directory_id', '=', directoryId)
      .where('group_members.user_id', '=', userId)
      .orderBy('groups.name')
      .execute()
    return rows.map((r) => this.groupFromRow(r))
  }

  // ---- history

  async listChanges(directoryId: string, q: ChangeQuery): Promise<Page<ChangeRecord>> {
    let query = this.db.selectFrom('changes').selectAll().where('directory_id', '=', directoryId)
    if (q.userId !== undefined) query = query.where('user_id', '=', q.userId)
    if (q.jobId !== undefined) query = query.where('job_id', '=', q.jobId)
    if (q.action !== undefined) query = query.where('action', '=', q.action)
    if (q.field !== undefined) query = query.where(this.changeTouches(q.field))
    if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq)
    const rows = await query.orderBy('seq', 'desc').limit(q.limit + 1).execute()
    const more = rows.length > q.limit
    const page = more ? rows.slice(0, q.limit) : rows
    return {
      items: page.map((r) => changeFromRow(r, this.codec)),
      nextSeq: more ? Number(page[page.length - 1].seq) : null,
    }
  }

  // ---- idempotency

  async claimIdempotencyKey(rec: IdempotencyRecord): Promise<IdempotencyRecord | null> {
    const r = await this.db
      .insertInto('idempotency_keys')
      .values({
        api_key_id: rec.apiKeyId,
        tenant_id: rec.tenantId,
        key: rec.key,
        fingerprint: rec.fingerprint,
        state: 'pending',
        status: null,
        content_type: null,
        headers: null,
        body: null,
        created_at: rec.createdAt,
      })
      .onConflict((oc) => oc.columns(['api_key_id', 'key']).doNothing())
      .executeTakeFirst()
    if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) return null
    const e = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('api_key_id', '=', rec.apiKeyId)
      .where('key', '=', rec.key)
      .executeTakeFirstOrThrow()
    return {
      apiKeyId: e.api_key_id,
      tenantId: e.tenant_id,
      key: e.key,
      fingerprint: e.fingerprint,
      state: e.state as IdempotencyRecord['state'],
      status: e.status,
      contentType: e.content_type,
      headers: e.headers == null ? null : this.codec.readJson<Record<string, string>>(e.headers),
      body: e.body,
      createdAt: this.codec.readTime(e.created_at),
    }
  }

  async completeIdempotencyKey(
    apiKeyId: string,
    key: string,
    res: { status: number; contentType: string; headers: Record<string, string>; body: string },
  ): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'done', status: res.status, content_type: res.contentType, headers: this.codec.writeJson(res.headers), body: res.body })
      .where('api_key_id', '=', apiKeyId)
      .where('key', '=', key)
      .execute()
  }

  async releaseIdempotencyKey(apiKeyId: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('api_key_id', '=', apiKeyId).where('key', '=', key).execute()
  }
}

/** Name of the index behind a unique custom field: stable, short, safe as an identifier. */
export function uniqueIndexName(directoryId: string, key: string): string {
  return `uf_${createHash('sha1').update(`${directoryId}/${key}`).digest('hex').slice(0, 24)}`
}

/** Identifiers and literals for the DDL of unique-field indexes: ids are UUIDs and keys match FIELD_KEY_PATTERN, checked again here. */
export function assertDdlSafe(directoryId: string, key: string): void {
  if (!/^[0-9a-f-]{36}$/.test(directoryId) || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(key)) throw new Error('unsafe identifier for DDL')
}
