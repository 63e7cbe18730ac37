// The states of a job, shared by the store (which refuses to delete a directory with active jobs),
// the engine and the jobs themselves.

/**
 * uploading → queued → running → completed | failed | cancelled; a completed import may go
 * reverting → reverted. `uploading` jobs are invisible to workers until their input is stored.
 */
export const JOB_STATES = ['uploading', 'queued', 'running', 'completed', 'failed', 'cancelled', 'reverting', 'reverted'] as const
export type JobState = (typeof JOB_STATES)[number]
/** States in which a job still reads or writes its directory. */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['uploading', 'queued', 'running', 'reverting']
