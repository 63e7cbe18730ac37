import type { Kysely } from 'kysely'
import type { ChangeRecord, FeedPosition } from '../../core/types.js'
import { changeFromRow, int } from '../codec.js'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import type { ChangeQuery, FeedPage, Page } from '../store.js'

/** A directory's change records (written by writeBatch), newest first. */
export function historyRepo(db: Kysely<DB>, d: StoreDialect) {
  return {
    async list(directoryId: string, q: ChangeQuery): Promise<Page<ChangeRecord>> {
      let query = db.selectFrom('changes').selectAll().where('directory_id', '=', directoryId)
      if (q.userId !== undefined) query = query.where('user_id', '=', q.userId)
      if (q.jobId !== undefined) query = query.where('job_id', '=', q.jobId)
      if (q.action !== undefined) query = query.where('action', '=', q.action)
      if (q.field !== undefined) query = query.where(d.changeTouches(q.field))
      if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq)
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(q.limit + 1)
        .execute()
      const more = rows.length > q.limit
      const page = more ? rows.slice(0, q.limit) : rows
      return { items: page.map((r) => changeFromRow(r, d.codec)), nextSeq: more ? int(page[page.length - 1].seq) : null }
    },

    /**
     * The directory's change records after `after` (from the first without), oldest first, by
     * `seq`: the feed where one transaction writes at a time, so records commit in `seq` order
     * (SQLite; PostgreSQL's store orders by transaction, postgres-store.ts `changeFeed`).
     * `expired`: the record `after` names is gone (retention deleted it, or it belongs to another
     * directory), so what followed it cannot be told.
     */
    /** The newest record's position (seq order: SQLite's feed). */
    async head(directoryId: string): Promise<FeedPosition | null> {
      const r = await db
        .selectFrom('changes')
        .select('seq')
        .where('directory_id', '=', directoryId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst()
      return r ? { txid: '0', seq: int(r.seq) } : null
    },

    async feed(directoryId: string, after: FeedPosition | null, limit: number): Promise<FeedPage> {
      let q = db.selectFrom('changes').selectAll().where('directory_id', '=', directoryId)
      if (after) {
        const still = await db
          .selectFrom('changes')
          .select('seq')
          .where('seq', '=', after.seq)
          .where('directory_id', '=', directoryId)
          .executeTakeFirst()
        if (!still) return { items: [], expired: true }
        q = q.where('seq', '>', after.seq)
      }
      const rows = await q.orderBy('seq').limit(limit).execute()
      return { items: rows.map((r) => ({ ...changeFromRow(r, d.codec), position: { txid: '0', seq: int(r.seq) } })), expired: false }
    },
  }
}
