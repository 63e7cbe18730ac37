import { type Kysely, type Selectable, sql } from 'kysely'
import type { FieldError } from '../core/errors.js'
import type { ChangeRecord } from '../core/types.js'
import type {
  ImportOptions,
  InputFormat,
  Job,
  JobCounts,
  JobKind,
  JobResultRow,
  JobState,
  RevertConflict,
  RevertSummary,
  RowPlan,
  Webhook,
} from '../core/jobs.js'
import { LeaseLost } from './errors.js'
import { changeFromRow, type Codec, int } from './codec.js'
import type { ChangesTable, DB, JobChunksTable, JobConflictsTable, JobResultsTable, JobsTable, WebhooksTable } from './db-types.js'

type JobRow = Selectable<JobsTable>

/** The job's lease was taken over (it expired, and another worker leased the job): stop, write nothing. */
export interface NewJob {
  id: string
  tenantId: string
  directoryId: string
  kind: JobKind
  state: JobState
  format: InputFormat
  options: ImportOptions
  sourceJobId: string | null
  keyId: string | null
  requestId: string | null
}

/** States a worker picks up; a running or reverting job whose lease expired is picked up again. */
const RUNNABLE = ['queued', 'reverting'] as const
const RESUMABLE = ['running', 'reverting'] as const

/**
 * Jobs, their input chunks, per-row results and webhooks, on either engine. Construct it over the
 * store's Kysely instance, or over a transaction to write inside one.
 */
export class JobStore {
  /**
   * @param reader where a job's input chunks are read from. On SQLite this is a second, read-only
   * connection: an atomic or dry run reads its input while its one transaction holds the writer.
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly codec: Codec,
    private readonly skipLocked: boolean,
    private readonly reader: Kysely<DB> = db,
  ) {}

  private fromRow(r: Selectable<JobsTable>): Job {
    const c = this.codec
    return {
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
      counts: { processed: r.processed, created: r.created, updated: r.updated, unchanged: r.unchanged, failed: r.failed, conflicts: r.conflicts },
      checkpoint: r.checkpoint,
      revert: r.revert == null ? null : c.readJson<RevertSummary>(r.revert),
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
    }
  }

  async create(j: NewJob): Promise<Job> {
    const now = new Date().toISOString()
    await this.db
      .insertInto('jobs')
      .values({
        id: j.id,
        tenant_id: j.tenantId,
        directory_id: j.directoryId,
        kind: j.kind,
        state: j.state,
        format: j.format,
        options: this.codec.writeJson(j.options),
        source_job_id: j.sourceJobId,
        key_id: j.keyId,
        request_id: j.requestId,
        created_at: now,
        updated_at: now,
      })
      .execute()
    const job = await this.get(j.tenantId, j.id)
    if (!job) throw new Error(`job ${j.id} vanished after its insert`)
    return job
  }

  async appendChunk(jobId: string, seq: number, data: Buffer): Promise<void> {
    await sql`INSERT INTO job_chunks (job_id, seq, data) VALUES (${jobId}, ${seq}, ${data})`.execute(this.db)
  }

  /** The input is stored: the job becomes visible to workers. */
  async finishUpload(jobId: string, bytes: number, chunks: number): Promise<void> {
    await sql`UPDATE jobs SET state = 'queued', input_bytes = ${bytes}, input_chunks = ${chunks}, updated_at = ${new Date().toISOString()}
      WHERE id = ${jobId} AND state = 'uploading'`.execute(this.db)
  }

  async delete(jobId: string): Promise<void> {
    await sql`DELETE FROM jobs WHERE id = ${jobId}`.execute(this.db)
  }

  async get(tenantId: string, id: string): Promise<Job | null> {
    const r = await sql<JobRow>`SELECT * FROM jobs WHERE tenant_id = ${tenantId} AND id = ${id}`.execute(this.db)
    return r.rows[0] ? this.fromRow(r.rows[0]) : null
  }

  async list(directoryId: string, q: { state?: JobState; beforeCreatedAt?: string; limit: number }): Promise<Job[]> {
    const r = await sql<JobRow>`SELECT * FROM jobs WHERE directory_id = ${directoryId} AND state <> 'uploading'
      ${q.state ? sql`AND state = ${q.state}` : sql``}
      ${q.beforeCreatedAt ? sql`AND created_at < ${q.beforeCreatedAt}` : sql``}
      ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`.execute(this.db)
    return r.rows.map((x) => this.fromRow(x))
  }

  /** The input, chunk by chunk, in order; one query per chunk keeps memory flat. */
  async *chunks(jobId: string, count: number): AsyncGenerator<Buffer> {
    for (let seq = 0; seq < count; seq++) {
      const r = await sql<Pick<JobChunksTable, 'data'>>`SELECT data FROM job_chunks WHERE job_id = ${jobId} AND seq = ${seq}`.execute(this.reader)
      const data = r.rows[0]?.data
      if (!data) throw new Error(`job ${jobId}: input chunk ${seq} is missing`)
      yield Buffer.isBuffer(data) ? data : Buffer.from(data)
    }
  }

  /** Leases the oldest runnable job (or one whose lease expired) for `owner`. */
  async leaseNext(owner: string, leaseMs: number): Promise<Job | null> {
    const now = new Date()
    const nowIso = now.toISOString()
    const until = new Date(now.getTime() + leaseMs).toISOString()
    const cond = sql`(state IN (${sql.join(RUNNABLE)}) AND lease_owner IS NULL) OR (state IN (${sql.join(RESUMABLE)}) AND (lease_until IS NULL OR lease_until < ${nowIso}))`
    const r = await sql<JobRow>`
      UPDATE jobs SET lease_owner = ${owner}, lease_until = ${until}, attempts = attempts + 1,
        state = CASE WHEN state = 'queued' THEN 'running' ELSE state END,
        started_at = COALESCE(started_at, ${nowIso}), updated_at = ${nowIso}
      WHERE id = (SELECT id FROM jobs WHERE ${cond} ORDER BY created_at, id LIMIT 1 ${this.skipLocked ? sql`FOR UPDATE SKIP LOCKED` : sql``})
        AND (${cond})
      RETURNING *`.execute(this.db)
    return r.rows[0] ? this.fromRow(r.rows[0]) : null
  }

  /** Frees every lease (a single-process store at start: whoever held them is gone). */
  async releaseAll(): Promise<void> {
    await sql`UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`.execute(this.db)
  }

  /** Extends the lease; false when it was lost. */
  async heartbeat(jobId: string, owner: string, leaseMs: number): Promise<boolean> {
    const r = await sql`UPDATE jobs SET lease_until = ${new Date(Date.now() + leaseMs).toISOString()}
      WHERE id = ${jobId} AND lease_owner = ${owner}`.execute(this.db)
    return Number(r.numAffectedRows) === 1
  }

  /** Changes a leased job; throws LeaseLost when `owner` no longer holds it. */
  async update(
    jobId: string,
    owner: string | null,
    patch: Partial<{
      state: JobState
      error: string | null
      total: number | null
      columns: string[] | null
      finished: boolean
      release: boolean
      counts: JobCounts
      checkpoint: number
      revert: RevertSummary
    }>,
  ): Promise<void> {
    const now = new Date().toISOString()
    const sets = [sql`updated_at = ${now}`]
    if (patch.state !== undefined) sets.push(sql`state = ${patch.state}`)
    if (patch.error !== undefined) sets.push(sql`error = ${patch.error}`)
    if (patch.total !== undefined) sets.push(sql`total = ${patch.total}`)
    if (patch.columns !== undefined) sets.push(sql`columns = ${this.codec.writeJson(patch.columns)}`)
    if (patch.finished) sets.push(sql`finished_at = ${now}`)
    if (patch.release) sets.push(sql`lease_owner = NULL, lease_until = NULL`)
    if (patch.checkpoint !== undefined) sets.push(sql`checkpoint = ${patch.checkpoint}`)
    if (patch.revert !== undefined) sets.push(sql`revert = ${this.codec.writeJson(patch.revert)}`)
    if (patch.counts) {
      const c = patch.counts
      sets.push(sql`processed = ${c.processed}, created = ${c.created}, updated = ${c.updated}, unchanged = ${c.unchanged}, failed = ${c.failed}, conflicts = ${c.conflicts}`)
    }
    const r = await sql`UPDATE jobs SET ${sql.join(sets)} WHERE id = ${jobId} ${owner === null ? sql`` : sql`AND lease_owner = ${owner}`}`.execute(this.db)
    if (Number(r.numAffectedRows) !== 1) throw new LeaseLost(jobId)
  }

  /** Inside a batch's transaction: its per-row results, the job's counts and its checkpoint, all or nothing. */
  async recordBatch(jobId: string, owner: string, rows: JobResultRow[], counts: JobCounts, checkpoint: number): Promise<void> {
    await this.update(jobId, owner, { counts, checkpoint })
    if (rows.length === 0) return
    const c = this.codec
    await this.db
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
  }

  /** Adds a warning to a stored row result (a later row of the input named the same user). */
  async addWarning(jobId: string, index: number, warning: FieldError): Promise<void> {
    const r = await sql<Pick<Selectable<JobResultsTable>, 'warnings'>>`SELECT warnings FROM job_results WHERE job_id = ${jobId} AND row_index = ${index}`.execute(this.db)
    if (!r.rows[0]) return
    const list = r.rows[0].warnings == null ? [] : this.codec.readJson<FieldError[]>(r.rows[0].warnings)
    if (list.length >= 10) return
    await sql`UPDATE job_results SET warnings = ${this.codec.writeJson([...list, warning])} WHERE job_id = ${jobId} AND row_index = ${index}`.execute(this.db)
  }

  /** Results in input order from `afterIndex`, a page at a time. */
  async results(jobId: string, q: { status?: string; afterIndex?: number; limit: number }): Promise<JobResultRow[]> {
    const r = await sql<Selectable<JobResultsTable>>`SELECT * FROM job_results WHERE job_id = ${jobId}
      ${q.status ? sql`AND status = ${q.status}` : sql``}
      ${q.afterIndex !== undefined ? sql`AND row_index > ${q.afterIndex}` : sql``}
      ORDER BY row_index LIMIT ${q.limit}`.execute(this.db)
    const c = this.codec
    return r.rows.map((x) => ({
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
  }

  async requestCancel(tenantId: string, id: string): Promise<void> {
    await sql`UPDATE jobs SET cancel_requested = ${this.codec.writeBool(true)}, updated_at = ${new Date().toISOString()}
      WHERE tenant_id = ${tenantId} AND id = ${id}`.execute(this.db)
  }

  /** Moves a job between states only from the expected one (e.g. queued → cancelled); false when it was elsewhere. */
  async transition(tenantId: string, id: string, from: JobState[], to: JobState, finished = false): Promise<boolean> {
    const now = new Date().toISOString()
    const r = await sql`UPDATE jobs SET state = ${to}, updated_at = ${now} ${finished ? sql`, finished_at = ${now}` : sql``}
      WHERE tenant_id = ${tenantId} AND id = ${id} AND state IN (${sql.join(from)})`.execute(this.db)
    return Number(r.numAffectedRows) === 1
  }

  // ---- revert

  /** The users a job changed, in id order, a page at a time (after `afterUserId`). */
  async changedUsers(directoryId: string, jobId: string, afterUserId: string | null, limit: number): Promise<string[]> {
    const r = await sql<{ user_id: string }>`SELECT DISTINCT user_id FROM changes WHERE job_id = ${jobId} AND directory_id = ${directoryId}
      ${afterUserId === null ? sql`` : sql`AND user_id > ${afterUserId}`} ORDER BY user_id LIMIT ${limit}`.execute(this.db)
    return r.rows.map((x) => x.user_id)
  }

  /** A job's change records of some users, oldest first per user. */
  async changesOf(directoryId: string, jobId: string, userIds: string[]): Promise<ChangeRecord[]> {
    if (userIds.length === 0) return []
    const r = await sql<Selectable<ChangesTable>>`SELECT * FROM changes WHERE job_id = ${jobId} AND directory_id = ${directoryId}
      AND user_id IN (${sql.join(userIds)}) ORDER BY user_id, seq`.execute(this.db)
    return r.rows.map((x) => changeFromRow(x, this.codec))
  }

  async addConflicts(jobId: string, firstSeq: number, conflicts: RevertConflict[]): Promise<void> {
    if (conflicts.length === 0) return
    const c = this.codec
    await sql`INSERT INTO job_conflicts (job_id, seq, user_id, field, expected, actual) VALUES ${sql.join(
      conflicts.map((x, i) => sql`(${jobId}, ${firstSeq + i}, ${x.userId}, ${x.field}, ${c.writeJson({ v: x.expected ?? null })}, ${c.writeJson({ v: x.actual ?? null })})`),
    )}`.execute(this.db)
  }

  async conflicts(jobId: string, q: { afterSeq?: number; limit: number }): Promise<(RevertConflict & { seq: number })[]> {
    const r = await sql<Selectable<JobConflictsTable>>`SELECT * FROM job_conflicts WHERE job_id = ${jobId}
      ${q.afterSeq === undefined ? sql`` : sql`AND seq > ${q.afterSeq}`} ORDER BY seq LIMIT ${q.limit}`.execute(this.db)
    const c = this.codec
    return r.rows.map((x) => ({
      seq: x.seq,
      userId: x.user_id,
      field: x.field,
      expected: c.readJson<{ v: unknown }>(x.expected).v,
      actual: c.readJson<{ v: unknown }>(x.actual).v,
    }))
  }

  // ---- webhooks

  async addWebhook(w: Webhook): Promise<void> {
    await sql`INSERT INTO webhooks (id, directory_id, url, secret, created_at) VALUES (${w.id}, ${w.directoryId}, ${w.url}, ${w.secret}, ${w.createdAt})`.execute(this.db)
  }

  async listWebhooks(directoryId: string): Promise<Webhook[]> {
    const r = await sql<Selectable<WebhooksTable>>`SELECT * FROM webhooks WHERE directory_id = ${directoryId} ORDER BY created_at, id`.execute(this.db)
    return r.rows.map((x) => ({ id: x.id, directoryId: x.directory_id, url: x.url, secret: x.secret, createdAt: x.created_at }))
  }

  async deleteWebhook(directoryId: string, id: string): Promise<boolean> {
    const r = await sql`DELETE FROM webhooks WHERE directory_id = ${directoryId} AND id = ${id}`.execute(this.db)
    return Number(r.numAffectedRows) === 1
  }
}

export type { JobCounts }
