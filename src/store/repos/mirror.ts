import { type Expression, type Kysely, type SqlBool, sql } from 'kysely'
import type { UserRecord } from '../../core/types.js'
import type { UserFilterExpr } from '../../core/user-filter.js'
import { int, userFromRow } from '../codec.js'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import { compileUserFilter } from '../user-filter.js'

/** Which users of a directory a mirror import may find absent. */
export interface AbsentQuery {
  /** The scope (and, to deactivate, `active`): only users matching it. */
  filter: UserFilterExpr
  /** Only users created before this instant (the job's start): one created meanwhile by another channel is never absent. */
  createdBefore: string
}

/** Rows per insert into job_matched (two parameters each: well under every engine's limit). */
const INSERT_ROWS = 1000

/**
 * A mirror import's matched set (`job_matched`) and the users absent from it: the scoped users
 * of the directory for which no `job_matched` row exists, an anti-join on its primary key.
 */
export function mirrorRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec
  const scoped = (directoryId: string, q: AbsentQuery) =>
    db
      .selectFrom('users')
      .where('directory_id', '=', directoryId)
      .where('created_at', '<', q.createdBefore)
      .where(compileUserFilter(q.filter, d.userFilter) as Expression<SqlBool>)
  const unmatched = (jobId: string) =>
    sql<SqlBool>`NOT EXISTS (SELECT 1 FROM job_matched m WHERE m.job_id = ${jobId} AND m.user_id = users.id)`

  return {
    /** Records users the job's rows matched (inside the batch's transaction); a user named twice is kept once. */
    async addMatched(jobId: string, userIds: readonly string[]): Promise<void> {
      const ids = [...new Set(userIds)]
      for (let i = 0; i < ids.length; i += INSERT_ROWS)
        await db
          .insertInto('job_matched')
          .values(ids.slice(i, i + INSERT_ROWS).map((user_id) => ({ job_id: jobId, user_id })))
          .onConflict((oc) => oc.columns(['job_id', 'user_id']).doNothing())
          .execute()
    },

    /** Forgets the job's matched set (it ended, or its absent phase is done). */
    async clearMatched(jobId: string): Promise<void> {
      await db.deleteFrom('job_matched').where('job_id', '=', jobId).execute()
    },

    /** Users in scope, and of those the ones the job did not match. */
    async countAbsent(directoryId: string, jobId: string, q: AbsentQuery): Promise<{ scoped: number; absent: number }> {
      const r = await scoped(directoryId, q)
        .select((eb) => [
          eb.fn.countAll<number | string>().as('scoped'),
          sql<number | string>`COALESCE(SUM(CASE WHEN ${unmatched(jobId)} THEN 1 ELSE 0 END), 0)`.as('absent'),
        ])
        .executeTakeFirstOrThrow()
      return { scoped: Number(r.scoped), absent: Number(r.absent) }
    },

    /** The next absent users after `afterSeq`, in seq order; `lastSeq` is where the next page starts. */
    async absentUsers(
      directoryId: string,
      jobId: string,
      q: AbsentQuery,
      afterSeq: number,
      limit: number,
    ): Promise<{ users: UserRecord[]; lastSeq: number | null }> {
      const rows = await scoped(directoryId, q)
        .selectAll()
        .where('seq', '>', afterSeq)
        .where(unmatched(jobId))
        .orderBy('seq')
        .limit(limit)
        .execute()
      return { users: rows.map((r) => userFromRow(r, c)), lastSeq: rows.length ? int(rows[rows.length - 1].seq) : null }
    },
  }
}

export type MirrorRepo = ReturnType<typeof mirrorRepo>
