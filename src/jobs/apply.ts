import type { FieldError } from '../core/errors.js'
import { runBulk } from '../engine/bulk-engine.js'
import { type BulkRow, DEFAULT_OPTIONS, type RowResult } from '../engine/types.js'
import type { RunContext } from './runner.js'
import type { Job, JobCounts, JobResultRow } from '../core/jobs.js'
import { LeaseLost } from '../store/store.js'

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
  let counts: JobCounts = { ...job.counts }
  let planned = 0

  async function* rows(): AsyncGenerator<BulkRow> {
    let after: number | undefined
    let n = 0
    for (;;) {
      const page = await store.jobs.results(source!.id, { afterIndex: after, limit: PAGE })
      for (const r of page) {
        if (!r.plan || r.status === 'unchanged' || r.status === 'failed') continue
        planned++
        if (n >= job.checkpoint) {
          sourceIndex.set(n, r.index)
          const data = { ...(r.plan.data as object), ...(r.plan.userId ? { id: r.plan.userId } : {}) }
          yield { data, ops: r.plan.ops, expectedVersion: r.status === 'created' ? null : r.plan.baseVersion }
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
    status: r.status,
    userId: r.userId,
    changedFields: r.changedFields,
    errors: conflict(r.errors),
    warnings: [],
    plan: null,
    raw: null,
  })

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
        context: { channel: source.options.channel ?? 'native', keyId: job.keyId, requestId: job.requestId, jobId: job.id },
      },
      rows(),
      {
        firstIndex: job.checkpoint,
        collect: false,
        beforeCommit: async (tx, results) => {
          const next = { ...counts, processed: counts.processed + results.length }
          for (const r of results) {
            next[r.status]++
            if (r.errors.some((e) => conflict([e])[0].code === 'conflict')) next.conflicts++
          }
          await tx.jobs.recordBatch(job.id, owner, results.map(toRow), next, results[results.length - 1].index + 1)
          counts = next
          for (const r of results) sourceIndex.delete(r.index)
        },
      },
    )
    await store.jobs.update(job.id, owner, { state: 'completed', total: planned, finished: true, release: true })
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
