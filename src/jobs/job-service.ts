import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { errors, RollcallError } from '../core/errors.js'
import { canSeeDirectory, type Principal } from '../core/keys.js'
import type { Directory } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { RowStatus } from '../engine/types.js'
import {
  ACTIVE_JOB_STATES,
  RESTING_JOB_STATES,
  type ImportOptions,
  isMirror,
  type InputFormat,
  type Job,
  type JobResultRow,
  type JobState,
} from '../core/jobs.js'
import { userFilterOf } from '../engine/user-conditions.js'
import { scopeConditions } from './mirror.js'

/** Input is stored in chunks of this size: large enough to be few, small enough to stream. */
export const CHUNK_BYTES = 1024 * 1024

/** How long the rest of an upload over the limit is read and dropped before the 413 (see upload). */
const OVER_LIMIT_DRAIN_MS = 5_000

const tooLarge = (max: number) =>
  new RollcallError('payload_too_large', `The file is over the import limit of ${max} bytes (ROLLCALL_IMPORT_MAX_BYTES)`)

/** An apply is refused this long before its plan would expire, so that retention never deletes a plan an apply is about to read. */
const APPLY_MARGIN_MS = 3_600_000

/** A job's results are gone (retention): every read of them answers this. */
export const resultsExpired = (job: Job) =>
  new RollcallError(
    'results_expired',
    `The per-row results of import ${job.id} were deleted on ${job.resultsPurgedAt} under the retention setting (ROLLCALL_RESULT_RETENTION_DAYS); its state and counts remain`,
  )

export function createJobService(store: Store, limits: { maxImportBytes: number; resultRetentionDays: number }, onEnqueued: () => void) {
  /** A job of the principal's tenant, in a directory the key may see; anything else is a 404. */
  async function get(p: Principal, id: string): Promise<Job> {
    const job = /^[0-9a-f-]{36}$/i.test(id) ? await store.jobs.get(p.tenantId, id) : null
    if (!job || job.state === 'uploading' || !canSeeDirectory(p, job.directoryId)) throw new RollcallError('not_found', `No import '${id}'`)
    return job
  }

  /** A mirror import's scope names fields the directory has, with values of their types (400 otherwise). */
  async function checkScope(dir: Directory, options: ImportOptions): Promise<void> {
    try {
      userFilterOf(await store.listFields(dir.id), scopeConditions(options.scope))
    } catch (e) {
      if (e instanceof RollcallError && e.code === 'validation_failed')
        throw errors.validation(e.errors.map((x) => ({ ...x, field: `scope.${x.field}`, message: `scope: ${x.message}` })))
      throw e
    }
  }

  /**
   * Two mirror imports of one directory never interleave: one that finds another already queued,
   * running or waiting for a confirmation (or uploading, and begun first) is refused.
   */
  async function refuseSecondMirror(dir: Directory, id: string): Promise<void> {
    const active = await store.jobs.inStates(dir.id, ACTIVE_JOB_STATES)
    const mine = active.find((j) => j.id === id)
    const other = active.find(
      (j) =>
        j.id !== id &&
        j.kind === 'import' &&
        isMirror(j.options) &&
        (j.state !== 'uploading' || !mine || j.createdAt < mine.createdAt || (j.createdAt === mine.createdAt && j.id < id)),
    )
    if (other)
      throw new RollcallError(
        'conflict',
        `Mirror import ${other.id} of this directory is ${other.state}; a second one could deactivate or delete what the first one brings. Wait for it to end, or cancel it`,
      )
  }

  return {
    get,

    /** The job once it rests (ended, or waits for a confirmation), or as it is after `waitMs`. */
    async settle(p: Principal, id: string, waitMs: number): Promise<Job> {
      const deadline = Date.now() + waitMs
      let job = await get(p, id)
      while (!RESTING_JOB_STATES.has(job.state) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25))
        job = await get(p, id)
      }
      return job
    },

    list: (dir: Directory, q: { state?: JobState; limit: number; beforeCreatedAt?: string }) => store.jobs.list(dir.id, q),

    /** A page of a job's per-row results in input order (optionally one status), after `afterIndex`. */
    results: (job: Job, q: { status?: RowStatus; afterIndex?: number; limit: number }): Promise<JobResultRow[]> => {
      if (job.resultsPurgedAt) throw resultsExpired(job)
      return store.jobs.results(job.id, q)
    },

    /**
     * Streams an upload into the database, chunk by chunk, and only then queues the job: the
     * answer means the input is safe. Over the size limit, nothing is kept.
     */
    async upload(
      p: Principal,
      dir: Directory,
      input: {
        body: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>
        format: InputFormat
        options: ImportOptions
        requestId: string
        /**
         * Runs once the input is stored and before the job is queued; if it throws, the job and its
         * input are deleted and the error propagates. For checks that can only be made after the
         * body (a multipart field sent after the file).
         */
        beforeQueue?: () => Promise<void>
        /** The body's length when the request declares it: a file over the limit is refused before a byte is stored. */
        declaredBytes?: number
      },
    ): Promise<Job> {
      if (input.declaredBytes !== undefined && input.declaredBytes > limits.maxImportBytes) throw tooLarge(limits.maxImportBytes)
      const mirror = isMirror(input.options)
      if (mirror) await checkScope(dir, input.options)
      const id = randomUUID()
      await store.jobs.create({
        id,
        tenantId: p.tenantId,
        directoryId: dir.id,
        kind: 'import',
        state: 'uploading',
        format: input.format,
        options: input.options,
        sourceJobId: null,
        keyId: p.keyId,
        requestId: input.requestId,
      })
      let bytes = 0
      let seq = 0
      let parts: Buffer[] = []
      let size = 0
      // When the body went over the limit: nothing more is stored, but the rest is read and dropped
      // for up to OVER_LIMIT_DRAIN_MS before the 413, so a client still sending its file (no
      // Content-Length) reads the answer instead of a reset connection (EPIPE on its next write).
      let overSince: number | null = null
      try {
        for await (const piece of input.body) {
          const buf = typeof piece === 'string' ? Buffer.from(piece) : piece
          bytes += buf.length
          if (overSince !== null || bytes > limits.maxImportBytes) {
            overSince ??= Date.now()
            if (Date.now() - overSince > OVER_LIMIT_DRAIN_MS) break
            continue
          }
          parts.push(buf)
          size += buf.length
          if (size >= CHUNK_BYTES) {
            await store.jobs.appendChunk(id, seq++, Buffer.concat(parts))
            parts = []
            size = 0
          }
        }
        if (overSince !== null) throw tooLarge(limits.maxImportBytes)
        if (size > 0) await store.jobs.appendChunk(id, seq++, Buffer.concat(parts))
        if (bytes === 0)
          throw new RollcallError('validation_failed', 'The file is empty', {
            errors: [{ field: 'file', code: 'empty', message: 'the file is empty' }],
          })
        await input.beforeQueue?.()
        if (mirror) await refuseSecondMirror(dir, id)
        await store.jobs.finishUpload(id, bytes, seq)
      } catch (e) {
        await store.jobs.delete(id).catch(() => {})
        // A discarded upload of any size must not leave the database file grown by it.
        if (bytes >= CHUNK_BYTES) await store.reclaimSpace().catch(() => {})
        throw e
      }
      onEnqueued()
      return (await store.jobs.get(p.tenantId, id)) as Job
    },

    /** Queues the revert of a completed import (the worker runs it: reverting → reverted). */
    async revert(p: Principal, id: string): Promise<Job> {
      const job = await get(p, id)
      if (job.options.dryRun) throw new RollcallError('conflict', 'A dry run wrote nothing; there is nothing to revert')
      const dir = await store.getDirectory(p.tenantId, job.directoryId)
      const keptSince = dir?.historyRetentionDays ? Date.now() - dir.historyRetentionDays * 86_400_000 : null
      if (keptSince !== null && job.startedAt && Date.parse(job.startedAt) < keptSince)
        throw new RollcallError(
          'results_expired',
          `The directory keeps ${dir!.historyRetentionDays} days of history, and this import began before then: its changes are no longer all recorded, so it cannot be reverted`,
        )
      if (!(await store.jobs.transition(p.tenantId, id, ['completed'], 'reverting')))
        throw new RollcallError('conflict', `The import is ${job.state}; only a completed import can be reverted`)
      onEnqueued()
      return get(p, id)
    },

    /** Queues the writing of a completed dry run's plan, as a new job. */
    async apply(p: Principal, id: string, requestId: string): Promise<Job> {
      const plan = await get(p, id)
      if (!plan.options.dryRun || plan.kind !== 'import')
        throw new RollcallError('conflict', 'Only the plan of a dry-run import can be applied')
      if (plan.state !== 'completed')
        throw new RollcallError('conflict', `The dry run is ${plan.state}; only a completed plan can be applied`)
      if (plan.resultsPurgedAt) throw resultsExpired(plan)
      const days = limits.resultRetentionDays
      if (days > 0 && plan.finishedAt && Date.parse(plan.finishedAt) < Date.now() - days * 86_400_000 + APPLY_MARGIN_MS)
        throw new RollcallError(
          'results_expired',
          `The plan of dry run ${plan.id} expires under the retention setting (ROLLCALL_RESULT_RETENTION_DAYS=${days}); run the dry run again`,
        )
      const newId = randomUUID()
      await store.jobs.create({
        id: newId,
        tenantId: p.tenantId,
        directoryId: plan.directoryId,
        kind: 'apply',
        state: 'queued',
        format: plan.format,
        options: { ...plan.options, dryRun: false },
        sourceJobId: plan.id,
        keyId: p.keyId,
        requestId,
      })
      onEnqueued()
      return get(p, newId)
    },

    /**
     * Goes on with a mirror import stopped by its safeguard (needs_confirmation): it is queued
     * again, and changes its absent users whatever their number.
     */
    async confirm(p: Principal, id: string): Promise<Job> {
      const job = await get(p, id)
      if (job.state !== 'needs_confirmation' || !job.absent)
        throw new RollcallError('conflict', `The import is ${job.state}; only an import that needs a confirmation can be confirmed`)
      if (!(await store.jobs.transition(p.tenantId, id, ['needs_confirmation'], 'queued', false, { ...job.absent, confirmed: true })))
        throw new RollcallError('conflict', 'The import was confirmed or cancelled meanwhile')
      onEnqueued()
      return get(p, id)
    },

    async cancel(p: Principal, id: string): Promise<Job> {
      const job = await get(p, id)
      if (await store.jobs.transition(p.tenantId, id, ['queued', 'needs_confirmation'], 'cancelled', true)) {
        await store.jobs.clearMatched(id)
        return get(p, id)
      }
      if (job.state !== 'running')
        throw new RollcallError(
          'conflict',
          `The import is ${job.state}; only queued or running imports, or those waiting for a confirmation, can be cancelled`,
        )
      await store.jobs.requestCancel(p.tenantId, id)
      return get(p, id)
    },
  }
}

export type JobService = ReturnType<typeof createJobService>
