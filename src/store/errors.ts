// The store's own errors, re-exported by store.ts (the store's interface).
import type { UniqueKey } from '../core/user-fields.js'

/** A unique constraint refused a write outside the bulk path (directories, fields). */
export class UniqueViolation extends Error {
  constructor(readonly field: string) {
    super(`unique violation on ${field}`)
    this.name = 'UniqueViolation'
  }
}

/** A worker's lease on a job was taken over (it expired, or the job was cancelled): the worker stops. */
export class LeaseLost extends Error {
  constructor(jobId: string) {
    super(`lease on job ${jobId} was lost`)
    this.name = 'LeaseLost'
  }
}

/** Raised by a write that lost a race (a unique key taken, a version moved): retry the batch. */
export class WriteConflict extends Error {
  constructor(
    message: string,
    readonly constraint?: UniqueKey | 'version',
  ) {
    super(message)
    this.name = 'WriteConflict'
  }
}
