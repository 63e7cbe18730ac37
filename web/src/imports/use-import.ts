import { useCallback, useEffect, useState } from 'react'
import { api, enc, type ImportJob } from '../api'
import { watchImport } from './events'

/** States after which a job changes no more (unless a revert is asked for). */
export const END_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'reverted'])
export const ACTIVE_STATES: ReadonlySet<string> = new Set(['uploading', 'queued', 'running', 'reverting'])
/**
 * States a job does not leave by itself: the end states, and `needs_confirmation` (a mirror import
 * over its limit, waiting for someone to confirm or cancel it). The page keeps listening while one
 * waits, so a confirmation given elsewhere shows, but nothing is shown as in progress.
 */
export const RESTING_STATES: ReadonlySet<string> = new Set([...END_STATES, 'needs_confirmation'])

/** A job state as the console labels it: as the API names it, but for the one that asks for a decision. */
export const stateLabel = (state: string): string => (state === 'needs_confirmation' ? 'Needs confirmation' : state)

/**
 * An import, kept current: read once, then watched through its events until it ends. Opening the
 * page again starts watching again, so leaving and coming back resumes the live view. `update`
 * takes the job an action answered with (a confirm, a revert) and, unless it has ended, watches
 * it again: the stream may have ended at a resting state (needs_confirmation).
 */
export function useImportJob(id: string): { job: ImportJob | null; error: unknown; update: (j: ImportJob) => void } {
  const [job, setJob] = useState<ImportJob | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [generation, setGeneration] = useState(0)
  useEffect(() => {
    const ctl = new AbortController()
    api<ImportJob>('GET', `/imports/${enc(id)}`, undefined, { signal: ctl.signal })
      .then((j) => {
        setJob(j)
        setError(null)
        return END_STATES.has(j.state) ? undefined : watchImport(id, setJob, ctl.signal)
      })
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setError(e)
      })
    return () => ctl.abort()
  }, [id, generation])
  const update = useCallback((j: ImportJob) => {
    setJob(j)
    if (!END_STATES.has(j.state)) setGeneration((g) => g + 1)
  }, [])
  return { job, error, update }
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—'
  if (seconds < 60) return `${seconds} s`
  const m = Math.floor(seconds / 60)
  if (m < 60) return `${m} min ${seconds % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`
