import { own } from '../../core/merge.js'
import { Readable } from 'node:stream'
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { errors, type FieldError, RollcallError } from '../../core/errors.js'
import { MATCH_KEYS, type MatchKey } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { type JobService } from '../../jobs/job-service.js'
import { DEFAULT_IMPORT_OPTIONS, type ImportOptions, type InputFormat, JOB_STATES, type JobState } from '../../core/jobs.js'
import { nativeContext, principalOf } from '../auth.js'
import { DirParams, ProblemSchema, StringEnum } from '../schemas.js'
import { viewJob } from '../../core/job-view.js'

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
    error: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Import' },
)

const Bool = Type.Union([Type.Boolean(), StringEnum(['true', 'false', '1', '0'] as const)])
const ImportQuery = Type.Object(
  {
    format: Type.Optional(StringEnum(['csv', 'ndjson', 'json'] as const, { description: 'Overrides the Content-Type' })),
    mode: Type.Optional(StringEnum(['create', 'update', 'upsert'] as const)),
    match: Type.Optional(Type.String({ description: 'A match key, or several separated by commas: id, externalId, email, username' })),
    metadata: Type.Optional(StringEnum(['merge', 'replace'] as const)),
    atomic: Type.Optional(Bool),
    dryRun: Type.Optional(Bool),
    maxErrors: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    mapping: Type.Optional(
      Type.String({ description: 'JSON object: input column → field path (email, metadata.plan, fields.dept; "" ignores the column)' }),
    ),
    unmapped: Type.Optional(StringEnum(['fail', 'metadata', 'ignore'] as const)),
    emptyMeans: Type.Optional(StringEnum(['skip', 'null'] as const)),
    delimiter: Type.Optional(Type.String({ description: 'One of , ; | or "tab"; detected when absent' })),
    quote: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
    header: Type.Optional(Bool),
  },
  { additionalProperties: false },
)

type RawOptions = Record<string, string | boolean | number | undefined>

const truthy = (v: unknown) => v === true || v === 'true' || v === '1'

/** Import options from query (and multipart fields), checked field by field. */
export function parseImportOptions(raw: RawOptions): ImportOptions {
  const problems: FieldError[] = []
  const D = DEFAULT_IMPORT_OPTIONS
  const match = String(raw.match ?? D.match.join(','))
    .split(',')
    .map((m) => m.trim())
  for (const m of match)
    if (!MATCH_KEYS.includes(m as MatchKey))
      problems.push({ field: 'match', code: 'invalid_value', message: `'${m}' is not a match key (use ${MATCH_KEYS.join(', ')})` })
  let mapping: Record<string, string> | null = null
  if (raw.mapping !== undefined) {
    try {
      const m = JSON.parse(String(raw.mapping)) as unknown
      if (m === null || typeof m !== 'object' || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string'))
        throw new Error('not an object of strings')
      mapping = m as Record<string, string>
    } catch (e) {
      problems.push({
        field: 'mapping',
        code: 'invalid_json',
        message: `mapping must be a JSON object of column → field path (${(e as Error).message})`,
      })
    }
  }
  const delimiters: Record<string, string> = { ',': ',', ';': ';', '|': '|', tab: '\t', '\t': '\t', comma: ',', semicolon: ';', pipe: '|' }
  let delimiter: string | null = null
  if (raw.delimiter !== undefined) {
    delimiter = delimiters[String(raw.delimiter)] ?? null
    if (!delimiter) problems.push({ field: 'delimiter', code: 'invalid_value', message: 'delimiter must be one of , ; | tab' })
  }
  if (problems.length) throw errors.validation(problems)
  return {
    mode: (raw.mode as ImportOptions['mode']) ?? D.mode,
    match: match as MatchKey[],
    metadata: (raw.metadata as ImportOptions['metadata']) ?? D.metadata,
    atomic: raw.atomic === undefined ? D.atomic : truthy(raw.atomic),
    maxErrors: raw.maxErrors === undefined ? D.maxErrors : Number(raw.maxErrors),
    dryRun: raw.dryRun === undefined ? D.dryRun : truthy(raw.dryRun),
    mapping: mapping ?? D.mapping,
    unmapped: (raw.unmapped as ImportOptions['unmapped']) ?? D.unmapped,
    emptyMeans: (raw.emptyMeans as ImportOptions['emptyMeans']) ?? D.emptyMeans,
    delimiter: delimiter ?? D.delimiter,
    quote: raw.quote === undefined ? D.quote : String(raw.quote),
    header: raw.header === undefined ? D.header : truthy(raw.header),
  }
}

const FORMATS: Record<string, InputFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/plain': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/json': 'json',
}

function formatOf(contentType: string | undefined, explicit: string | undefined, filename?: string): InputFormat {
  if (explicit) return explicit as InputFormat
  const byName = filename?.match(/\.(csv|ndjson|jsonl|json)$/i)?.[1].toLowerCase()
  if (byName) return byName === 'jsonl' ? 'ndjson' : (byName as InputFormat)
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const f = own(FORMATS, ct)
  if (!f)
    throw new RollcallError(
      'unsupported_media_type',
      'Send the file as text/csv, application/x-ndjson or application/json, or as multipart field "file"',
    )
  return f
}

const ImportParams = Type.Object({ id: Type.String() })
const END_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'reverted'])

export const importRoutes =
  (s: Services, jobs: JobService, maxImportBytes: number): FastifyPluginAsyncTypebox =>
  async (app) => {
    await app.register(async (up) => {
      // Uploads stream into the database as they arrive: these parsers hand the handler the raw
      // stream instead of buffering (in this scope only; elsewhere JSON is parsed as usual).
      up.removeAllContentTypeParsers()
      up.addContentTypeParser(Object.keys(FORMATS), (_req, payload, done) => done(null, payload))
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
          params: ImportParams,
          querystring: Type.Object(
            {
              status: Type.Optional(StringEnum(['created', 'updated', 'unchanged', 'failed'] as const)),
              format: Type.Optional(StringEnum(['ndjson', 'csv'] as const)),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const job = await jobs.get(principalOf(req), req.params.id)
        const csv = req.query.format === 'csv'
        const body = csv ? s.jobs.resultsCsv(job, req.query.status) : s.jobs.resultsNdjson(job, req.query.status)
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
        reply.hijack()
        const res = reply.raw
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-request-id': String(req.id),
        })
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
          response: { 202: ImportJobSchema, ...problems },
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
          response: { 202: ImportJobSchema, ...problems },
        },
      },
      async (req, reply) => {
        const job = await jobs.apply(principalOf(req), req.params.id, String(req.id))
        return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(viewJob(job))
      },
    )

    app.post(
      '/imports/:id/cancel',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'cancelImport',
          tags: ['imports'],
          summary: 'Cancel a queued or running import (it stops after the batch in flight)',
          params: ImportParams,
          response: { 200: ImportJobSchema, ...problems },
        },
      },
      async (req) => viewJob(await jobs.cancel(principalOf(req), req.params.id)),
    )
  }

/** The file and options of an upload: a raw body, or multipart with options as fields before the file. */
async function uploadOf(
  req: FastifyRequest,
  query: RawOptions,
): Promise<{ body: AsyncIterable<Buffer>; format: InputFormat; options: ImportOptions }> {
  if (req.isMultipart()) {
    const fields: RawOptions = { ...query }
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (part.fieldname in fields && query[part.fieldname] !== undefined) continue
        fields[part.fieldname] = String(part.value)
        continue
      }
      if (part.fieldname !== 'file') {
        part.file.resume()
        throw errors.validation([
          { field: part.fieldname, code: 'unknown_field', message: `unexpected file field '${part.fieldname}'; send the file as 'file'` },
        ])
      }
      const format = formatOf(part.mimetype, fields.format as string | undefined, part.filename)
      return { body: part.file, format, options: parseImportOptions(fields) }
    }
    throw errors.validation([{ field: 'file', code: 'required', message: "multipart uploads carry the file in field 'file'" }])
  }
  const format = formatOf(req.headers['content-type'], query.format as string | undefined)
  const body = req.body
  if (!(body instanceof Readable))
    throw errors.validation([{ field: 'body', code: 'required', message: 'send the file as the request body' }])
  return { body, format, options: parseImportOptions(query) }
}
