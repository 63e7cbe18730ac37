import { type Kysely, type Selectable, sql } from 'kysely'
import type { AbsentSummary, ImportOptions, Job, JobCounts, JobState, JobStats, RevertSummary } from '../../core/jobs.js'
import { int } from '../codec.js'
import type { DB, JobsTable } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import { LeaseLost } from '../errors.js'

/** What a new job is made of; the rest (counts, leases, times) starts empty. */
export type NewJob = Pick<
  Job,
  'id' | 'tenantId' | 'directoryId' | 'kind' | 'state' | 'format' | 'options' | 'sourceJobId' | 'keyId' | 'requestId'
>

export interface JobPatch {
  state: JobState
  error: string | null
  total: number | null
  columns: string[] | null
  finished: boolean
  release: boolean
  counts: JobCounts
  checkpoint: number
  revert: RevertSummary
  absent: AbsentSummary
}

/** States a worker picks up; a running or reverting job whose lease expired is picked up again. */
const RUNNABLE = ['queued', 'reverting'] as const
const RESUMABLE = ['running', 'reverting'] as const

/**
 * Jobs: their lifecycle, input chunks and leases. `reader` is where input chunks are read from:
 * on SQLite a second, read-only connection, since an atomic or dry run reads its input while its
 * one transaction holds the writer.
 */
export function jobsRepo(db: Kysely<DB>, d: StoreDialect, reader: Kysely<DB> = db) {
  const c = d.codec
  const fromRow = (r: Selectable<JobsTable>): Job => ({
    id: r.id,
    tenantId: r.tenant_id,
    directoryId: r.directory_id,
    kind: r.kind,
    state: r.state,
    format: r.format,
    options: c.readJson<ImportOptions>(r.options),
    sourceJobId: r.source_job_id,
    inputBytes: int(r.input_bytes),
    inputChunks: r.input_chunks,
    columns: r.columns == null ? null : c.readJson<string[]>(r.columns),
    total: r.total,
    counts: {
      processed: r.processed,
      created: r.created,
      updated: r.updated,
      unchanged: r.unchanged,
      failed: r.failed,
      conflicts: r.conflicts,
    },
    checkpoint: r.checkpoint,
    revert: r.revert == null ? null : c.readJson<RevertSummary>(r.revert),
    absent: r.absent == null ? null : c.readJson<AbsentSummary>(r.absent),
    error: r.error,
    cancelRequested: c.readBool(r.cancel_requested),
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    attempts: r.attempts,
    keyId: r.key_id,
    requestId: r.request_id,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    inputPurgedAt: r.input_purged_at,
    resultsPurgedAt: r.results_purged_at,
  })

  const repo = {
    async create(j: NewJob): Promise<Job> {
      const now = new Date().toISOString()
      await db
        .insertInto('jobs')
        .values({
          id: j.id,
          tenant_id: j.tenantId,
          directory_id: j.directoryId,
          kind: j.kind,
          state: j.state,
          format: j.format,
          options: c.writeJson(j.options),
          source_job_id: j.sourceJobId,
          key_id: j.keyId,
          request_id: j.requestId,
          created_at: now,
          updated_at: now,
        })
        .execute()
      const job = await repo.get(j.tenantId, j.id)
      if (!job) throw new Error(`job ${j.id} vanished after its insert`)
      return job
    },

    async appendChunk(jobId: string, seq: number, data: Buffer): Promise<void> {
      await db.insertInto('job_chunks').values({ job_id: jobId, seq, data }).execute()
    },

    /** The input is stored: the job becomes visible to workers. */
    async finishUpload(jobId: string, bytes: number, chunks: number): Promise<void> {
      await db
        .updateTable('jobs')
        .set({ state: 'queued', input_bytes: bytes, input_chunks: chunks, updated_at: new Date().toISOString() })
        .where('id', '=', jobId)
        .where('state', '=', 'uploading')
        .execute()
    },

    async delete(jobId: string): Promise<void> {
      await db.deleteFrom('jobs').where('id', '=', jobId).execute()
    },

    async get(tenantId: string, id: string): Promise<Job | null> {
      const r = await db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()
      return r ? fromRow(r) : null
    },

    /** A directory's jobs in any of `states`, oldest first (a mirror import looks for another one). */
    async inStates(directoryId: string, states: readonly JobState[]): Promise<Job[]> {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .where('directory_id', '=', directoryId)
        .where('state', 'in', [...states])
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(fromRow)
    },

    async list(directoryId: string, q: { state?: JobState; beforeCreatedAt?: string; limit: number }): Promise<Job[]> {
      let query = db.selectFrom('jobs').selectAll().where('directory_id', '=', directoryId).where('state', '<>', 'uploading')
      if (q.state) query = query.where('state', '=', q.state)
      if (q.beforeCreatedAt) query = query.where('created_at', '<', q.beforeCreatedAt)
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute()
      return rows.map(fromRow)
    },

    /** The input, chunk by chunk, in order; one query per chunk keeps memory flat. */
    async *chunks(jobId: string, count: number): AsyncGenerator<Buffer> {
      for (let seq = 0; seq < count; seq++) {
        const r = await reader.selectFrom('job_chunks').select('data').where('job_id', '=', jobId).where('seq', '=', seq).executeTakeFirst()
        if (!r) throw new Error(`job ${jobId}: input chunk ${seq} is missing`)
        yield Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data)
      }
    },

    /** Leases the oldest runnable job (or one whose lease expired) for `owner`. */
    async leaseNext(owner: string, leaseMs: number): Promise<Job | null> {
      const now = new Date()
      const nowIso = now.toISOString()
      const until = new Date(now.getTime() + leaseMs).toISOString()
      const cond = sql`(state IN (${sql.join(RUNNABLE)}) AND lease_owner IS NULL) OR (state IN (${sql.join(RESUMABLE)}) AND (lease_until IS NULL OR lease_until < ${nowIso}))`
      const r = await sql<Selectable<JobsTable>>`
        UPDATE jobs SET lease_owner = ${owner}, lease_until = ${until}, attempts = attempts + 1,
          state = CASE WHEN state = 'queued' THEN 'running' ELSE state END,
          started_at = COALESCE(started_at, ${nowIso}), updated_at = ${nowIso}
        WHERE id = (SELECT id FROM jobs WHERE ${cond} ORDER BY created_at, id LIMIT 1 ${d.capabilities.skipLocked ? sql`FOR UPDATE SKIP LOCKED` : sql``})
          AND (${cond})
        RETURNING *`.execute(db)
      return r.rows[0] ? fromRow(r.rows[0]) : null
    },

    /** Frees every lease (a single-process store at start: whoever held them is gone). */
    async releaseAll(): Promise<void> {
      await db.updateTable('jobs').set({ lease_owner: null, lease_until: null }).where('lease_owner', 'is not', null).execute()
    },

    /** Extends the lease; false when it was lost. */
    async heartbeat(jobId: string, owner: string, leaseMs: number): Promise<boolean> {
      const r = await db
        .updateTable('jobs')
        .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
        .where('id', '=', jobId)
        .where('lease_owner', '=', owner)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },

    /** Changes a job (a leased one: `owner` must still hold it; null for any); throws LeaseLost otherwise. */
    async update(jobId: string, owner: string | null, patch: Partial<JobPatch>): Promise<void> {
      const now = new Date().toISOString()
      const k = patch.counts
      const set = {
        updated_at: now,
        ...(patch.state !== undefined && { state: patch.state }),
        ...(patch.error !== undefined && { error: patch.error }),
        ...(patch.total !== undefined && { total: patch.total }),
        ...(patch.columns !== undefined && { columns: c.writeJson(patch.columns) }),
        ...(patch.finished && { finished_at: now }),
        ...(patch.release && { lease_owner: null, lease_until: null }),
        ...(patch.checkpoint !== undefined && { checkpoint: patch.checkpoint }),
        ...(patch.revert !== undefined && { revert: c.writeJson(patch.revert) }),
        ...(patch.absent !== undefined && { absent: c.writeJson(patch.absent) }),
        ...(k && {
          processed: k.processed,
          created: k.created,
          updated: k.updated,
          unchanged: k.unchanged,
          failed: k.failed,
          conflicts: k.conflicts,
        }),
      }
      let q = db.updateTable('jobs').set(set).where('id', '=', jobId)
      if (owner !== null) q = q.where('lease_owner', '=', owner)
      const r = await q.executeTakeFirst()
      if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(jobId)
    },

    async requestCancel(tenantId: string, id: string): Promise<void> {
      await db
        .updateTable('jobs')
        .set({ cancel_requested: c.writeBool(true), updated_at: new Date().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute()
    },

    /** Jobs by state, across the installation, and when the oldest queued one was queued (metrics). */
    async stats(): Promise<JobStats> {
      const rows = await db
        .selectFrom('jobs')
        .select((eb) => ['state', eb.fn.countAll<number | string>().as('n'), eb.fn.min('created_at').as('oldest')])
        .groupBy('state')
        .execute()
      const byState: Partial<Record<JobState, number>> = {}
      for (const r of rows) byState[r.state] = Number(r.n)
      return { byState, oldestQueuedAt: (rows.find((r) => r.state === 'queued')?.oldest as string | undefined) ?? null }
    },

    /**
     * Moves a job between states only from the expected one (e.g. queued → cancelled); false when
     * it was elsewhere. `absent`: its absent summary changes with it (a confirmation).
     */
    async transition(
      tenantId: string,
      id: string,
      from: JobState[],
      to: JobState,
      finished = false,
      absent?: AbsentSummary,
    ): Promise<boolean> {
      const now = new Date().toISOString()
      const r = await db
        .updateTable('jobs')
        .set({ state: to, updated_at: now, ...(finished && { finished_at: now }), ...(absent && { absent: c.writeJson(absent) }) })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('state', 'in', from)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },
  }
  return repo
}
