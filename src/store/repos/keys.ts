import { randomUUID } from 'node:crypto'
import type { Insertable, Kysely } from 'kysely'
import type { ApiKey } from '../../core/types.js'
import { keyFromRow } from '../codec.js'
import type { ApiKeysTable, DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import type { NewKey } from '../store.js'

/** API keys of a tenant; only hashes are stored. */
export function keysRepo(db: Kysely<DB>, d: StoreDialect) {
  return {
    async create(k: NewKey): Promise<ApiKey> {
      const row = {
        id: randomUUID(),
        tenant_id: k.tenantId,
        name: k.name,
        hash: k.hash,
        scopes: d.codec.writeJson(k.scopes),
        directories: d.codec.writeJson(k.directories),
        created_at: new Date().toISOString(),
        last_used_at: null,
        revoked_at: null,
      } satisfies Insertable<ApiKeysTable>
      await db.insertInto('api_keys').values(row).execute()
      return {
        id: row.id,
        tenantId: k.tenantId,
        name: k.name,
        scopes: [...k.scopes],
        directories: k.directories && [...k.directories],
        createdAt: row.created_at,
        lastUsedAt: null,
        revokedAt: null,
      }
    },

    async findByHash(hash: string): Promise<(ApiKey & { hash: string }) | null> {
      const r = await db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst()
      return r ? { ...keyFromRow(r, d.codec), hash: r.hash } : null
    },

    async findById(id: string): Promise<(ApiKey & { hash: string }) | null> {
      const r = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst()
      return r ? { ...keyFromRow(r, d.codec), hash: r.hash } : null
    },

    async list(tenantId: string): Promise<ApiKey[]> {
      const rows = await db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute()
      return rows.map((r) => keyFromRow(r, d.codec))
    },

    async revoke(tenantId: string, id: string, at: string): Promise<boolean> {
      const r = await db
        .updateTable('api_keys')
        .set({ revoked_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) > 0
    },

    async touch(id: string, at: string): Promise<void> {
      await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute()
    },
  }
}
