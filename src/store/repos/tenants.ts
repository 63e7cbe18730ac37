import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Tenant } from '../../core/types.js'
import { tenantFromRow } from '../codec.js'
import type { DB } from '../db-types.js'

/** Tenants: created by name, once. */
export function tenantsRepo(db: Kysely<DB>) {
  return {
    async ensure(name: string): Promise<Tenant> {
      await db
        .insertInto('tenants')
        .values({ id: randomUUID(), name, created_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute()
      return tenantFromRow(await db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirstOrThrow())
    },

    async get(id: string): Promise<Tenant | null> {
      const r = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst()
      return r ? tenantFromRow(r) : null
    },
  }
}
