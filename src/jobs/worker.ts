import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Store } from '../store/store.js'
import { runApply } from './apply.js'
import { runRevert } from './revert.js'
import { type RunContext, runImport } from './runner.js'
import { type Job, RESTING_JOB_STATES } from '../core/jobs.js'

export interface WorkerOptions {
  store: Store
  batchSize: number
  /** Imports of at least this many bytes plan on a thread of their own (RunContext.plannerThreadMinBytes). */
  plannerThreadMinBytes?: number | null
  /** How long a lease lasts without a heartbeat; a crashed worker's job is picked up after it. */
  leaseMs?: number
  /** How often an idle worker looks for work (a job enqueued by this process wakes it at once). */
  pollMs?: number
  log?: Pick<Logger, 'info' | 'warn' | 'error'>
  onProgress?: (job: Job) => void
  /** Told where an import's time goes, batch by batch (metrics). */
  onStage?: RunContext['onStage']
  /** Told of the rows imports committed (metrics). */
  onRows?: RunContext['onRows']
  /** Told when a job reaches an end state (webhooks). */
  onFinished?: (job: Job) => void | Promise<void>
}

type State = 'created' | 'running' | 'stopping' | 'stopped'

/**
 * Leases jobs and runs them one at a time. On PostgreSQL many workers (in many processes) share
 * the queue through leases taken with SKIP LOCKED; on SQLite there is one, in-process.
 * `start` and `stop` are idempotent; `stop` lets the batch in flight commit, releases the lease
 * and resolves once the loop has ended.
 */
export class Worker {
  readonly id = `worker-${randomUUID()}`
  private state: State = 'created'
  private loop?: Promise<void>
  private wakeUp?: () => void
  private readonly leaseMs: number
  private readonly pollMs: number

  constructor(private readonly opts: WorkerOptions) {
    this.leaseMs = opts.leaseMs ?? 30_000
    this.pollMs = opts.pollMs ?? 1_000
  }

  start(): void {
    if (this.state !== 'created') return
    this.state = 'running'
    this.loop = this.run()
  }

  /** A job was enqueued: look now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.()
  }

  async stop(): Promise<void> {
    if (this.state === 'created') this.state = 'stopped'
    if (this.state === 'running') this.state = 'stopping'
    this.wake()
    await this.loop
  }

  private async run(): Promise<void> {
    const { store, log } = this.opts
    while (this.state === 'running') {
      let job: Job | null = null
      try {
        job = await store.jobs.leaseNext(this.id, this.leaseMs)
      } catch (e) {
        log?.error({ err: e, worker: this.id }, 'could not lease a job; retrying')
      }
      if (!job) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.pollMs)
          this.wakeUp = () => {
            clearTimeout(t)
            resolve()
          }
        })
        this.wakeUp = undefined
        continue
      }
      log?.info({ jobId: job.id, worker: this.id, from: job.checkpoint }, 'job leased')
      try {
        const ctx = {
          store,
          owner: this.id,
          leaseMs: this.leaseMs,
          batchSize: this.opts.batchSize,
          plannerThreadMinBytes: this.opts.plannerThreadMinBytes,
          log,
          onProgress: this.opts.onProgress,
          onStage: this.opts.onStage,
          onRows: this.opts.onRows,
          stopping: () => this.state !== 'running',
        }
        const run = job.state === 'reverting' ? runRevert : job.kind === 'apply' ? runApply : runImport
        const end = await run(job, ctx)
        if (RESTING_JOB_STATES.has(end)) {
          const done = await store.jobs.get(job.tenantId, job.id)
          if (done) await this.opts.onFinished?.(done)
        }
      } catch (e) {
        // A job's own failures are recorded on the job; this is the worker's: log and go on.
        log?.error({ err: e, jobId: job.id, worker: this.id }, 'job run crashed')
      }
    }
    this.state = 'stopped'
  }
}
