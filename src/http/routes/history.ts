import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { decodeCursor, encodeCursor } from '../cursor.js'
import { ChangeSchema, DirParams, ListQuery, page, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const FieldPath = Type.String({
  pattern: '^(metadata\\.|fields\\.)?[^\\s"]{1,200}$',
  description: 'Field path: email, metadata.tier, fields.department',
})

export const historyRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
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
      '/directories/:dir/history',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getDirectoryHistory',
          tags: ['history'],
          summary: 'All changes in a directory, newest first; ?field= keeps those that touched one field',
          params: DirParams,
          querystring: Type.Object(
            { field: Type.Optional(FieldPath), userId: Type.Optional(Type.String()), ...ListQuery },
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
          beforeSeq: decodeCursor(req.query.cursor),
          limit: req.query.limit ?? 100,
        })
        return { data: r.items, nextCursor: encodeCursor(r.nextSeq) }
      },
    )
  }
