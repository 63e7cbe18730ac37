import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { RollcallError } from '../../core/errors.js'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { openEventStream } from '../event-stream.js'
import { decodeCursor, decodeFeedCursor, encodeCursor, encodeFeedCursor } from '../cursor.js'
import { ChangeSchema, DirParams, ListQuery, page, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }

/** The longest a change feed request waits for records (`wait`, seconds). */
export const FEED_MAX_WAIT_S = 60

const FeedItemSchema = Type.Intersect([ChangeSchema, Type.Object({ cursor: Type.String({ description: 'Resume after this record' }) })])

const FieldPath = Type.String({
  pattern: '^(metadata\\.|fields\\.)?[^\\s"]{1,200}$',
  description: 'Field path: email, metadata.tier, fields.department',
})

/** How often a change stream that has caught up looks for new records, and how long it stays quiet before it says it is alive. */
const STREAM_POLL_MS = 250
const STREAM_KEEPALIVE_MS = 15_000

export const historyRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Open change streams end when the server closes: they would otherwise hold it open forever.
    const streams = new Set<() => void>()
    app.addHook('preClose', async () => {
      for (const end of streams) end()
    })
    app.get(
      '/directories/:dir/users/:id/history',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getUserHistory',
          tags: ['history'],
          summary: "A user's changes, newest first",
          params: Type.Object({ dir: Type.String(), id: Type.String() }),
          querystring: Type.Object({ field: Type.Optional(FieldPath), ...ListQuery }, { additionalProperties: false }),
          response: { 200: page(ChangeSchema), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const r = await s.users.history(dir, {
          userId: req.params.id,
          field: req.query.field,
          beforeSeq: decodeCursor(req.query.cursor),
          limit: req.query.limit ?? 100,
        })
        return { data: r.items, nextCursor: encodeCursor(r.nextSeq) }
      },
    )

    app.get(
      '/directories/:dir/changes',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getChangeFeed',
          tags: ['history'],
          summary: "The directory's change feed: every change record after a cursor, oldest first, each once",
          description:
            'Pass the last `nextCursor` as `after` to go on: a consumer that keeps it misses no record and sees none twice, ' +
            'also while imports write. `wait` (seconds, at most 60) holds the request until a record arrives (long polling). ' +
            'A cursor whose record history retention has deleted answers 410 `cursor_expired`. ' +
            'With `Accept: text/event-stream` the answer is a stream of server-sent events instead, one `change` event per record ' +
            '(its `id` the record’s cursor, so a reconnecting EventSource resumes by `Last-Event-ID`), open until the client leaves.',
          params: DirParams,
          querystring: Type.Object(
            {
              after: Type.Optional(
                Type.String({
                  description: 'A cursor from this feed (`nextCursor` or an item’s `cursor`); without it, from the first record',
                }),
              ),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
              wait: Type.Optional(
                Type.Integer({
                  minimum: 0,
                  maximum: FEED_MAX_WAIT_S,
                  default: 0,
                  description: 'Seconds to wait for a record when there is none',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(FeedItemSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()], {
                description: 'Pass as `after` next time (the same as `after` when nothing came; null only before any record)',
              }),
            }),
            ...problems,
            410: ProblemSchema,
          },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        if (/\btext\/event-stream\b/.test(String(req.headers.accept ?? ''))) {
          // An EventSource that reconnects names the last event it received.
          const resume = req.headers['last-event-id']
          const after = decodeFeedCursor(typeof resume === 'string' && resume !== '' ? resume : req.query.after)
          // The first page before the stream opens: a bad or expired cursor is still a plain 4xx answer.
          const first = await s.users.changes(dir, after, req.query.limit ?? 1000)
          const res = openEventStream(req, reply)
          let open = true
          const end = () => {
            open = false
            res.end()
          }
          streams.add(end)
          req.raw.on('close', () => (open = false))
          let position = after
          try {
            for (let items = first; open;) {
              for (const { position: p, ...c } of items) {
                const cursor = encodeFeedCursor(p)
                if (!res.write(`id: ${cursor}\nevent: change\ndata: ${JSON.stringify({ ...c, cursor })}\n\n`))
                  await new Promise((resolve) => res.once('drain', resolve))
                position = p
              }
              // Nothing came for a while (the wait ran out): a comment, so proxies keep the connection.
              if (items.length === 0 && open) res.write(': keep-alive\n\n')
              if (open)
                items = await s.users.changes(dir, position, req.query.limit ?? 1000, {
                  waitMs: STREAM_KEEPALIVE_MS,
                  pollMs: STREAM_POLL_MS,
                  stop: () => !open,
                })
            }
          } catch (e) {
            // Said in the stream's own terms (the answer's status is sent), then closed; only a
            // known error's message goes out.
            const known = e instanceof RollcallError
            if (!known) req.log.error({ err: e }, 'change stream failed')
            const problem = known ? { code: e.code, detail: e.message } : { code: 'internal', detail: 'Internal server error' }
            if (open) res.write(`event: error\ndata: ${JSON.stringify(problem)}\n\n`)
          } finally {
            streams.delete(end)
            if (!res.writableEnded) res.end()
          }
          return reply
        }
        const after = decodeFeedCursor(req.query.after)
        const items = await s.users.changes(dir, after, req.query.limit ?? 100, {
          waitMs: (req.query.wait ?? 0) * 1000,
          stop: () => req.raw.destroyed,
        })
        const data = items.map(({ position, ...c }) => ({ ...c, cursor: encodeFeedCursor(position) }))
        return { data, nextCursor: data.length ? data[data.length - 1].cursor : (req.query.after ?? null) }
      },
    )

    app.get(
      '/directories/:dir/history',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getDirectoryHistory',
          tags: ['history'],
          summary: 'All changes in a directory, newest first; ?field= keeps those that touched one field, ?jobId= those an import made',
          params: DirParams,
          querystring: Type.Object(
            {
              field: Type.Optional(FieldPath),
              userId: Type.Optional(Type.String()),
              jobId: Type.Optional(Type.String({ description: "Only an import's changes (its id)" })),
              ...ListQuery,
            },
            { additionalProperties: false },
          ),
          response: { 200: page(ChangeSchema), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const r = await s.users.history(dir, {
          userId: req.query.userId,
          field: req.query.field,
          jobId: req.query.jobId,
          beforeSeq: decodeCursor(req.query.cursor),
          limit: req.query.limit ?? 100,
        })
        return { data: r.items, nextCursor: encodeCursor(r.nextSeq) }
      },
    )
  }
