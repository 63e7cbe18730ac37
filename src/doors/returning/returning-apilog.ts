import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { type FieldError, RollcallError } from '../../core/errors.js'
import type { Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../../http/auth.js'
import type { Job, JobResultRow, JobState } from '../../core/jobs.js'
import { communities } from './returning-community.js'
import { communityIdOf, returningPath } from './returning-map.js'

/** Row errors shown per entry: in a list, and for one entry. The rest: `GET /api/v1/imports/{_id}/results?status=failed`. */
const LIST_ERRORS = 100
const ONE_ERRORS = 1000

/** Rollcall's job states in the Api Log's words: `running` is `processing`; the rest keep their names. */
const STATUS_OUT: Record<JobState, string> = {
  uploading: 'queued',
  queued: 'queued',
  running: 'processing',
  needs_confirmation: 'needs_confirmation',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  reverting: 'reverting',
  reverted: 'reverted',
}
const STATUSES = ['queued', 'processing', 'needs_confirmation', 'completed', 'failed', 'cancelled', 'reverting', 'reverted'] as const
const STATE_IN: Record<(typeof STATUSES)[number], JobState> = {
  queued: 'queued',
  processing: 'running',
  needs_confirmation: 'needs_confirmation',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  reverting: 'reverting',
  reverted: 'reverted',
}

const Ok = Type.Object({
  meta: Type.Object({ status: Type.String(), statusCode: Type.Integer() }),
  message: Type.String(),
  data: Type.Unknown(),
  next_cursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})
const Id = Type.String({ maxLength: 100 })

/** List cursors are opaque: base64url of the creation time of the last entry shown. */
const encodeCursor = (createdAt: string) => Buffer.from(`c:${createdAt}`).toString('base64url')
function decodeCursor(cursor: string): string {
  const m = /^c:(\d{4}-\d\d-\d\dT[\d:.]+Z)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new RollcallError('invalid_cursor', 'The cursor is not one this server issued; start again without it')
  return m[1]
}

/** The file's own column for a field path the engine names (`fields.xp` → `xp`, `firstName` → `first_name`). */
function columnNamer(job: Job): (path: string) => string {
  const byPath = new Map<string, string>()
  for (const [column, path] of Object.entries(job.options.mapping ?? {})) if (!byPath.has(path)) byPath.set(path, column)
  return (path) => byPath.get(path) ?? returningPath(path)
}

/** The email cell of a failed CSV row as it came, when the row could be read. */
function emailOf(job: Job, r: JobResultRow): string | null {
  if (job.format !== 'csv' || !job.columns || !r.raw) return null
  const column = Object.entries(job.options.mapping ?? {}).find(([, path]) => path === 'email')?.[0] ?? 'email'
  const i = job.columns.indexOf(column)
  try {
    const cells = JSON.parse(r.raw) as unknown
    return i !== -1 && Array.isArray(cells) && cells.length === job.columns.length && typeof cells[i] === 'string' ? cells[i] || null : null
  } catch {
    return null
  }
}

const messageOf = (errs: FieldError[], name: (path: string) => string): string =>
  errs.map((e) => (e.field ? `${name(e.field)}: ${e.message}` : e.message)).join('; ')

/**
 * The Api Log ("community settings"): the community's import jobs, newest first, in doors.md's
 * shape `{_id, communityId, type, fileName, status, totalRows, succeeded, failed, errors: [{row,
 * email, message}], createdAt, finishedAt}`, then Rollcall's own counts. Row errors name fields by
 * the file's own column names. Jobs are read through the job service, never the store.
 */
export const returningApiLogRoutes = (s: Services) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { community } = communities(s)
  const config = { scope: 'read' as const, returningEnvelope: 'application' as const }

  async function render(dir: Directory, job: Job, errorLimit: number) {
    const c = job.counts
    const name = columnNamer(job)
    const failedRows = c.failed > 0 ? await s.jobs.results(job, { status: 'failed', limit: errorLimit }) : []
    const errors: { row: number | null; email: string | null; message: string }[] = failedRows.map((r) => ({
      row: r.line ?? r.index + 1,
      email: emailOf(job, r),
      message: messageOf(r.errors, name),
    }))
    // A job that failed as a whole (a file with a header but no rows, …) says why, in the same list.
    if (job.error) errors.unshift({ row: null, email: null, message: job.error })
    return {
      _id: job.id,
      communityId: communityIdOf(dir),
      type: job.options.mode === 'update' ? 'bulk-update' : 'bulk-import',
      fileName: job.options.fileName ?? null,
      status: STATUS_OUT[job.state],
      totalRows: job.total,
      succeeded: c.created + c.updated + c.unchanged,
      failed: c.failed,
      errors,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
      processedRows: c.processed,
      created: c.created,
      updated: c.updated,
      unchanged: c.unchanged,
      error: job.error,
      channel: job.options.channel ?? 'native',
    }
  }

  const base = '/apis/v1/communities/:communityId/api-logs'

  app.get(
    base,
    {
      config,
      schema: {
        operationId: 'returningApiLog',
        tags: ['returning'],
        summary: "Returning.AI: the community's Api Log (its bulk update and import jobs, newest first)",
        params: Type.Object({ communityId: Id }),
        querystring: Type.Object(
          {
            status: Type.Optional(Type.String({ enum: [...STATUSES] })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      const limit = req.query.limit ?? 20
      const status = req.query.status as (typeof STATUSES)[number] | undefined
      const jobs = await s.jobs.list(dir, {
        state: status && STATE_IN[status],
        limit,
        beforeCreatedAt: req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor),
      })
      const data = []
      for (const job of jobs) data.push(await render(dir, job, LIST_ERRORS))
      return {
        meta: { status: 'success', statusCode: 200 },
        message: 'Get api logs successful',
        data,
        next_cursor: jobs.length === limit ? encodeCursor(jobs[jobs.length - 1].createdAt) : null,
      }
    },
  )

  app.get(
    `${base}/:logId`,
    {
      config,
      schema: {
        operationId: 'returningApiLogEntry',
        tags: ['returning'],
        summary: 'Returning.AI: one Api Log entry (a bulk update or import job) with up to 1,000 row errors',
        params: Type.Object({ communityId: Id, logId: Id }),
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      const job = await s.jobs.get(principalOf(req), req.params.logId).catch((e: unknown) => {
        if (e instanceof RollcallError && e.code === 'not_found') return null
        throw e
      })
      if (!job || job.directoryId !== dir.id) throw new RollcallError('not_found', `No api log '${req.params.logId}' in this community`)
      return { meta: { status: 'success', statusCode: 200 }, message: 'Get api log successful', data: await render(dir, job, ONE_ERRORS) }
    },
  )
}
