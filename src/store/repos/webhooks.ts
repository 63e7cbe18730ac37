import type { Kysely } from 'kysely'
import type { Webhook } from '../../core/jobs.js'
import type { DB } from '../db-types.js'

/** URLs told when an import of a directory ends. */
export function webhooksRepo(db: Kysely<DB>) {
  return {
    async add(w: Webhook): Promise<void> {
      await db
        .insertInto('webhooks')
        .values({ id: w.id, directory_id: w.directoryId, url: w.url, secret: w.secret, created_at: w.createdAt })
        .execute()
    },

    async list(directoryId: string): Promise<Webhook[]> {
      const rows = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('directory_id', '=', directoryId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map((x) => ({ id: x.id, directoryId: x.directory_id, url: x.url, secret: x.secret, createdAt: x.created_at }))
    },

    async delete(directoryId: string, id: string): Promise<boolean> {
      const r = await db.deleteFrom('webhooks').where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return Number(r.numDeletedRows) === 1
    },
  }
}
