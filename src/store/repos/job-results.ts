import { type Kysely, type Selectable, type SqlBool, sql } from 'kysely'
import type { FieldError } from '../../core/errors.js'
import type { JobResultRow, RevertConflict, RowPlan } from '../../core/jobs.js'
import type { ChangeRecord } from '../../core/types.js'
import { changeFromRow } from '../codec.js'
import type { DB, JobResultBatchesTable, JobResultsTable } from '../db-types.js'
import { decodeBatch, encodeBatch, needsDetail, type ResultBatch } from '../result-batch.js'
import type { StoreDialect } from '../dialect.js'

/** A stored row result holds at most this many warnings. */
const MAX_WARNINGS = 10

/** What a job leaves behind row by row: results, warnings, and a revert's reads and conflicts. */
export function jobResultsRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec

  const toRow = (jobId: string, r: JobResultRow) => ({
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
  })

  const fromRow = (x: Selectable<JobResultsTable>): JobResultRow => ({
    index: x.row_index,
    line: x.line,
    status: x.status,
    userId: x.user_id,
    changedFields: x.changed_fields == null ? [] : c.readJson<string[]>(x.changed_fields),
    errors: x.errors == null ? [] : c.readJson<FieldError[]>(x.errors),
    warnings: x.warnings == null ? [] : c.readJson<FieldError[]>(x.warnings),
    plan: x.plan == null ? null : c.readJson<RowPlan>(x.plan),
    raw: x.raw,
  })

  /** The first batch record that holds `index` or comes after it (two primary-key reads). */
  async function batchFrom(jobId: string, index: number): Promise<Selectable<JobResultBatchesTable> | undefined> {
    const base = db.selectFrom('job_result_batches').selectAll().where('job_id', '=', jobId)
    const holding = await base.where('first_index', '<=', index).orderBy('first_index', 'desc').limit(1).executeTakeFirst()
    if (holding && holding.first_index + holding.row_count > index) return holding
    return base.where('first_index', '>', index).orderBy('first_index').limit(1).executeTakeFirst()
  }

  const batchOf = (x: Selectable<JobResultBatchesTable>): ResultBatch => ({ firstIndex: x.first_index, count: x.row_count, data: x.data })

  return {
    /**
     * Stores a batch's results: one compact record for the batch (src/store/result-batch.ts), and
     * a row of its own for each result that carries more than the record holds.
     */
    async insert(jobId: string, rows: JobResultRow[]): Promise<void> {
      if (rows.length === 0) return
      const batch = encodeBatch(rows)
      if (batch)
        await db
          .insertInto('job_result_batches')
          .values({ job_id: jobId, first_index: batch.firstIndex, row_count: batch.count, data: batch.data })
          .execute()
      const details = batch ? rows.filter(needsDetail) : rows
      if (details.length)
        await db
          .insertInto('job_results')
          .values(details.map((r) => toRow(jobId, r)))
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
      if (!r) {
        // Only in its batch's record so far: it gets a row of its own, with the warning.
        const entry = await batchFrom(jobId, index)
        const row = entry && entry.first_index <= index ? decodeBatch(batchOf(entry))[index - entry.first_index] : undefined
        if (row)
          await db
            .insertInto('job_results')
            .values(toRow(jobId, { ...row, warnings: [warning] }))
            .execute()
        return
      }
      const list = r.warnings == null ? [] : c.readJson<FieldError[]>(r.warnings)
      if (list.length >= MAX_WARNINGS) return
      await db
        .updateTable('job_results')
        .set({ warnings: c.writeJson([...list, warning]) })
        .where('job_id', '=', jobId)
        .where('row_index', '=', index)
        .execute()
    },

    /**
     * Results in input order from `afterIndex`, a page at a time: the batches' records with the
     * rows of their own laid over them. Failed rows and rows with a warning always have a row of
     * their own, so those two filters read `job_results` alone (an index read).
     */
    async list(jobId: string, q: { status?: string; withWarnings?: boolean; afterIndex?: number; limit: number }): Promise<JobResultRow[]> {
      const detailRows = (after: number | undefined, before: number | undefined, limit: number) => {
        let query = db.selectFrom('job_results').selectAll().where('job_id', '=', jobId)
        // The status is any text a caller asks for (an unknown one matches nothing).
        if (q.status) query = query.where(sql<SqlBool>`status = ${q.status}`)
        if (q.withWarnings) query = query.where('warnings', 'is not', null)
        if (after !== undefined) query = query.where('row_index', '>', after)
        if (before !== undefined) query = query.where('row_index', '<', before)
        return query.orderBy('row_index').limit(limit).execute()
      }
      if (q.status === 'failed' || q.withWarnings) return (await detailRows(q.afterIndex, undefined, q.limit)).map(fromRow)

      const out: JobResultRow[] = []
      let after = q.afterIndex
      while (out.length < q.limit) {
        const batch = await batchFrom(jobId, after === undefined ? 0 : after + 1)
        // Rows of their own before the next batch (all of a job's rows when it has no batches).
        const own = await detailRows(after, batch?.first_index, q.limit - out.length)
        out.push(...own.map(fromRow))
        if (out.length >= q.limit || !batch) break
        const last = batch.first_index + batch.row_count - 1
        const details = new Map(
          (await detailRows(Math.max(after ?? -1, batch.first_index - 1), last + 1, batch.row_count)).map((x) => [x.row_index, fromRow(x)]),
        )
        for (const row of decodeBatch(batchOf(batch))) {
          if (after !== undefined && row.index <= after) continue
          const r = details.get(row.index) ?? row
          if (q.status && r.status !== q.status) continue
          out.push(r)
          if (out.length >= q.limit) break
        }
        after = last
      }
      return out
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
