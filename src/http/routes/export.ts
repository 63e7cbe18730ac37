import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { own } from '../../core/merge.js'
import type { Directory, Json, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { MAX_LINK_SECONDS } from '../../engine/key-service.js'
import { principalOf } from '../auth.js'
import { DirParams, ProblemSchema, StringEnum } from '../schemas.js'
import { csvCell } from '../../core/csv-cell.js'
import { neutralizeFormula } from '../../core/csv-cell.js'
import { DERIVED, type UserFieldKey } from '../../core/user-fields.js'
import { FieldFilterPatterns, type UserFilter, UserFilterProperties, userFilterOf } from './user-filters.js'

/** Users read per page: memory stays flat whatever the directory's size. */
export const EXPORT_PAGE = 1000

/** The built-in columns of a CSV export, in the user's own order; then `metadata`, then `fields.<key>`. */
export const EXPORT_COLUMNS = DERIVED.exported as readonly UserFieldKey[]

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }

/** A value as a CSV cell: null is empty, JSON values are JSON text. */
function text(v: Json | undefined): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

const csvLine = (cells: string[]) => `${cells.map((c) => csvCell(neutralizeFormula(c))).join(',')}\r\n`

/** The directory's users (those the filter keeps), page by page (keyset on the creation sequence), one chunk per page. */
async function* users(s: Services, dir: Directory, filter: UserFilter): AsyncGenerator<UserRecord[]> {
  let afterSeq: number | undefined
  for (;;) {
    const page = await s.users.list(dir, { ...filter, afterSeq, limit: EXPORT_PAGE })
    if (page.items.length) yield page.items
    if (page.nextSeq === null || page.items.length === 0) return
    afterSeq = page.nextSeq
  }
}

/** CSV: the header, then one chunk per page. `custom` are the directory's custom field keys. */
export async function* exportCsv(s: Services, dir: Directory, custom: readonly string[], filter: UserFilter = {}): AsyncGenerator<string> {
  yield csvLine([...EXPORT_COLUMNS, 'metadata', ...custom.map((k) => `fields.${k}`)])
  for await (const page of users(s, dir, filter)) {
    let chunk = ''
    for (const u of page)
      chunk += csvLine([...EXPORT_COLUMNS.map((c) => text(u[c])), JSON.stringify(u.metadata), ...custom.map((k) => text(own(u.fields, k)))])
    yield chunk
  }
}

export async function* exportNdjson(s: Services, dir: Directory, filter: UserFilter = {}): AsyncGenerator<string> {
  for await (const page of users(s, dir, filter)) {
    let chunk = ''
    for (const u of page) chunk += `${JSON.stringify(u)}\n`
    yield chunk
  }
}

/** The export's query: its format and the users list's filters. */
const ExportQuery = { format: Type.Optional(StringEnum(['ndjson', 'csv'] as const, { default: 'ndjson' })), ...UserFilterProperties }

/** A signed link's own parameters (see `POST …/export/link`). */
const LinkParams = {
  keyId: Type.Optional(Type.String({ description: 'Signed link: the id of the key that signed it' })),
  expires: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$', description: 'Signed link: its expiry, in seconds since 1970' })),
  signature: Type.Optional(Type.String({ description: 'Signed link: HMAC-SHA256 of the path and the other parameters' })),
}

const fileSafe = (s: string) => s.replace(/[^\w.-]+/g, '_').slice(0, 100)

export const exportRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/directories/:dir/export',
      {
        config: { scope: 'read', signedLinks: true },
        schema: {
          operationId: 'exportUsers',
          tags: ['users'],
          summary: 'Every user of the directory, or those the filters keep (as for the users list), streamed as NDJSON (default) or CSV',
          description:
            'NDJSON: one user object per line, exactly as `GET …/users/{id}` returns it. CSV: the built-in fields, then `metadata` (JSON text), then one `fields.<key>` column per custom field definition; ' +
            'cells starting with = + - @ are prefixed with a quote against formula injection. Users are read page by page in creation order, so memory stays flat for any size; ' +
            'users created while the export runs may or may not be in it. ' +
            'Instead of the Authorization header it takes a signed link made by `POST …/export/link` (a browser can then stream the download to disk).',
          params: DirParams,
          querystring: Type.Object(
            { ...ExportQuery, ...LinkParams },
            { additionalProperties: false, patternProperties: FieldFilterPatterns },
          ),
          response: {
            200: {
              description: 'The users, streamed',
              content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
            },
            ...problems,
          },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const csv = req.query.format === 'csv'
        // Read before the 200 goes out: a failure here is still a problem+json answer.
        const custom = csv ? (await s.directories.fields(dir)).filter((f) => !f.builtIn).map((f) => f.key) : []
        const filter = await userFilterOf(s, dir, req.query)
        const body = Readable.from(csv ? exportCsv(s, dir, custom, filter) : exportNdjson(s, dir, filter))
        return (
          reply
            .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
            .header('content-disposition', `attachment; filename="users-${fileSafe(dir.externalId ?? dir.id)}.${csv ? 'csv' : 'ndjson'}"`)
            .header('cache-control', 'no-store')
            // A stream is sent as it is (never serialised); the 200 schema above only documents the text it carries.
            .send(body as unknown as string)
        )
      },
    )

    app.post(
      '/directories/:dir/export/link',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'linkUsersExport',
          tags: ['users'],
          summary: 'A short-lived signed link to this export, which a browser can open without the key',
          description:
            'Takes the query of `GET …/export` (format and filters) and answers a URL of that export signed by the calling key: ' +
            'a GET of it needs no Authorization header until `expiresAt` (`expiresIn` seconds, default 300, at most 3600). ' +
            'The link acts as the key that signed it: revoking the key voids it, and any change to its parameters makes it invalid. ' +
            'The console uses it so that a download of millions of users streams to disk instead of into the page’s memory.',
          params: DirParams,
          querystring: Type.Object(
            { ...ExportQuery, expiresIn: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LINK_SECONDS, default: 300 })) },
            { additionalProperties: false, patternProperties: FieldFilterPatterns },
          ),
          response: {
            201: Type.Object(
              {
                url: Type.String({ description: 'Path and query to GET on this server' }),
                expiresAt: Type.String({ format: 'date-time' }),
              },
              { additionalProperties: false },
            ),
            ...problems,
          },
        },
      },
      async (req, reply) => {
        const principal = principalOf(req)
        const dir = await s.directories.resolve(principal, req.params.dir)
        // Refuse now what the export would refuse (an unknown custom field, a value of the wrong type).
        await userFilterOf(s, dir, req.query)
        const params = new URLSearchParams()
        for (const [k, v] of Object.entries(req.query))
          if (k !== 'expiresIn' && (typeof v === 'string' || typeof v === 'boolean')) params.set(k, String(v))
        const link = await s.keys.signLink(
          principal,
          `/api/v1/directories/${encodeURIComponent(dir.id)}/export`,
          params,
          req.query.expiresIn ?? 300,
        )
        return reply.code(201).header('cache-control', 'no-store').send(link)
      },
    )
  }
