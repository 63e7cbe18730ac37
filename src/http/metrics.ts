import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/** Prometheus metrics for one app instance (its own registry, so tests can build many apps). */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
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
        'lookup (the batch users read), plan, write (users and history), results (per-row results, checkpoint), commit',
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
