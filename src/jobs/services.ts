import type { Job } from '../core/jobs.js'
import { createDirectoryService } from '../engine/directory-service.js'
import { createGroupService } from '../engine/group-service.js'
import { createIdempotencyService } from '../engine/idempotency-service.js'
import { createKeyService } from '../engine/key-service.js'
import { createUserService } from '../engine/user-service.js'
import type { Store } from '../store/store.js'
import { failedCsv, type ResultsQuery, resultsCsv, resultsNdjson } from './exports.js'
import { createJobService, resultsExpired } from './job-service.js'

/** The job, when its results are still kept; else the 410 that says since when they are not. */
const live = (job: Job): Job => {
  if (job.resultsPurgedAt) throw resultsExpired(job)
  return job
}

export interface ServiceOptions {
  batchSize: number
  /** Bytes per uploaded import (ROLLCALL_IMPORT_MAX_BYTES). */
  maxImportBytes: number
  /** Days a job's results are kept after its end (0: forever): a dry run older than that cannot be applied. */
  resultRetentionDays?: number
  /** Hours an idempotency record is kept: an older one is a new request. */
  idempotencyTtlHours?: number
  /** Called when a job was queued: an in-process worker picks it up at once. */
  onJobQueued?: () => void
}

/**
 * The core's services: the only way doors, HTTP routes, the CLI and the composition root reach
 * the store (nothing outside the engine and the jobs holds it).
 */
export function createServices(store: Store, opts: ServiceOptions) {
  const jobs = createJobService(store, { maxImportBytes: opts.maxImportBytes, resultRetentionDays: opts.resultRetentionDays ?? 0 }, () =>
    opts.onJobQueued?.(),
  )
  return {
    jobs: {
      ...jobs,
      /** A job's results as CSV or NDJSON lines, in input order, optionally of one status, paged (after, limit), with a warning. */
      resultsCsv: (job: Job, q?: ResultsQuery) => resultsCsv(store, live(job), q),
      resultsNdjson: (job: Job, q?: ResultsQuery) => resultsNdjson(store, live(job), q),
      /** The failed rows in the input's own columns plus an `error` column. */
      failedCsv: (job: Job) => failedCsv(store, live(job)),
      /** Fields a revert or an apply left alone because they changed since, by sequence. */
      conflicts: (job: Job, q: { afterSeq?: number; limit: number }) => store.jobs.conflicts(live(job).id, q),
    },
    keys: createKeyService(store),
    directories: createDirectoryService(store),
    users: createUserService(store, opts),
    groups: createGroupService(store),
    idempotency: createIdempotencyService(store, opts.idempotencyTtlHours ?? 24),
    tenants: {
      /** The tenant of this name, made on first use (the CLI's `--tenant`). */
      ensure: (name: string) => store.ensureTenant(name),
    },
    ops: {
      /** Whether the database answers, and which engine it is. */
      async readiness(): Promise<{ ok: boolean; database: Store['dialect'] }> {
        return { ok: await store.ping(), database: store.dialect }
      },
    },
  }
}

export type Services = ReturnType<typeof createServices>
