import { Readable } from 'node:stream'
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { type JobService } from '../../jobs/job-service.js'
import { JOB_ROW_STATUSES, JOB_STATES, type JobState } from '../../core/jobs.js'
import { nativeContext, principalOf } from '../auth.js'
import { DirParams, ProblemSchema, StringEnum } from '../schemas.js'
import { viewJob } from '../../core/job-view.js'
import { ImportQuery, type RawOptions, UPLOAD_TYPES, uploadOf } from './import-upload.js'
import { openEventStream } from '../event-stream.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body is a stream: Idempotency-Key fingerprints the request line and headers, not the body. */
    streamBody?: boolean
  }
}

const problems = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  413: ProblemSchema,
  415: ProblemSchema,
}

/** What retention deleted (results_expired): results, failed rows, conflicts, an old plan, an import past its directory's history. */
const gone = { 410: ProblemSchema }

export const ImportJobSchema = Type.Object(
  {
    id: Type.String(),
    directoryId: Type.String(),
    kind: StringEnum(['import', 'apply'] as const),
    state: StringEnum(JOB_STATES),
    format: StringEnum(['csv', 'ndjson', 'json'] as const),
    options: Type.Object({}, { additionalProperties: true }),
    sourceJobId: Type.Union([Type.String(), Type.Null()]),
    counts: Type.Object({
      total: Type.Union([Type.Integer(), Type.Null()], { description: 'Rows in the input; null until it has been read to the end' }),
      processed: Type.Integer(),
      created: Type.Integer(),
      updated: Type.Integer(),
      unchanged: Type.Integer(),
      failed: Type.Integer(),
      conflicts: Type.Integer(),
    }),
    rowsPerSecond: Type.Union([Type.Integer(), Type.Null()]),
    etaSeconds: Type.Union([Type.Integer(), Type.Null()]),
    inputBytes: Type.Integer(),
    revert: Type.Union([
      Type.Object({ users: Type.Integer(), restored: Type.Integer(), deleted: Type.Integer(), conflicts: Type.Integer() }),
      Type.Null(),
    ]),
    absent: Type.Union([
      Type.Object(
        {
          action: StringEnum(['deactivate', 'delete'] as const),
          phase: StringEnum(['skipped', 'needs_confirmation', 'running', 'done'] as const),
          scoped: Type.Integer({ description: 'Users in scope once the input was in (to deactivate: active ones)' }),
          absent: Type.Integer({ description: 'Of those, the ones no row matched' }),
          limit: Type.Integer({ description: "The safeguard's limit (maxAbsent) as a count" }),
          confirmed: Type.Boolean(),
          deactivated: Type.Integer(),
          deleted: Type.Integer(),
          reason: Type.Union([Type.String(), Type.Null()], { description: 'Why nobody was changed (skipped)' }),
          sample: Type.Array(
            Type.Object({
              id: Type.String(),
              email: Type.Union([Type.String(), Type.Null()]),
              username: Type.Union([Type.String(), Type.Null()]),
              externalId: Type.Union([Type.String(), Type.Null()]),
            }),
            { description: 'The first absent users (up to 10) when a confirmation is needed' },
          ),
        },
        { description: 'Mirror imports, once the input is in: the users no row matched, and what was done to them' },
      ),
      Type.Null(),
    ]),
    error: Type.Union([Type.String(), Type.Null()]),
    keyId: Type.Union([Type.String(), Type.Null()], { description: 'The key that started it (null: the CLI, on the database)' }),
    requestId: Type.Union([Type.String(), Type.Null()], { description: 'The request that started it' }),
    createdAt: Type.String(),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    inputDeletedAt: Type.Union([Type.String(), Type.Null()], {
      description: 'When the uploaded file was deleted: once the job ends (failed rows keep their own cells for failed.csv)',
    }),
    resultsDeletedAt: Type.Union([Type.String(), Type.Null()], {
      description:
        'When the per-row results were deleted (ROLLCALL_RESULT_RETENTION_DAYS after the end); results, failed.csv and conflicts answer 410 since',
    }),
  },
  { $id: 'Import' },
)

const ImportParams = Type.Object({ id: Type.String() })
const END_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'reverted'])

export const importRoutes =
  (s: Services, jobs: JobService, maxImportBytes: number): FastifyPluginAsyncTypebox =>
  async (app) => {
    await app.register(async (up) => {
      // Uploads stream into the database as they arrive: these parsers hand the handler the raw
      // stream instead of buffering (in this scope only; elsewhere JSON is parsed as usual).
      up.removeAllContentTypeParsers()
      up.addContentTypeParser(UPLOAD_TYPES, (_req, payload, done) => done(null, payload))
      await up.register(multipart, { limits: { fileSize: maxImportBytes, files: 1, fields: 20 } })

      up.withTypeProvider<TypeBoxTypeProvider>().post(
        '/directories/:dir/imports',
        {
          config: { scope: 'write', streamBody: true, rowsCheckedPerRow: true },
          bodyLimit: maxImportBytes,
          schema: {
            operationId: 'createImport',
            tags: ['imports'],
            summary: 'Upload a CSV, NDJSON or JSON-array file to import as a durable job',
            description:
              'The body is the file (Content-Type text/csv, application/x-ndjson or application/json), or multipart/form-data with the file in field `file` and options as other fields. The answer (202) comes once the input is stored; the job then runs in the background.',
            params: DirParams,
            querystring: ImportQuery,
            response: { 202: ImportJobSchema, ...problems },
          },
        },
        async (req, reply) => {
          const p = principalOf(req)
          const dir = await s.directories.resolve(p, req.params.dir)
          const { body, format, options } = await uploadOf(req, req.query as RawOptions)
          // `Rollcall-Channel: cli|console` marks the job's writes in history, as for every native write.
          const { channel } = nativeContext(req)
          const length = req.isMultipart() ? undefined : Number(req.headers['content-length'])
          const job = await jobs.upload(p, dir, {
            body,
            format,
            options: channel === 'native' ? options : { ...options, channel },
            requestId: String(req.id),
            declaredBytes: length !== undefined && Number.isSafeInteger(length) ? length : undefined,
          })
          return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(viewJob(job))
        },
      )
    })

    app.get(
      '/directories/:dir/imports',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'listImports',
          tags: ['imports'],
          summary: "The directory's imports, newest first (the API log)",
          params: DirParams,
          querystring: Type.Object(
            {
              state: Type.Optional(StringEnum(JOB_STATES)),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
              before: Type.Optional(Type.String({ format: 'date-time' })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(ImportJobSchema) }), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const list = await jobs.list(dir, {
          state: req.query.state as JobState | undefined,
          limit: req.query.limit ?? 50,
          beforeCreatedAt: req.query.before,
        })
        return { data: list.map((j) => viewJob(j)) }
      },
    )

    app.get(
      '/imports/:id',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getImport',
          tags: ['imports'],
          summary: 'An import: state, counts, rate, ETA',
          params: ImportParams,
          response: { 200: ImportJobSchema, ...problems },
        },
      },
      async (req) => viewJob(await jobs.get(principalOf(req), req.params.id)),
    )

    app.get(
      '/imports/:id/results',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getImportResults',
          tags: ['imports'],
          summary: "Every row's result in input order, streamed as NDJSON (default) or CSV",
          description:
            'Pages: `limit` rows after the row `index` given as `after` (the last index of the previous page). `warning=duplicate_in_input` keeps the rows another row of the input names the same user as. A mirror import lists its absent users after the rows (status `deactivated` or `deleted`, no line).',
          params: ImportParams,
          response: { 200: Type.Unknown({ description: 'NDJSON or CSV, streamed' }), ...gone },
          querystring: Type.Object(
            {
              status: Type.Optional(StringEnum(JOB_ROW_STATUSES)),
              format: Type.Optional(StringEnum(['ndjson', 'csv'] as const)),
              after: Type.Optional(Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
              warning: Type.Optional(StringEnum(['duplicate_in_input'] as const)),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const job = await jobs.get(principalOf(req), req.params.id)
        const csv = req.query.format === 'csv'
        const { status, after, limit, warning } = req.query
        const q = { status, after, limit, warning }
        const body = csv ? s.jobs.resultsCsv(job, q) : s.jobs.resultsNdjson(job, q)
        return reply
          .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
          .header('content-disposition', `attachment; filename="import-${job.id}-results.${csv ? 'csv' : 'ndjson'}"`)
          .send(Readable.from(body))
      },
    )

    app.get(
      '/imports/:id/failed.csv',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getImportFailedRows',
          tags: ['imports'],
          summary: "The failed rows in the input's own columns plus `error`, ready to fix and upload again",
          params: ImportParams,
          response: { 200: Type.Unknown({ description: 'CSV, streamed' }), ...gone },
        },
      },
      async (req, reply) => {
        const job = await jobs.get(principalOf(req), req.params.id)
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="import-${job.id}-failed.csv"`)
          .send(Readable.from(s.jobs.failedCsv(job)))
      },
    )

    app.get(
      '/imports/:id/events',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getImportEvents',
          tags: ['imports'],
          summary: 'Server-sent events: `progress` while the import runs, then `end` with the final state',
          params: ImportParams,
          response: problems,
        },
      },
      async (req, reply) => {
        const p = principalOf(req)
        let job = await jobs.get(p, req.params.id)
        const res = openEventStream(req, reply)
        let closed = false
        req.raw.on('close', () => (closed = true))
        const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
        let last = ''
        let idle = 0
        while (!closed) {
          const view = viewJob(job)
          const key = `${view.state}:${view.counts.processed}`
          if (key !== last) {
            send(END_STATES.has(job.state) ? 'end' : 'progress', view)
            last = key
            idle = 0
          } else if (++idle % 30 === 0) res.write(': keep-alive\n\n')
          if (END_STATES.has(job.state)) break
          await new Promise((r) => setTimeout(r, 500))
          job = await jobs.get(p, req.params.id)
        }
        res.end()
      },
    )

    app.post(
      '/imports/:id/revert',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'revertImport',
          tags: ['imports'],
          summary: 'Undo a completed import: every field it set goes back, fields changed since are left and reported as conflicts',
          params: ImportParams,
          response: { 202: ImportJobSchema, ...problems, ...gone },
        },
      },
      async (req, reply) => reply.code(202).send(viewJob(await jobs.revert(principalOf(req), req.params.id))),
    )

    app.get(
      '/imports/:id/conflicts',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getImportRevertConflicts',
          tags: ['imports'],
          summary: 'Fields a revert left alone because they changed after the import',
          params: ImportParams,
          querystring: Type.Object(
            {
              cursor: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({ userId: Type.String(), field: Type.String(), expected: Type.Unknown(), actual: Type.Unknown() }),
              ),
              nextCursor: Type.Union([Type.Integer(), Type.Null()]),
            }),
            ...problems,
            ...gone,
          },
        },
      },
      async (req) => {
        const job = await jobs.get(principalOf(req), req.params.id)
        const limit = req.query.limit ?? 100
        const rows = await s.jobs.conflicts(job, { afterSeq: req.query.cursor, limit })
        return { data: rows.map(({ seq: _s, ...c }) => c), nextCursor: rows.length === limit ? rows[rows.length - 1].seq : null }
      },
    )

    app.post(
      '/imports/:id/apply',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'applyImportPlan',
          tags: ['imports'],
          summary:
            'Write the plan of a completed dry-run import exactly as planned (a new job); rows whose user changed since become conflicts',
          params: ImportParams,
          response: { 202: ImportJobSchema, ...problems, ...gone },
        },
      },
      async (req, reply) => {
        const job = await jobs.apply(principalOf(req), req.params.id, String(req.id))
        return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(viewJob(job))
      },
    )

    app.post(
      '/imports/:id/confirm',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'confirmImport',
          tags: ['imports'],
          summary: 'Go on with a mirror import its safeguard stopped (needs_confirmation): its absent users are changed',
          description:
            'A mirror import whose absent users are more than `maxAbsent` stops before changing any of them, in state `needs_confirmation`, with the numbers and a sample in `absent`. Confirming queues it again; it then deactivates or deletes them all. `cancel` ends it instead (its rows stay written).',
          params: ImportParams,
          response: { 202: ImportJobSchema, ...problems },
        },
      },
      async (req, reply) => reply.code(202).send(viewJob(await jobs.confirm(principalOf(req), req.params.id))),
    )

    app.post(
      '/imports/:id/cancel',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'cancelImport',
          tags: ['imports'],
          summary: 'Cancel a queued or running import (it stops after the batch in flight), or one waiting for a confirmation',
          params: ImportParams,
          response: { 200: ImportJobSchema, ...problems },
        },
      },
      async (req) => viewJob(await jobs.cancel(principalOf(req), req.params.id)),
    )
  }
