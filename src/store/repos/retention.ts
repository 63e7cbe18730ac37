import { type Kysely, sql } from 'kysely'
import type { JobState } from '../../core/jobs.js'
import type { DB } from '../db-types.js'

/** A job in one of these states never reads its input again, and its results change no more. */
export const ENDED_JOB_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled', 'reverted']

/**
 * What retention deletes (src/jobs/retention.ts runs it), each a page at a time so that no
 * statement holds a lock for long: a deleted page is committed on its own, and a sweep cut off
 * by a crash goes on from what is left. Every statement names the rows it may delete by a
 * condition that stays true once it holds, so a job still running is never touched.
 */
export function retentionRepo(db: Kysely<DB>) {
  const ended = sql.join(ENDED_JOB_STATES)
  /** Deletes up to `limit` rows of `table` of one job, first by `key`, while the job is in an end state. */
  const deletePage = async (
    table: 'job_chunks' | 'job_results' | 'job_result_batches' | 'job_conflicts',
    key: string,
    jobId: string,
    limit: number,
  ) => {
    const r = await sql`
      DELETE FROM ${sql.table(table)} WHERE job_id = ${jobId}
        AND ${sql.ref(key)} IN (SELECT ${sql.ref(key)} FROM ${sql.table(table)} WHERE job_id = ${jobId} ORDER BY ${sql.ref(key)} LIMIT ${limit})
        AND EXISTS (SELECT 1 FROM jobs WHERE id = ${jobId} AND state IN (${ended}))`.execute(db)
    return Number(r.numAffectedRows ?? 0)
  }

  return {
    /** Ended jobs whose uploaded input is still stored, oldest first. */
    async jobsWithInput(limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('jobs')
        .select('id')
        .where('state', 'in', ENDED_JOB_STATES)
        .where('input_purged_at', 'is', null)
        .orderBy('created_at')
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },

    /** Deletes up to `limit` input chunks of an ended job; the number deleted. */
    deleteInputPage: (jobId: string, limit: number) => deletePage('job_chunks', 'seq', jobId, limit),

    async markInputPurged(jobId: string, at: string): Promise<void> {
      await db.updateTable('jobs').set({ input_purged_at: at }).where('id', '=', jobId).where('state', 'in', ENDED_JOB_STATES).execute()
    },

    /** Uploads begun before `before` that never finished (the client went away, the server stopped). */
    async abandonedUploads(before: string, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('jobs')
        .select('id')
        .where('state', '=', 'uploading')
        .where('created_at', '<', before)
        .orderBy('created_at')
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },

    /** Deletes up to `limit` chunks of an upload begun before `before` and never finished; the job goes with its last chunk. */
    async deleteAbandonedPage(jobId: string, before: string, limit: number): Promise<number> {
      const r = await sql`
        DELETE FROM job_chunks WHERE job_id = ${jobId}
          AND seq IN (SELECT seq FROM job_chunks WHERE job_id = ${jobId} ORDER BY seq LIMIT ${limit})
          AND EXISTS (SELECT 1 FROM jobs WHERE id = ${jobId} AND state = 'uploading' AND created_at < ${before})`.execute(db)
      const n = Number(r.numAffectedRows ?? 0)
      if (n === 0)
        await db.deleteFrom('jobs').where('id', '=', jobId).where('state', '=', 'uploading').where('created_at', '<', before).execute()
      return n
    },

    /**
     * Jobs that ended before `before` whose results are still stored (or that ended again since
     * they were swept: a revert), and that no queued or running apply still reads the plan of.
     */
    async jobsWithExpiredResults(before: string, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('jobs as j')
        .select('j.id')
        .where('j.state', 'in', ENDED_JOB_STATES)
        .where('j.finished_at', '<', before)
        .where((eb) => eb.or([eb('j.results_purged_at', 'is', null), eb('j.results_purged_at', '<', eb.ref('j.finished_at'))]))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('jobs as a').select('a.id').whereRef('a.source_job_id', '=', 'j.id').where('a.state', 'in', ['queued', 'running']),
            ),
          ),
        )
        .orderBy('j.finished_at')
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },

    /** Deletes up to `limit` stored results of an ended job (rows, batch records, then conflicts); the number deleted. */
    async deleteResultsPage(jobId: string, limit: number): Promise<number> {
      return (
        (await deletePage('job_results', 'row_index', jobId, limit)) ||
        (await deletePage('job_result_batches', 'first_index', jobId, limit)) ||
        (await deletePage('job_conflicts', 'seq', jobId, limit))
      )
    },

    async markResultsPurged(jobId: string, at: string): Promise<void> {
      await db.updateTable('jobs').set({ results_purged_at: at }).where('id', '=', jobId).where('state', 'in', ENDED_JOB_STATES).execute()
    },

    /** Deletes up to `limit` idempotency records made before `before`; the number deleted. */
    async deleteIdempotencyPage(before: string, limit: number): Promise<number> {
      const r = await sql`
        DELETE FROM idempotency_keys WHERE (api_key_id, key) IN (
          SELECT api_key_id, key FROM idempotency_keys WHERE created_at < ${before} ORDER BY created_at LIMIT ${limit})`.execute(db)
      return Number(r.numAffectedRows ?? 0)
    },

    /** Directories that keep history for a limited time. */
    async historyRetention(): Promise<{ directoryId: string; days: number }[]> {
      const rows = await db
        .selectFrom('directories')
        .select(['id', 'history_retention_days'])
        .where('history_retention_days', 'is not', null)
        .execute()
      return rows.map((r) => ({ directoryId: r.id, days: r.history_retention_days as number }))
    },

    /**
     * Deletes change records of a directory made before `before`, from the oldest of its `limit`
     * oldest records (by sequence, which follows time): the number deleted. Fewer than `limit`
     * means none older are left.
     */
    async deleteHistoryPage(directoryId: string, before: string, limit: number): Promise<number> {
      const r = await sql`
        DELETE FROM changes WHERE directory_id = ${directoryId} AND at < ${before}
          AND seq IN (SELECT seq FROM changes WHERE directory_id = ${directoryId} ORDER BY seq LIMIT ${limit})`.execute(db)
      return Number(r.numAffectedRows ?? 0)
    },
  }
}

export type RetentionRepo = ReturnType<typeof retentionRepo>
