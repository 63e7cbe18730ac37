import type { Kysely } from 'kysely'
import type { FieldError } from '../core/errors.js'
import type { AbsentSummary, Job, JobCounts, JobResultRow, JobState, JobStats, RevertConflict } from '../core/jobs.js'
import type { ChangeRecord, UserRecord } from '../core/types.js'
import type { DB } from './db-types.js'
import type { StoreDialect } from './dialect.js'
import { jobResultsRepo } from './repos/job-results.js'
import { type JobPatch, jobsRepo, type NewJob } from './repos/jobs.js'
import { type AbsentQuery, mirrorRepo } from './repos/mirror.js'

export type { AbsentQuery, NewJob }

/**
 * Jobs, their input chunks and per-row results, on either engine. Construct it over the
 * store's Kysely instance, or over a transaction to write inside one. The work is done by
 * repos/jobs.ts, repos/job-results.ts and repos/mirror.ts.
 */
export class JobStore {
  private readonly jobs
  private readonly rows
  private readonly mirror

  /**
   * @param reader where a job's input chunks are read from. On SQLite this is a second, read-only
   * connection: an atomic or dry run reads its input while its one transaction holds the writer.
   */
  constructor(db: Kysely<DB>, dialect: StoreDialect, reader: Kysely<DB> = db) {
    this.jobs = jobsRepo(db, dialect, reader)
    this.rows = jobResultsRepo(db, dialect)
    this.mirror = mirrorRepo(db, dialect)
  }

  create(j: NewJob): Promise<Job> {
    return this.jobs.create(j)
  }

  appendChunk(jobId: string, seq: number, data: Buffer): Promise<void> {
    return this.jobs.appendChunk(jobId, seq, data)
  }

  /** The input is stored: the job becomes visible to workers. */
  finishUpload(jobId: string, bytes: number, chunks: number): Promise<void> {
    return this.jobs.finishUpload(jobId, bytes, chunks)
  }

  delete(jobId: string): Promise<void> {
    return this.jobs.delete(jobId)
  }

  get(tenantId: string, id: string): Promise<Job | null> {
    return this.jobs.get(tenantId, id)
  }

  /** A directory's jobs (not those still uploading), newest first. */
  list(directoryId: string, q: { state?: JobState; beforeCreatedAt?: string; limit: number }): Promise<Job[]> {
    return this.jobs.list(directoryId, q)
  }

  /** The input, chunk by chunk, in order; one query per chunk keeps memory flat. */
  chunks(jobId: string, count: number): AsyncGenerator<Buffer> {
    return this.jobs.chunks(jobId, count)
  }

  /** Leases the oldest runnable job (or one whose lease expired) for `owner`. */
  leaseNext(owner: string, leaseMs: number): Promise<Job | null> {
    return this.jobs.leaseNext(owner, leaseMs)
  }

  /** Frees every lease (a single-process store at start: whoever held them is gone). */
  releaseAll(): Promise<void> {
    return this.jobs.releaseAll()
  }

  /** Extends the lease; false when it was lost. */
  heartbeat(jobId: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.jobs.heartbeat(jobId, owner, leaseMs)
  }

  /** Changes a leased job; throws LeaseLost when `owner` no longer holds it. */
  update(jobId: string, owner: string | null, patch: Partial<JobPatch>): Promise<void> {
    return this.jobs.update(jobId, owner, patch)
  }

  /** Inside a batch's transaction: its per-row results, the job's counts and its checkpoint, all or nothing. */
  async recordBatch(jobId: string, owner: string, rows: JobResultRow[], counts: JobCounts, checkpoint: number): Promise<void> {
    await this.jobs.update(jobId, owner, { counts, checkpoint })
    await this.rows.insert(jobId, rows)
  }

  /** Inside an absent batch's transaction: its results and the job's absent summary, all or nothing. */
  async recordAbsent(jobId: string, owner: string, rows: JobResultRow[], absent: AbsentSummary): Promise<void> {
    await this.jobs.update(jobId, owner, { absent })
    await this.rows.insert(jobId, rows)
  }

  /** Adds a warning to a stored row result (a later row of the input named the same user). */
  addWarning(jobId: string, index: number, warning: FieldError): Promise<void> {
    return this.rows.addWarning(jobId, index, warning)
  }

  /** Results in input order from `afterIndex`, a page at a time; `withWarnings`: only rows that carry a warning. */
  results(jobId: string, q: { status?: string; withWarnings?: boolean; afterIndex?: number; limit: number }): Promise<JobResultRow[]> {
    return this.rows.list(jobId, q)
  }

  /** Jobs by state, across the installation, and the oldest queued one's time (metrics). */
  stats(): Promise<JobStats> {
    return this.jobs.stats()
  }

  requestCancel(tenantId: string, id: string): Promise<void> {
    return this.jobs.requestCancel(tenantId, id)
  }

  /** Moves a job between states only from the expected one (e.g. queued → cancelled); false when it was elsewhere. */
  transition(tenantId: string, id: string, from: JobState[], to: JobState, finished = false, absent?: AbsentSummary): Promise<boolean> {
    return this.jobs.transition(tenantId, id, from, to, finished, absent)
  }

  /** A directory's jobs in any of `states`, oldest first. */
  inStates(directoryId: string, states: readonly JobState[]): Promise<Job[]> {
    return this.jobs.inStates(directoryId, states)
  }

  // ---- mirror imports

  /** Inside a batch's transaction: users the job's rows matched. */
  addMatched(jobId: string, userIds: readonly string[]): Promise<void> {
    return this.mirror.addMatched(jobId, userIds)
  }

  clearMatched(jobId: string): Promise<void> {
    return this.mirror.clearMatched(jobId)
  }

  /** Users in scope, and of those the ones the job did not match. */
  countAbsent(directoryId: string, jobId: string, q: AbsentQuery): Promise<{ scoped: number; absent: number }> {
    return this.mirror.countAbsent(directoryId, jobId, q)
  }

  /** The next absent users after `afterSeq`, in seq order. */
  absentUsers(
    directoryId: string,
    jobId: string,
    q: AbsentQuery,
    afterSeq: number,
    limit: number,
  ): Promise<{ users: UserRecord[]; lastSeq: number | null }> {
    return this.mirror.absentUsers(directoryId, jobId, q, afterSeq, limit)
  }

  // ---- revert

  /** The users a job changed, in id order, a page at a time (after `afterUserId`). */
  changedUsers(directoryId: string, jobId: string, afterUserId: string | null, limit: number): Promise<string[]> {
    return this.rows.changedUsers(directoryId, jobId, afterUserId, limit)
  }

  /** A job's change records of some users, oldest first per user. */
  changesOf(directoryId: string, jobId: string, userIds: string[]): Promise<ChangeRecord[]> {
    return this.rows.changesOf(directoryId, jobId, userIds)
  }

  addConflicts(jobId: string, firstSeq: number, conflicts: RevertConflict[]): Promise<void> {
    return this.rows.addConflicts(jobId, firstSeq, conflicts)
  }

  conflicts(jobId: string, q: { afterSeq?: number; limit: number }): Promise<(RevertConflict & { seq: number })[]> {
    return this.rows.conflicts(jobId, q)
  }
}

export type { JobCounts }
