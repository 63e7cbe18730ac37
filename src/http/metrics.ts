import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { JOB_STATES, type JobStats } from '../core/jobs.js'

/**
 * Prometheus metrics for one app instance (its own registry, so tests can build many apps).
 * `jobStats` reads the jobs of the whole installation at each scrape (every process's jobs).
 */
export function createMetrics(jobStats?: () => Promise<JobStats>) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // One read serves both gauges of a scrape: prom-client calls every collect in one synchronous
  // pass, so the read is shared until the next microtask and never beyond.
  let pending: Promise<JobStats> | null = null
  const stats = () => {
    if (!pending) {
      pending = jobStats ? jobStats() : Promise.resolve({ byState: {}, oldestQueuedAt: null })
      queueMicrotask(() => (pending = null))
    }
    return pending
  }
  new Gauge({
    name: 'rollcall_jobs',
    help: 'Jobs of the whole installation by state (uploading, queued, running, completed, failed, cancelled, reverting, reverted)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const s = await stats()
      for (const state of JOB_STATES) this.set({ state }, s.byState[state] ?? 0)
    },
  })
  new Gauge({
    name: 'rollcall_job_oldest_queued_seconds',
    help: 'How long the oldest queued job has waited for a worker (0 when none waits): alert when it grows',
    registers: [registry],
    async collect() {
      const s = await stats()
      this.set(s.oldestQueuedAt ? Math.max(0, (Date.now() - Date.parse(s.oldestQueuedAt)) / 1000) : 0)
    },
  })
  return {
    jobRows: new Counter({
      name: 'rollcall_job_rows_total',
      help: 'Rows import jobs committed in this process',
      registers: [registry],
    }),
    registry,
    requests: new Counter({
      name: 'rollcall_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rollcall_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    bulkRows: new Counter({
      name: 'rollcall_bulk_rows_total',
      help: 'Rows through the bulk engine by channel and result status',
      labelNames: ['channel', 'status'] as const,
      registers: [registry],
    }),
    jobBatches: new Counter({
      name: 'rollcall_job_batches_total',
      help: 'Import batches committed by this process',
      registers: [registry],
    }),
    importStages: new Counter({
      name: 'rollcall_import_stage_seconds_total',
      help:
        'Seconds import jobs spent per stage of the bulk engine: read (input read, parsed, mapped), validate, ' +
        'lookup (the batch users read), plan, write (users and history), results (per-row results, checkpoint), commit. ' +
        'On PostgreSQL two batches are in flight at once, so their stages overlap',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    bulkDuration: new Histogram({
      name: 'rollcall_bulk_request_duration_seconds',
      help: 'Duration of sync bulk requests',
      labelNames: ['channel'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

export function registerRequestMetrics(app: FastifyInstance, m: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    m.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    m.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })
}
