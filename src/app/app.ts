import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify'
import { pino } from 'pino'
import type { Config } from '../config.js'
import { registerDoors } from '../doors/index.js'
import { buildHttpApp } from '../http/app.js'
import { registerConsole } from '../http/console.js'
import { createMetrics, type Metrics } from '../http/metrics.js'
import { createServices, type Services } from '../jobs/services.js'
import { createWebhookService, type WebhookService } from '../jobs/webhooks.js'
import { Retention } from '../jobs/retention.js'
import { Worker } from '../jobs/worker.js'
import { WebhookDispatcher } from '../jobs/webhook-dispatcher.js'
import type { Store } from '../store/store.js'

/**
 * The one composition root: config → store → services → worker → webhooks → HTTP, each by role.
 * `api` builds HTTP and no worker; `worker` builds the worker and no HTTP; `all` both.
 */

export interface AppOptions {
  store: Store
  config: Readonly<Config>
  /** Fastify's logger option (false: silent). The worker and the webhooks log through the same logger. */
  logger?: FastifyServerOptions['logger']
}

/** The parts every role shares. */
interface Core {
  services: Services
  metrics: Metrics
  webhooks: WebhookService
  /** Runs import jobs in this process (role worker or all). */
  worker: Worker | null
  /** Deletes what retention says has expired (role worker or all). */
  retention: Retention | null
  /** Delivers webhooks from the database (role worker or all). */
  dispatcher: WebhookDispatcher | null
  log: FastifyBaseLogger
}

/** A pino logger from Fastify's logger option: false or absent is silent. */
function loggerOf(option: FastifyServerOptions['logger']): FastifyBaseLogger {
  if (!option) return pino({ level: 'silent' })
  if (option === true) return pino()
  const { stream, ...rest } = option as { stream?: pino.DestinationStream } & pino.LoggerOptions
  return stream ? pino(rest, stream) : pino(rest)
}

function compose(opts: AppOptions): Core {
  const { store, config } = opts
  const log = loggerOf(opts.logger)
  let worker: Worker | null = null
  let retention: Retention | null = null
  const services = createServices(store, {
    batchSize: config.batchSize,
    maxImportBytes: config.importMaxBytes,
    resultRetentionDays: config.resultRetentionDays,
    idempotencyTtlHours: config.idempotencyTtlHours,
    onJobQueued: () => worker?.wake(),
  })
  const metrics = createMetrics(() => store.jobs.stats())
  // Deliveries run where jobs run (roles worker and all), from the database: a restart loses none.
  const dispatcher =
    config.role === 'api'
      ? null
      : new WebhookDispatcher({
          store,
          backoffMs: config.webhookBackoffMs,
          maxBackoffMs: config.webhookMaxBackoffMs,
          attempts: config.webhookAttempts,
          timeoutMs: config.webhookTimeoutMs,
          allowPrivate: config.webhookAllowPrivate,
          pollMs: config.webhookPollMs,
          leaseMs: config.jobLeaseMs,
          log,
        })
  const webhooks = createWebhookService(store, {
    timeoutMs: config.webhookTimeoutMs,
    allowPrivate: config.webhookAllowPrivate,
    onQueued: () => dispatcher?.wake(),
  })
  if (config.role !== 'api') {
    retention = new Retention({
      store,
      resultDays: config.resultRetentionDays,
      idempotencyHours: config.idempotencyTtlHours,
      intervalMs: config.retentionIntervalMs,
      log,
    })
    const sweeper = retention
    worker = new Worker({
      store,
      batchSize: config.batchSize,
      plannerThreadMinBytes: config.plannerThreadMinBytes,
      leaseMs: config.jobLeaseMs,
      pollMs: config.jobPollMs,
      log,
      onProgress: () => metrics.jobBatches.inc(),
      onStage: (stage, seconds) => metrics.importStages.inc({ stage }, seconds),
      onRows: (rows) => metrics.jobRows.inc(rows),
      // In the background: a slow receiver must not hold up the next job.
      onFinished: (job) => {
        sweeper.wake()
        void webhooks.notifyFinished(job).catch((e) => log.warn({ err: e }, 'webhooks failed'))
      },
    })
  }
  return { services, metrics, webhooks, worker, retention, dispatcher, log }
}

/** Starts a worker, retention and webhook deliveries: on SQLite (one process), a lease still held at start was this process's before a crash. */
async function startWorker(store: Store, worker: Worker, retention: Retention | null, dispatcher: WebhookDispatcher | null): Promise<void> {
  if (!store.capabilities.multiProcess) await store.jobs.releaseAll()
  worker.start()
  retention?.start()
  dispatcher?.start()
}

export interface App {
  app: FastifyInstance
  services: Services
  metrics: Metrics
  jobs: Services['jobs']
  /** Runs import jobs in this process (role all); started when the app is ready, stopped when it closes. */
  worker: Worker | null
  /** Retention's sweeps (role all), started and stopped with the worker. */
  retention: Retention | null
}

/** Roles `api` and `all`: the HTTP app with the native API and every door, not listening yet. */
export async function buildApp(opts: AppOptions): Promise<App> {
  if (opts.config.role === 'worker') throw new Error("role 'worker' serves no HTTP: use startWorkerRole")
  const core = compose(opts)
  const { services, metrics, webhooks, worker, retention, dispatcher, log } = core
  const app = await buildHttpApp({ services, metrics, webhooks, config: opts.config, log })
  await registerDoors(app, services, { maxRows: opts.config.bulkMaxRows, maxBytes: opts.config.bulkMaxBytes })
  await registerConsole(app)
  if (worker) {
    app.addHook('onReady', () => startWorker(opts.store, worker, retention, dispatcher))
    app.addHook('onClose', () => Promise.all([worker.stop(), retention?.stop(), dispatcher?.stop()]).then(() => undefined))
  }
  return { app, services, metrics, jobs: services.jobs, worker, retention }
}

export interface WorkerRole {
  services: Services
  worker: Worker
  log: FastifyBaseLogger
  /** Lets the batch in flight commit, releases the lease, stops. */
  stop(): Promise<void>
}

/** Role `worker`: runs jobs, serves no HTTP. */
export async function startWorkerRole(opts: AppOptions): Promise<WorkerRole> {
  const { services, worker, retention, dispatcher, log } = compose({ ...opts, config: { ...opts.config, role: 'worker' } })
  if (!worker) throw new Error('a worker role without a worker')
  await startWorker(opts.store, worker, retention, dispatcher)
  return {
    services,
    worker,
    log,
    stop: () => Promise.all([worker.stop(), retention?.stop(), dispatcher?.stop()]).then(() => undefined),
  }
}
