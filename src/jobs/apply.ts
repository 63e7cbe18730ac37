import type { FieldError } from '../core/errors.js'
import { runBulk } from '../engine/bulk-engine.js'
import { type BulkRow, DEFAULT_OPTIONS, type RowResult } from '../engine/types.js'
import type { RunContext } from './runner.js'
import type { AbsentSummary, Job, JobCounts, JobResultRow } from '../core/jobs.js'
import { type ChangeWrite, changeWrite, LeaseLost } from '../store/store.js'
import { deletionChanges } from '../engine/user-service.js'

const PAGE = 1000

const conflict = (errors: FieldError[]): FieldError[] =>
  errors.map((e) =>
    e.code === 'version_mismatch' || e.code === 'not_unique' || e.code === 'user_exists'
      ? { ...e, code: 'conflict', message: `changed since the plan: ${e.message}` }
      : e,
  )

/**
 * Writes the plan of a dry-run import exactly as planned, without reading its file again: each
 * planned row is applied against the user version it was planned on (a planned create against
 * "no such user"); a user changed since makes that row a conflict, written nowhere. Rows the plan
 * had as failed or unchanged are skipped. Batches commit with their results and checkpoint, like
 * an import, so an apply resumes after a crash.
 */
export async function runApply(job: Job, ctx: RunContext): Promise<Job['state']> {
  const { store, owner } = ctx
  const source = job.sourceJobId ? await store.jobs.get(job.tenantId, job.sourceJobId) : null
  const dir = await store.getDirectory(job.tenantId, job.directoryId)
  if (!source || !dir) {
    await store.jobs.update(job.id, owner, {
      state: 'failed',
      error: 'the planned import or its directory is gone',
      finished: true,
      release: true,
    })
    return 'failed'
  }
  const sourceIndex = new Map<number, number>()
  /** Rows (by position in the apply) that deactivate a mirror plan's absent user. */
  const deactivating = new Set<number>()
  let counts: JobCounts = { ...job.counts }
  let planned = 0

  async function* rows(): AsyncGenerator<BulkRow> {
    let after: number | undefined
    let n = 0
    for (;;) {
      const page = await store.jobs.results(source!.id, { afterIndex: after, limit: PAGE })
      for (const r of page) {
        // Planned deletions of absent users come after every other row (deleteAbsent below).
        if (!r.plan || r.status === 'unchanged' || r.status === 'failed' || r.status === 'deleted') continue
        planned++
        if (r.status === 'deactivated') absentPlanned++
        if (n >= job.checkpoint) {
          sourceIndex.set(n, r.index)
          if (r.status === 'deactivated') {
            // An absent user of a mirror plan: deactivated if it is still as planned.
            deactivating.add(n)
            yield { data: { id: r.plan.userId, active: false }, expectedVersion: r.plan.baseVersion }
          } else {
            const data = { ...(r.plan.data as object), ...(r.plan.userId ? { id: r.plan.userId } : {}) }
            yield { data, ops: r.plan.ops, expectedVersion: r.status === 'created' ? null : r.plan.baseVersion }
          }
        }
        n++
      }
      if (page.length < PAGE) return
      after = page[page.length - 1].index
    }
  }

  const toRow = (r: RowResult): JobResultRow => ({
    index: sourceIndex.get(r.index) ?? r.index,
    line: null,
    status: deactivating.has(r.index) && r.status === 'updated' ? 'deactivated' : r.status,
    userId: r.userId,
    changedFields: r.changedFields,
    errors: conflict(r.errors),
    warnings: [],
    plan: null,
    raw: null,
  })

  /** Planned deactivations among the rows (the rest of `planned` are the input's rows). */
  let absentPlanned = 0
  /** Absent users deactivated by this apply so far (a resumed apply goes on from its summary). */
  let deactivated = job.absent?.deactivated ?? 0
  /** The apply's own absent summary (a mirror plan's), as it stands. */
  const absentSummary = (phase: 'running' | 'done', deleted: number): AbsentSummary | undefined =>
    source?.absent ? { ...source.absent, phase, confirmed: true, deactivated, deleted, sample: [] } : undefined

  /**
   * The plan's deletions of absent users, after every other row, a batch per transaction with
   * their results and checkpoint: a user changed (or gone) since the plan is a conflict, left alone.
   */
  async function deleteAbsent(before: number): Promise<number> {
    let position = before
    let deleted = job.absent?.deleted ?? 0
    let after: number | undefined
    for (;;) {
      const page = await store.jobs.results(source!.id, { status: 'deleted', afterIndex: after, limit: ctx.batchSize })
      if (page.length === 0) break
      after = page[page.length - 1].index
      const todo = page.filter((_, i) => position + i >= Math.max(job.checkpoint, before))
      const first = position
      position += page.length
      if (todo.length === 0) continue
      await store.transaction(async (tx) => {
        const locked = new Map((await tx.lockUsers(dir!.id, { id: todo.map((r) => r.userId as string) })).map((u) => [u.id, u]))
        const now = new Date().toISOString()
        const gone: { userId: string; expectedVersion: number }[] = []
        const changes: ChangeWrite[] = []
        const rows: JobResultRow[] = todo.map((r) => {
          const u = locked.get(r.userId as string)
          const row: JobResultRow = {
            index: r.index,
            line: null,
            status: 'deleted',
            userId: r.userId,
            changedFields: [],
            errors: [],
            warnings: [],
            plan: null,
            raw: null,
          }
          if (!u || u.version !== r.plan?.baseVersion)
            return {
              ...row,
              status: 'failed',
              errors: [
                {
                  field: 'version',
                  code: 'conflict',
                  message: u
                    ? `changed since the plan: the user is at version ${u.version}, not ${r.plan?.baseVersion}`
                    : 'changed since the plan: the user no longer exists',
                },
              ],
            }
          gone.push({ userId: u.id, expectedVersion: u.version })
          changes.push(changeWrite(context, u.id, 'delete', now, deletionChanges(u)))
          return row
        })
        if (gone.length) await tx.writeBatch({ directoryId: dir!.id, inserts: [], updates: [], deletes: gone, changes })
        // As for deactivations: absent users count in the absent summary, and their conflicts as conflicts.
        const next = { ...counts, conflicts: counts.conflicts + rows.length - gone.length }
        deleted += gone.length
        await tx.jobs.recordBatch(job.id, owner, rows, next, first + page.length)
        const summary = absentSummary('running', deleted)
        if (summary) await tx.jobs.update(job.id, owner, { absent: summary })
        counts = next
      })
    }
    return deleted
  }

  const context = { channel: source.options.channel ?? 'native', keyId: job.keyId, requestId: job.requestId, jobId: job.id } as const

  try {
    await runBulk(
      store,
      {
        directory: dir,
        fields: await store.listFields(dir.id),
        options: {
          ...DEFAULT_OPTIONS,
          mode: 'upsert',
          match: ['id'],
          metadata: source.options.metadata,
          allowClientId: true,
          batchSize: ctx.batchSize,
        },
        context,
      },
      rows(),
      {
        firstIndex: job.checkpoint,
        collect: false,
        beforeCommit: async (tx, results) => {
          const next = { ...counts }
          for (const r of results) {
            const isConflict = r.errors.some((e) => conflict([e])[0].code === 'conflict')
            if (isConflict) next.conflicts++
            // Absent users are counted in the apply's absent summary, not among the rows.
            if (deactivating.has(r.index)) continue
            next.processed++
            next[r.status]++
          }
          const rows = results.map(toRow)
          await tx.jobs.recordBatch(job.id, owner, rows, next, results[results.length - 1].index + 1)
          counts = next
          const more = rows.filter((x) => x.status === 'deactivated').length
          deactivated += more
          const summary = absentSummary('running', 0)
          if (more && summary) await tx.jobs.update(job.id, owner, { absent: summary })
          for (const r of results) {
            sourceIndex.delete(r.index)
            deactivating.delete(r.index)
          }
        },
      },
    )
    const absent = absentSummary('done', await deleteAbsent(planned))
    await store.jobs.update(job.id, owner, {
      state: 'completed',
      total: planned - absentPlanned,
      finished: true,
      release: true,
      ...(absent && { absent }),
    })
    return 'completed'
  } catch (e) {
    if (e instanceof LeaseLost) return job.state
    ctx.log?.error({ err: e, jobId: job.id }, 'apply failed')
    await store.jobs
      .update(job.id, owner, { state: 'failed', error: 'the apply failed unexpectedly; see the server log', finished: true, release: true })
      .catch(() => {})
    return 'failed'
  }
}
