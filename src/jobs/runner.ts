import type { Logger } from 'pino'
import { withNeededFields } from '../core/fields.js'
import { runBulk } from '../engine/bulk-engine.js'
import { runPlanned } from '../engine/planned-run.js'
import {
  type BulkCommand,
  type BulkHooks,
  type BulkResult,
  type BulkRow,
  type BulkStage,
  DEFAULT_OPTIONS,
  type RowResult,
} from '../engine/types.js'
import type { Store } from '../store/store.js'
import { InputError, type InputRow, rawText, readInputChunks } from './input.js'
import { type AbsentSummary, isMirror, type Job, type JobCounts, type JobResultRow } from '../core/jobs.js'
import { LeaseLost } from '../store/store.js'
import { absentQuery, assessAbsent, runAbsentPhase } from './mirror.js'
import { PlannerThread } from './planner.js'

/** The job was cancelled between two batches. */
class Cancelled extends Error {}
/** The worker is shutting down: the job stays running and is resumed from its checkpoint. */
class Stopping extends Error {}

export interface RunContext {
  store: Store
  owner: string
  leaseMs: number
  batchSize: number
  log?: Pick<Logger, 'info' | 'warn' | 'error'>
  /** Told after every committed batch (progress for events and metrics). */
  onProgress?: (job: Job) => void
  /** True once the worker should stop after the batch in flight. */
  stopping?: () => boolean
  /** Told where an import's time goes, batch by batch (metrics). */
  onStage?: (stage: BulkStage, seconds: number) => void
  /** Told of the rows an import committed, batch by batch (an atomic or dry run: at its end). */
  onRows?: (rows: number) => void
  /**
   * Imports whose input has at least this many bytes plan on a thread of their own (planner.ts)
   * when they can. Unset: never (Config.plannerThreadMinBytes says why).
   */
  plannerThreadMinBytes?: number | null
}

const add = (c: JobCounts, results: RowResult[]): JobCounts => {
  const next = { ...c, processed: c.processed + results.length }
  for (const r of results) next[r.status]++
  return next
}

/**
 * Runs a leased import from its checkpoint to the end. Each batch commits its users, history,
 * per-row results, counts and checkpoint in one transaction, guarded by the lease: a crash loses
 * at most the batch in flight, which the next lease redoes from the checkpoint — no row lost,
 * none applied twice, no duplicate history.
 */
export async function runImport(job: Job, ctx: RunContext): Promise<Job['state']> {
  const { store, owner } = ctx
  const dirRow = await store.getDirectory(job.tenantId, job.directoryId)
  if (!dirRow) {
    await store.jobs.update(job.id, owner, { state: 'failed', error: 'the directory was deleted', finished: true, release: true })
    return 'failed'
  }
  const stored = await store.listFields(job.directoryId)
  const opts = job.options
  /** Mirror mode: users no row matched are deactivated or deleted once the input is in (src/jobs/mirror.ts). */
  const mirror = isMirror(opts)
  const context = { channel: opts.channel ?? 'native', keyId: job.keyId, requestId: job.requestId, jobId: job.id } as const
  const pending = new Map<number, InputRow>()
  let counts = { ...job.counts }
  /** Rows of the batch being committed, told to onRows once it is. */
  let recorded = 0
  let total = 0
  let columnsSaved = job.columns !== null
  const whole = opts.atomic || opts.dryRun
  const needed = withNeededFields(stored, opts.needsFields)
  const onColumns = (columns: string[]) => {
    if (!columnsSaved) {
      columnsSaved = true
      void store.jobs.update(job.id, owner, { columns }).catch(() => {})
    }
  }
  /**
   * Planned on a thread of its own while this one writes: a large input, best effort without
   * maxErrors (a batch's error budget would depend on the batches before it being written), no
   * field to define first, and a database the thread can open too.
   */
  const threaded =
    !whole &&
    opts.maxErrors == null &&
    needed.pending.length === 0 &&
    store.location !== null &&
    job.inputBytes >= (ctx.plannerThreadMinBytes ?? Infinity)
  let planner: PlannerThread | undefined
  /** A row's result as the job keeps it: its line and, when it failed, its text. */
  const resultRow = (r: RowResult): JobResultRow => {
    const input = pending.get(r.index)
    if (input) return toResultRow(r, input.line, r.status === 'failed' ? rawText(input) : null, input.row)
    const planned = planner?.inputs.get(r.index)
    return toResultRow(r, planned?.line ?? null, planned?.raw ?? null)
  }

  async function* rows() {
    const input = readInputChunks(store.jobs.chunks(job.id, job.inputChunks), {
      format: job.format,
      options: opts,
      definitions: needed.fields,
      onColumns,
    })
    let index = 0
    for await (const chunk of input) {
      const rows: BulkRow[] = []
      for (const r of chunk) {
        total++
        if (index >= job.checkpoint) {
          pending.set(index, r)
          rows.push(r.row)
        }
        index++
      }
      if (rows.length) yield rows
    }
  }

  const heartbeat = setInterval(
    () => {
      void store.jobs.heartbeat(job.id, owner, ctx.leaseMs).catch(() => {})
    },
    Math.max(1000, ctx.leaseMs / 3),
  )
  heartbeat.unref()

  /** Between two batches: progress, and a cancel or a shutdown asked for meanwhile. */
  const between = async () => {
    const now = await store.jobs.get(job.tenantId, job.id)
    if (now) ctx.onProgress?.(now)
    if (now?.cancelRequested) throw new Cancelled()
    if (ctx.stopping?.()) throw new Stopping()
    // Let the HTTP server breathe between batches (SQLite runs the worker in-process).
    await new Promise((r) => setImmediate(r))
  }

  /** The absent phase of a mirror import, from `summary` (its input is in) to the job's end. */
  const absentPhase = async (summary: AbsentSummary, inputRows: number): Promise<Job['state']> => {
    const q = absentQuery(job, stored)
    const done = await runAbsentPhase(ctx, job, dirRow, q, summary, inputRows, context, between)
    await store.jobs.update(job.id, owner, { state: 'completed', absent: done, finished: true, release: true })
    await store.jobs.clearMatched(job.id)
    return 'completed'
  }

  try {
    const resumed = job.absent
    if (mirror && resumed && (resumed.phase === 'running' || (resumed.phase === 'needs_confirmation' && resumed.confirmed)))
      // The input was in before: only absent users are left to do.
      return await absentPhase(resumed, job.total ?? job.checkpoint)

    const cmd: BulkCommand = {
      directory: dirRow,
      fields: stored,
      // A resumed job has used part of its error budget already.
      options: {
        ...DEFAULT_OPTIONS,
        ...pick(opts),
        maxErrors: opts.maxErrors == null ? null : Math.max(0, opts.maxErrors - counts.failed),
        batchSize: ctx.batchSize,
      },
      context,
    }
    const hooks: BulkHooks = {
      firstIndex: job.checkpoint,
      collect: whole,
      onStage: ctx.onStage,
      beforeCommit: whole
        ? undefined
        : async (tx, results, earlier) => {
            for (const e of earlier) await tx.jobs.addWarning(job.id, e.index, e.warning)
            const next = add(counts, results)
            const last = results[results.length - 1]?.index ?? job.checkpoint - 1
            if (mirror) await tx.jobs.addMatched(job.id, matchedIds(results))
            await tx.jobs.recordBatch(job.id, owner, results.map(resultRow), next, last + 1)
            counts = next
            for (const r of results) {
              pending.delete(r.index)
              planner?.inputs.delete(r.index)
            }
            recorded = results.length
          },
      onProgress: async () => {
        // After the commit: the batch's rows are in.
        ctx.onRows?.(recorded)
        recorded = 0
        // An atomic or dry run holds one transaction from start to end; on SQLite that is the
        // only connection, so the job row cannot be read until it ends (no cancel meanwhile).
        if (whole && !store.capabilities.multiProcess) return
        await between()
      },
    }
    let result: BulkResult
    if (threaded) {
      planner = new PlannerThread(
        {
          location: store.location,
          jobId: job.id,
          inputChunks: job.inputChunks,
          format: job.format,
          importOptions: opts,
          definitions: needed.fields,
          cmd,
          firstIndex: job.checkpoint,
          batchSize: ctx.batchSize,
        },
        onColumns,
      )
      result = await runPlanned(store, planner, hooks)
      total = planner.total ?? total
    } else result = await runBulk(store, cmd, rows(), hooks)
    if (whole) {
      // Atomic and dry runs are one transaction, rolled back on failure (or always): their
      // results are written once, after the outcome is known.
      const rows = result.results.map(resultRow)
      await store.transaction(async (tx) => {
        if (mirror && !result.rolledBack) await tx.jobs.addMatched(job.id, matchedIds(result.results))
        for (let i = 0; i < rows.length; i += 1000)
          await tx.jobs.recordBatch(
            job.id,
            owner,
            rows.slice(i, i + 1000),
            add(counts, result.results.slice(0, i + 1000)),
            Math.min(i + 1000, rows.length),
          )
      })
      counts = add(counts, result.results)
      ctx.onRows?.(result.results.length)
    }
    const failedAtomically = opts.atomic && result.rolledBack
    if (mirror && !failedAtomically) {
      const assessed = await assessAbsent(ctx, job, absentQuery(job, stored), { failed: counts.failed, stopped: result.stopped })
      // A dry run plans the absent users whatever their number: the plan shows it, and applying it is the confirmation.
      const summary: AbsentSummary = opts.dryRun && assessed.phase === 'needs_confirmation' ? { ...assessed, phase: 'running' } : assessed
      if (summary.phase === 'running') {
        await store.jobs.update(job.id, owner, { absent: summary, total })
        return await absentPhase(summary, total)
      }
      const waits = summary.phase === 'needs_confirmation'
      await store.jobs.update(job.id, owner, {
        state: waits ? 'needs_confirmation' : 'completed',
        absent: summary,
        total,
        finished: !waits,
        release: true,
      })
      if (!waits) await store.jobs.clearMatched(job.id)
      return waits ? 'needs_confirmation' : 'completed'
    }
    await store.jobs.update(job.id, owner, {
      state: failedAtomically ? 'failed' : 'completed',
      error: failedAtomically
        ? `${result.results.filter((r) => r.errors.some((e) => e.code !== 'rolled_back')).length} rows failed; the import is atomic, so nothing was written`
        : null,
      total,
      finished: true,
      release: true,
    })
    return failedAtomically ? 'failed' : 'completed'
  } catch (e) {
    if (e instanceof LeaseLost) {
      ctx.log?.warn({ jobId: job.id }, 'lease lost; another worker continues the job')
      return job.state
    }
    if (e instanceof Stopping) {
      await store.jobs.update(job.id, owner, { release: true }).catch(() => {})
      return job.state
    }
    if (e instanceof Cancelled) {
      await store.jobs.update(job.id, owner, { state: 'cancelled', finished: true, release: true })
      if (mirror) await store.jobs.clearMatched(job.id)
      return 'cancelled'
    }
    const message = e instanceof InputError ? e.message : 'the job failed unexpectedly; see the server log'
    if (!(e instanceof InputError)) ctx.log?.error({ err: e, jobId: job.id }, 'import failed')
    await store.jobs.update(job.id, owner, { state: 'failed', error: message, finished: true, release: true }).catch(() => {})
    if (mirror) await store.jobs.clearMatched(job.id).catch(() => {})
    return 'failed'
  } finally {
    clearInterval(heartbeat)
    await planner?.stop()
  }
}

/** The users a batch's rows named: written or not, each is in the source (a failed row's user too). */
const matchedIds = (results: readonly RowResult[]): string[] => {
  const ids: string[] = []
  for (const r of results) if (r.userId !== null) ids.push(r.userId)
  return ids
}

function pick(o: Job['options']) {
  return {
    mode: o.mode,
    match: o.match,
    metadata: o.metadata,
    atomic: o.atomic,
    maxErrors: o.maxErrors,
    dryRun: o.dryRun,
    needsFields: o.needsFields,
  }
}

/** `row`: the input row, for a dry run's plan (the planner's thread serves no dry run). */
function toResultRow(r: RowResult, line: number | null, raw: string | null, row?: BulkRow): JobResultRow {
  return {
    index: r.index,
    line,
    status: r.status,
    userId: r.userId,
    changedFields: r.changedFields,
    errors: r.errors,
    warnings: r.warnings ?? [],
    plan:
      r.changes && r.status !== 'failed'
        ? { data: row?.data ?? null, ops: row?.ops, userId: r.userId, baseVersion: r.baseVersion ?? null, changes: r.changes }
        : null,
    raw,
  }
}
