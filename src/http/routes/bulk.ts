import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RollcallError } from '../../core/errors.js'
import type { MatchKey } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import type { Metrics } from '../metrics.js'
import { nativeContext, principalOf } from '../auth.js'
import { BulkRequestSchema, BulkResponseSchema, DirParams, ProblemSchema } from '../schemas.js'
import { parseImportOptions } from './import-upload.js'
import { ImportJobSchema } from './imports.js'
import { viewJob } from '../../core/job-view.js'
import { isMirror, RESTING_JOB_STATES } from '../../core/jobs.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Added to a 413's message: where a request too large for this route should go instead. */
    tooLargeHint?: string
  }
}

/** How long a mirror request waits for its job by default, and at most (Prefer: wait=<seconds>). */
const DEFAULT_WAIT_S = 30
const MAX_WAIT_S = 120

export interface BulkLimits {
  maxRows: number
  maxBytes: number
}

export const bulkRoutes =
  (s: Services, limits: BulkLimits, metrics: Metrics): FastifyPluginAsyncTypebox =>
  async (app) => {
    const hint = (dir: string) =>
      `Send larger inputs to POST /api/v1/directories/${dir}/imports (async, any size); this endpoint takes up to ${limits.maxRows} rows and ${limits.maxBytes} bytes`

    app.post(
      '/directories/:dir/users/bulk',
      {
        bodyLimit: limits.maxBytes,
        config: { scope: 'write', tooLargeHint: hint('{dir}'), rowsCheckedPerRow: true },
        schema: {
          operationId: 'bulkUsers',
          tags: ['users'],
          summary: 'Create, update or upsert many users in one request, with a result per row',
          description:
            'Each row is validated on its own and reported in input order. Best-effort by default; `atomic: true` writes all rows or none (a failure answers 422 with the per-row results). `dryRun: true` returns the per-field plan and writes nothing.',
          params: DirParams,
          body: BulkRequestSchema,
          response: {
            200: BulkResponseSchema,
            202: ImportJobSchema,
            400: ProblemSchema,
            401: ProblemSchema,
            403: ProblemSchema,
            404: ProblemSchema,
            413: ProblemSchema,
            422: ProblemSchema,
          },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const body = req.body
        const mirror = isMirror(body)
        /** The request as an import job's options (mirror requests, and those sent async). */
        const importOptions = () => ({
          ...parseImportOptions({
            mode: body.mode,
            metadata: body.metadata,
            atomic: body.atomic,
            dryRun: body.dryRun,
            maxErrors: body.maxErrors ?? undefined,
            absent: body.absent,
            scope: body.scope === undefined ? undefined : JSON.stringify(body.scope),
            maxAbsent: body.maxAbsent === undefined ? undefined : String(body.maxAbsent),
            absentOnErrors: body.absentOnErrors,
          }),
          match: (Array.isArray(body.match) ? body.match : [body.match ?? 'email']) as MatchKey[],
          channel: nativeContext(req).channel,
        })
        const asJob = () =>
          s.jobs.upload(principalOf(req), dir, {
            body: (function* () {
              for (const row of body.rows) yield `${JSON.stringify(row)}\n`
            })(),
            format: 'ndjson',
            options: importOptions(),
            requestId: String(req.id),
          })
        if (mirror && body.rows.length <= limits.maxRows) {
          // A mirror needs what only a job has: the safeguard's pause, and a resume after a crash.
          // The answer waits for the job, and reads like any bulk answer when it ends in time.
          const options = importOptions()
          const wait = Math.min(MAX_WAIT_S, Number(/(?:^|[\s,;])wait=(\d+)/i.exec(String(req.headers.prefer ?? ''))?.[1] ?? DEFAULT_WAIT_S))
          const job = await s.jobs.settle(principalOf(req), (await asJob()).id, wait * 1000)
          if (job.state === 'needs_confirmation' || !RESTING_JOB_STATES.has(job.state))
            return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(viewJob(job))
          if (job.state !== 'completed' && !(options.atomic && job.state === 'failed'))
            throw new RollcallError('internal', `Import ${job.id} of this request ended ${job.state}${job.error ? `: ${job.error}` : ''}`)
          const results = (await s.jobs.results(job, { afterIndex: -1, limit: body.rows.length })).map((r) => ({
            index: r.index,
            status: r.status as 'created' | 'updated' | 'unchanged' | 'failed',
            userId: r.userId,
            changedFields: r.changedFields,
            errors: r.errors,
            ...(r.warnings.length ? { warnings: r.warnings } : {}),
            ...(r.plan ? { changes: r.plan.changes } : {}),
          }))
          const c = job.counts
          const response = {
            summary: { total: job.total ?? c.processed, created: c.created, updated: c.updated, unchanged: c.unchanged, failed: c.failed },
            results,
            dryRun: options.dryRun,
            stopped: results.some((r) => r.errors.some((e) => e.code === 'not_processed')),
            importId: job.id,
            absent: viewJob(job).absent,
          }
          if (job.state === 'failed') throw new RollcallError('batch_failed', `${job.error ?? 'rows failed'}`, { extra: response })
          return response
        }
        if (body.rows.length > limits.maxRows) {
          // RFC 7240: a client that prefers an asynchronous answer gets the request as an import.
          if (/(^|[\s,;])respond-async([\s,;]|$)/i.test(String(req.headers.prefer ?? ''))) {
            const job = await asJob()
            return reply
              .code(202)
              .header('location', `/api/v1/imports/${job.id}`)
              .header('preference-applied', 'respond-async')
              .send(viewJob(job))
          }
          throw new RollcallError(
            'payload_too_large',
            `${body.rows.length} rows is over the limit. ${hint(dir.id)}, or send Prefer: respond-async`,
          )
        }
        if (body.scope !== undefined || body.maxAbsent !== undefined || body.absentOnErrors !== undefined) importOptions() // 400: mirror options without absent
        const context = nativeContext(req)
        const stop = metrics.bulkDuration.startTimer({ channel: context.channel })
        const result = await s.users.bulk(
          dir,
          body.rows.map((data) => ({ data })),
          {
            mode: body.mode ?? 'upsert',
            match: (Array.isArray(body.match) ? body.match : [body.match ?? 'email']) as MatchKey[],
            metadata: body.metadata ?? 'merge',
            atomic: body.atomic ?? false,
            maxErrors: body.maxErrors ?? null,
            dryRun: body.dryRun ?? false,
          },
          context,
        )
        stop()
        for (const status of ['created', 'updated', 'unchanged', 'failed'] as const)
          if (result.summary[status]) metrics.bulkRows.inc({ channel: context.channel, status }, result.summary[status])
        const response = { summary: result.summary, results: result.results, dryRun: body.dryRun ?? false, stopped: result.stopped }
        if (result.rolledBack && !body.dryRun) {
          const failedRows = result.results.filter((r) => r.errors.some((e) => e.code !== 'rolled_back')).map((r) => r.index)
          throw new RollcallError(
            'batch_failed',
            `${failedRows.length} of ${result.summary.total} rows failed (first: row ${failedRows[0]}); the request is atomic, so nothing was written`,
            {
              extra: response,
            },
          )
        }
        return response
      },
    )
  }
