import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { RollcallError } from '../../core/errors.js'
import type { Services } from '../../jobs/services.js'
import { nativeContext, principalOf } from '../auth.js'
import { decodeCursor, encodeCursor } from '../cursor.js'
import { DirParams, ListQuery, page, ProblemSchema, UserInputSchema, UserSchema } from '../schemas.js'
import { FieldFilterPatterns, UserFilterProperties, userFilterOf } from './user-filters.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema }
const UserParams = Type.Object({ dir: Type.String(), id: Type.String() })

const ListUsersQuery = Type.Object(
  { ...UserFilterProperties, ...ListQuery },
  { additionalProperties: false, patternProperties: FieldFilterPatterns },
)

/** `If-Match: "3"` or `W/"3"` → 3. */
function ifMatchVersion(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined
  const m = /^(?:W\/)?"(\d+)"$/.exec(String(header).trim())
  if (!m) throw new RollcallError('bad_request', 'If-Match must be the ETag of the user, like "3" or W/"3"')
  return Number(m[1])
}

const etag = (version: number) => `W/"${version}"`

export const userRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/directories/:dir/users',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'createUser',
          tags: ['users'],
          summary: 'Create a user',
          params: DirParams,
          body: UserInputSchema,
          response: { 201: UserSchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const user = await s.users.create(dir, req.body, nativeContext(req))
        return reply
          .code(201)
          .header('location', `/api/v1/directories/${dir.id}/users/${user.id}`)
          .header('etag', etag(user.version))
          .send(user)
      },
    )

    app.get(
      '/directories/:dir/users',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'listUsers',
          tags: ['users'],
          summary: 'List users, filtered, in creation order, with cursor pagination',
          params: DirParams,
          querystring: ListUsersQuery,
          response: { 200: page(UserSchema), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const result = await s.users.list(dir, {
          ...(await userFilterOf(s, dir, req.query)),
          afterSeq: decodeCursor(req.query.cursor),
          limit: req.query.limit ?? 100,
        })
        return { data: result.items, nextCursor: encodeCursor(result.nextSeq) }
      },
    )

    app.get(
      '/directories/:dir/users/:id',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getUser',
          tags: ['users'],
          summary: 'Get a user',
          params: UserParams,
          response: { 200: UserSchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const user = await s.users.get(dir, req.params.id)
        return reply.header('etag', etag(user.version)).send(user)
      },
    )

    app.patch(
      '/directories/:dir/users/:id',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'patchUser',
          tags: ['users'],
          summary: 'Change a user (JSON Merge Patch: absent keys stay, null clears); If-Match makes it conditional',
          params: UserParams,
          body: UserInputSchema,
          response: { 200: UserSchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const user = await s.users.patch(dir, req.params.id, req.body, nativeContext(req), ifMatchVersion(req.headers['if-match']))
        return reply.header('etag', etag(user.version)).send(user)
      },
    )

    app.delete(
      '/directories/:dir/users/:id',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'deleteUser',
          tags: ['users'],
          summary: 'Delete a user (its history stays)',
          params: UserParams,
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        await s.users.remove(dir, req.params.id, nativeContext(req), ifMatchVersion(req.headers['if-match']))
        return reply.code(204).send(null)
      },
    )
  }
