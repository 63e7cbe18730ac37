import { setImmediate as yieldToOthers } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { Store } from '../store/store.js'

/** An upload not finished after this long is abandoned (its client or the server went away): it is deleted. */
export const ABANDONED_UPLOAD_HOURS = 24

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Input chunks (about 1 MiB each) per delete statement. */
const CHUNKS_PER_PAGE = 8
/** Rows per delete statement elsewhere. */
const ROWS_PER_PAGE = 2000
/** Jobs looked at per step. */
const JOBS_PER_STEP = 50

export interface RetentionOptions {
  store: Store
  /** Days after its end that a job's per-row results and plans are kept (0: forever). */
  resultDays: number
  /** Hours an idempotency record is kept. */
  idempotencyHours: number
  /** How often a sweep runs (a job's end also starts one). */
  intervalMs: number
  log?: Pick<Logger, 'info' | 'warn' | 'error'>
}

/** What one sweep deleted. */
export interface SweepReport {
  /** Jobs whose input was deleted, and the chunks. */
  inputs: number
  chunks: number
  /** Uploads never finished, deleted whole. */
  abandonedUploads: number
  /** Jobs whose results expired, and the rows, batch records and conflicts deleted. */
  expiredResults: number
  resultRows: number
  idempotencyRecords: number
  historyRecords: number
  /** import.* events every webhook of their directory had, a day after they happened. */
  webhookEvents: number
}

const emptyReport = (): SweepReport => ({
  inputs: 0,
  chunks: 0,
  abandonedUploads: 0,
  expiredResults: 0,
  resultRows: 0,
  idempotencyRecords: 0,
  historyRecords: 0,
  webhookEvents: 0,
})

/**
 * Retention, in the worker role: a job's input is deleted once the job has ended (failed rows
 * keep their own cells in their results, for failed.csv; a dry run's plan is in its results);
 * results and plans expire `resultDays` after the job's end; idempotency records after
 * `idempotencyHours`; history after the directory's own `historyRetentionDays`, if it has one;
 * uploads never finished after a day; import.* webhook events a day after every webhook had them. Everything is deleted a page at a time with a yield between
 * pages, so imports go on beside it; the space is then given back (store.reclaimSpace).
 * `start`/`stop` as the Worker's; `sweep` runs one pass (tests pass a `now` to age things).
 */
export class Retention {
  private state: 'created' | 'running' | 'stopping' | 'stopped' = 'created'
  private loop?: Promise<void>
  private wakeUp?: () => void
  private again = false

  constructor(private readonly opts: RetentionOptions) {}

  start(): void {
    if (this.state !== 'created') return
    this.state = 'running'
    this.loop = this.run()
  }

  /** A job ended: sweep now rather than at the next interval. */
  wake(): void {
    this.again = true
    this.wakeUp?.()
  }

  async stop(): Promise<void> {
    if (this.state === 'created') this.state = 'stopped'
    if (this.state === 'running') this.state = 'stopping'
    this.wakeUp?.()
    await this.loop
  }

  private get stopping(): boolean {
    return this.state === 'stopping'
  }

  private async run(): Promise<void> {
    const { log } = this.opts
    while (this.state === 'running') {
      this.again = false
      try {
        const r = await this.sweep()
        const total = Object.values(r).reduce((a, b) => a + b, 0)
        if (total > 0) log?.info({ retention: r }, 'retention sweep deleted expired data')
      } catch (e) {
        log?.error({ err: e }, 'retention sweep failed; trying again at the next one')
      }
      if (this.again || this.state !== 'running') continue
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.intervalMs)
        this.wakeUp = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wakeUp = undefined
    }
    this.state = 'stopped'
  }

  /** One pass over everything retention deletes, as of `now`. */
  async sweep(now = new Date()): Promise<SweepReport> {
    const { store, resultDays, idempotencyHours } = this.opts
    const r = store.retention
    const report = emptyReport()
    const at = now.toISOString()
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString()
    /** Runs `page` until it deletes nothing (or the sweep is stopped); the rows deleted. */
    const drain = async (page: () => Promise<number>, full: (n: number) => boolean = (n) => n > 0): Promise<number> => {
      let total = 0
      for (;;) {
        const n = await page()
        total += n
        if (!full(n) || this.stopping) return total
        await yieldToOthers()
      }
    }

    for (;;) {
      const ids = await r.jobsWithInput(JOBS_PER_STEP)
      for (const id of ids) {
        report.chunks += await drain(() => r.deleteInputPage(id, CHUNKS_PER_PAGE))
        if (this.stopping) return report
        await r.markInputPurged(id, at)
        report.inputs++
      }
      if (ids.length < JOBS_PER_STEP) break
    }

    const abandonedBefore = ago(ABANDONED_UPLOAD_HOURS * HOUR)
    for (const id of await r.abandonedUploads(abandonedBefore, JOBS_PER_STEP)) {
      report.chunks += await drain(() => r.deleteAbandonedPage(id, abandonedBefore, CHUNKS_PER_PAGE))
      if (this.stopping) return report
      report.abandonedUploads++
    }

    if (resultDays > 0) {
      for (;;) {
        const ids = await r.jobsWithExpiredResults(ago(resultDays * DAY), JOBS_PER_STEP)
        for (const id of ids) {
          report.resultRows += await drain(() => r.deleteResultsPage(id, ROWS_PER_PAGE))
          if (this.stopping) return report
          await r.markResultsPurged(id, at)
          report.expiredResults++
        }
        if (ids.length < JOBS_PER_STEP) break
      }
    }

    report.idempotencyRecords += await drain(
      () => r.deleteIdempotencyPage(ago(idempotencyHours * HOUR), ROWS_PER_PAGE),
      (n) => n === ROWS_PER_PAGE,
    )

    for (const { directoryId, days } of await r.historyRetention()) {
      if (this.stopping) return report
      report.historyRecords += await drain(
        () => r.deleteHistoryPage(directoryId, ago(days * DAY), ROWS_PER_PAGE),
        (n) => n === ROWS_PER_PAGE,
      )
    }

    report.webhookEvents += await store.webhooks.purgeEvents(ago(DAY))

    if (report.chunks > 0 || report.resultRows > 0 || report.historyRecords > ROWS_PER_PAGE) await store.reclaimSpace()
    return report
  }
}
