import { type Kysely, type SqlBool, sql } from 'kysely'
import type { FieldError } from '../../core/errors.js'
import type { JobResultRow, RevertConflict, RowPlan } from '../../core/jobs.js'
import type { ChangeRecord } from '../../core/types.js'
import { changeFromRow } from '../codec.js'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'

/** A stored row result holds at most this many warnings. */
const MAX_WARNINGS = 10

/** What a job leaves behind row by row: results, warnings, and a revert's reads and conflicts. */
export function jobResultsRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec
  return {
    async insert(jobId: string, rows: JobResultRow[]): Promise<void> {
      if (rows.length === 0) return
      await db
        .insertInto('job_results')
        .values(
          rows.map((r) => ({
            job_id: jobId,
            row_index: r.index,
            line: r.line,
            status: r.status,
            user_id: r.userId,
            changed_fields: r.changedFields.length ? c.writeJson(r.changedFields) : null,
            errors: r.errors.length ? c.writeJson(r.errors) : null,
            warnings: r.warnings.length ? c.writeJson(r.warnings) : null,
            plan: r.plan ? c.writeJson(r.plan) : null,
            raw: r.raw,
          })),
        )
        .execute()
    },

    /** Adds a warning to a stored row result (a later row of the input named the same user). */
    async addWarning(jobId: string, index: number, warning: FieldError): Promise<void> {
      const r = await db
        .selectFrom('job_results')
        .select('warnings')
        .where('job_id', '=', jobId)
        .where('row_index', '=', index)
        .executeTakeFirst()
      if (!r) return
      const list = r.warnings == null ? [] : c.readJson<FieldError[]>(r.warnings)
      if (list.length >= MAX_WARNINGS) return
      await db
        .updateTable('job_results')
        .set({ warnings: c.writeJson([...list, warning]) })
        .where('job_id', '=', jobId)
        .where('row_index', '=', index)
        .execute()
    },

    /** Results in input order from `afterIndex`, a page at a time. */
    async list(jobId: string, q: { status?: string; afterIndex?: number; limit: number }): Promise<JobResultRow[]> {
      let query = db.selectFrom('job_results').selectAll().where('job_id', '=', jobId)
      // The status is any text a caller asks for (an unknown one matches nothing).
      if (q.status) query = query.where(sql<SqlBool>`status = ${q.status}`)
      if (q.afterIndex !== undefined) query = query.where('row_index', '>', q.afterIndex)
      const rows = await query.orderBy('row_index').limit(q.limit).execute()
      return rows.map((x) => ({
        index: x.row_index,
        line: x.line,
        status: x.status,
        userId: x.user_id,
        changedFields: x.changed_fields == null ? [] : c.readJson<string[]>(x.changed_fields),
        errors: x.errors == null ? [] : c.readJson<FieldError[]>(x.errors),
        warnings: x.warnings == null ? [] : c.readJson<FieldError[]>(x.warnings),
        plan: x.plan == null ? null : c.readJson<RowPlan>(x.plan),
        raw: x.raw,
      }))
    },

    /** The users a job changed, in id order, a page at a time (after `afterUserId`). */
    async changedUsers(directoryId: string, jobId: string, afterUserId: string | null, limit: number): Promise<string[]> {
      let q = db.selectFrom('changes').select('user_id').distinct().where('job_id', '=', jobId).where('directory_id', '=', directoryId)
      if (afterUserId !== null) q = q.where('user_id', '>', afterUserId)
      const rows = await q.orderBy('user_id').limit(limit).execute()
      return rows.map((x) => x.user_id)
    },

    /** A job's change records of some users, oldest first per user. */
    async changesOf(directoryId: string, jobId: string, userIds: string[]): Promise<ChangeRecord[]> {
      if (userIds.length === 0) return []
      const rows = await db
        .selectFrom('changes')
        .selectAll()
        .where('job_id', '=', jobId)
        .where('directory_id', '=', directoryId)
        .where('user_id', 'in', userIds)
        .orderBy('user_id')
        .orderBy('seq')
        .execute()
      return rows.map((x) => changeFromRow(x, c))
    },

    async addConflicts(jobId: string, firstSeq: number, conflicts: RevertConflict[]): Promise<void> {
      if (conflicts.length === 0) return
      await db
        .insertInto('job_conflicts')
        .values(
          conflicts.map((x, i) => ({
            job_id: jobId,
            seq: firstSeq + i,
            user_id: x.userId,
            field: x.field,
            // Wrapped, so that a JSON null and an absent value both survive the column.
            expected: c.writeJson({ v: x.expected ?? null }),
            actual: c.writeJson({ v: x.actual ?? null }),
          })),
        )
        .execute()
    },

    async conflicts(jobId: string, q: { afterSeq?: number; limit: number }): Promise<(RevertConflict & { seq: number })[]> {
      let query = db.selectFrom('job_conflicts').selectAll().where('job_id', '=', jobId)
      if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq)
      const rows = await query.orderBy('seq').limit(q.limit).execute()
      return rows.map((x) => ({
        seq: x.seq,
        userId: x.user_id,
        field: x.field,
        expected: c.readJson<{ v: unknown }>(x.expected).v,
        actual: c.readJson<{ v: unknown }>(x.actual).v,
      }))
    },
  }
}
