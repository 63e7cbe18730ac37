import { randomUUID } from 'node:crypto'
import { type Insertable, type Kysely, sql } from 'kysely'
import { ACTIVE_JOB_STATES } from '../../core/jobs.js'
import type { Directory, FieldDefinition } from '../../core/types.js'
import { directoryFromRow, fieldFromRow } from '../codec.js'
import type { DB, FieldDefinitionsTable } from '../db-types.js'
import { assertDdlSafe, type StoreDialect } from '../dialect.js'
import { UniqueViolation } from '../errors.js'
import type { DirectoryPatch } from '../store.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Directories of a tenant. */
export function directoriesRepo(db: Kysely<DB>, d: StoreDialect) {
  /** Runs a write; a unique constraint refusing it is a UniqueViolation on `field`. */
  const unique = async <T>(field: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write()
    } catch (e) {
      if (d.isUniqueViolation(e)) throw new UniqueViolation(field)
      throw e
    }
  }

  const repo = {
    async create(
      tenantId: string,
      input: { name: string; externalId: string | null; historyRetentionDays?: number | null },
    ): Promise<Directory> {
      const now = new Date().toISOString()
      const id = randomUUID()
      const number = d.nextDirectoryNumber()
      await unique('externalId', () =>
        db
          .insertInto('directories')
          .values({
            id,
            tenant_id: tenantId,
            external_id: input.externalId,
            name: input.name,
            history_retention_days: input.historyRetentionDays ?? null,
            created_at: now,
            updated_at: now,
            ...(number ? { number } : {}),
          })
          .execute(),
      )
      const r = await db.selectFrom('directories').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
      return directoryFromRow(r)
    },

    /** By UUID, else by externalId, within the tenant. */
    async get(tenantId: string, ref: string): Promise<Directory | null> {
      const base = db.selectFrom('directories').selectAll().where('tenant_id', '=', tenantId)
      const byId = UUID_RE.test(ref) ? await base.where('id', '=', ref.toLowerCase()).executeTakeFirst() : undefined
      const r = byId ?? (await base.where('external_id', '=', ref).executeTakeFirst())
      return r ? directoryFromRow(r) : null
    },

    async getByNumber(tenantId: string, number: number): Promise<Directory | null> {
      const r = await db
        .selectFrom('directories')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('number', '=', number)
        .executeTakeFirst()
      return r ? directoryFromRow(r) : null
    },

    async list(tenantId: string, only: string[] | null): Promise<Directory[]> {
      if (only && only.length === 0) return []
      let q = db.selectFrom('directories').selectAll().where('tenant_id', '=', tenantId)
      if (only) q = q.where('id', 'in', only)
      const rows = await q.orderBy('number').execute()
      return rows.map(directoryFromRow)
    },

    async update(tenantId: string, id: string, patch: DirectoryPatch, at: string): Promise<Directory | null> {
      const set = {
        updated_at: at,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.externalId !== undefined ? { external_id: patch.externalId } : {}),
        ...(patch.historyRetentionDays !== undefined ? { history_retention_days: patch.historyRetentionDays } : {}),
      }
      await unique('externalId', () =>
        db.updateTable('directories').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute(),
      )
      return repo.get(tenantId, id)
    },

    async delete(tenantId: string, id: string): Promise<'deleted' | 'not_found' | 'busy'> {
      // In one statement, so no job can start between the check and the delete.
      const r = await db
        .deleteFrom('directories')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('jobs')
                .select('jobs.id')
                .whereRef('jobs.directory_id', '=', 'directories.id')
                .where('jobs.state', 'in', [...ACTIVE_JOB_STATES]),
            ),
          ),
        )
        .executeTakeFirst()
      if (Number(r.numDeletedRows) > 0) return 'deleted'
      return (await repo.get(tenantId, id)) ? 'busy' : 'not_found'
    },
  }
  return repo
}

/** Field definitions of a directory: custom ones, and stored overrides of built-ins. */
export function fieldsRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec
  const toRow = (directoryId: string, f: FieldDefinition, now: string) =>
    ({
      directory_id: directoryId,
      key: f.key,
      label: f.label,
      type: f.type,
      required: c.writeBool(f.required),
      is_unique: c.writeBool(f.unique),
      max_length: f.maxLength,
      pattern: f.pattern,
      enum_values: c.writeJson(f.enumValues),
      built_in: c.writeBool(f.builtIn),
      created_at: f.createdAt ?? now,
      updated_at: f.updatedAt ?? now,
    }) satisfies Insertable<FieldDefinitionsTable>

  return {
    async list(directoryId: string): Promise<FieldDefinition[]> {
      const rows = await db
        .selectFrom('field_definitions')
        .selectAll()
        .where('directory_id', '=', directoryId)
        .orderBy('created_at')
        .orderBy('key')
        .execute()
      return rows.map((r) => fieldFromRow(r, c))
    },

    async put(directoryId: string, f: FieldDefinition): Promise<void> {
      const row = toRow(directoryId, f, new Date().toISOString())
      const { directory_id: _d, key: _k, created_at: _c, ...update } = row
      await db
        .insertInto('field_definitions')
        .values(row)
        .onConflict((oc) => oc.columns(['directory_id', 'key']).doUpdateSet(update))
        .execute()
    },

    /** Defines fields that do not exist yet (in the caller's transaction); one defined meanwhile is kept as it is. */
    async define(directoryId: string, defs: readonly FieldDefinition[]): Promise<void> {
      if (defs.length === 0) return
      const now = new Date().toISOString()
      await db
        .insertInto('field_definitions')
        .values(defs.map((f) => toRow(directoryId, f, now)))
        .onConflict((oc) => oc.columns(['directory_id', 'key']).doNothing())
        .execute()
    },

    async delete(directoryId: string, key: string): Promise<boolean> {
      const r = await db.deleteFrom('field_definitions').where('directory_id', '=', directoryId).where('key', '=', key).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },

    async setUniqueIndex(directoryId: string, key: string, unique: boolean): Promise<void> {
      assertDdlSafe(directoryId, key)
      try {
        await sql.raw(d.uniqueFieldIndexDdl(directoryId, key, unique)).execute(db)
      } catch (e) {
        if (d.isUniqueViolation(e)) throw new UniqueViolation(key)
        throw e
      }
    },
  }
}
