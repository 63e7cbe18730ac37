import { type Kysely, sql } from 'kysely'
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
     * The directory's change records after `after` (from the first without), oldest first, in an
     * order no record can later appear before (migration 007): by `seq` where transactions run one
     * at a time; else by (transaction id, seq), only records of transactions older than every one
     * still running. `expired`: the record `after` names is gone (retention deleted it, or it
     * belongs to another directory), so what followed it cannot be told.
     */
    async feed(directoryId: string, after: FeedPosition | null, limit: number): Promise<FeedPage> {
      if (after) {
        // The record itself, as the cursor names it: on PostgreSQL its transaction id too, which
        // a restore into another cluster may have reset (postgres-store.ts FEED_REPAIR).
        let q = db.selectFrom('changes').select('seq').where('seq', '=', after.seq).where('directory_id', '=', directoryId)
        if (d.capabilities.concurrentTransactions) q = q.where(sql<boolean>`txid = ${after.txid}::xid8`)
        if (!(await q.executeTakeFirst())) return { items: [], expired: true }
      }
      if (!d.capabilities.concurrentTransactions) {
        let q = db.selectFrom('changes').selectAll().where('directory_id', '=', directoryId)
        if (after) q = q.where('seq', '>', after.seq)
        const rows = await q.orderBy('seq').limit(limit).execute()
        return { items: rows.map((r) => ({ ...changeFromRow(r, d.codec), position: { txid: '0', seq: int(r.seq) } })), expired: false }
      }
      const from = after ? sql`AND (txid, seq) > (${after.txid}::xid8, ${after.seq})` : sql``
      const rows = await sql<Parameters<typeof changeFromRow>[0] & { txid_text: string }>`
        SELECT *, txid::text AS txid_text FROM changes
        WHERE directory_id = ${directoryId} AND txid < pg_snapshot_xmin(pg_current_snapshot()) ${from}
        ORDER BY txid, seq LIMIT ${limit}`.execute(db)
      return {
        items: rows.rows.map((r) => ({ ...changeFromRow(r, d.codec), position: { txid: r.txid_text, seq: int(r.seq) } })),
        expired: false,
      }
    },
  }
}
