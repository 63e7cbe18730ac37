import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { DirParams, GroupSchema, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const GroupParams = Type.Object({ dir: Type.String(), id: Type.String() })
const Name = Type.String({ minLength: 1, maxLength: 255 })

export const groupRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    const dirOf = (req: { params: { dir: string } } & Parameters<typeof principalOf>[0]) =>
      s.directories.resolve(principalOf(req), req.params.dir)

    app.get(
      '/directories/:dir/groups',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'listGroups',
          tags: ['groups'],
          summary: 'List groups, optionally by kind or exact name',
          params: DirParams,
          querystring: Type.Object(
            {
              kind: Type.Optional(Type.String()),
              name: Type.Optional(Type.String()),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(GroupSchema) }), ...problems },
        },
      },
      async (req) => ({
        data: await s.groups.list(await dirOf(req), { kind: req.query.kind, name: req.query.name, limit: req.query.limit ?? 100 }),
      }),
    )

    app.post(
      '/directories/:dir/groups',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'createGroup',
          tags: ['groups'],
          summary: 'Create a group (names are unique per kind)',
          params: DirParams,
          body: Type.Object(
            {
              name: Name,
              kind: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' })),
              externalId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 255 }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
          response: { 201: GroupSchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await dirOf(req)
        const g = await s.groups.create(dir, req.body)
        return reply.code(201).header('location', `/api/v1/directories/${dir.id}/groups/${g.id}`).send(g)
      },
    )

    app.get(
      '/directories/:dir/users/:id/groups',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getUserGroups',
          tags: ['groups'],
          summary: 'The groups a user belongs to',
          params: Type.Object({ dir: Type.String(), id: Type.String() }),
          response: { 200: Type.Object({ data: Type.Array(GroupSchema) }), ...problems },
        },
      },
      async (req) => {
        const dir = await dirOf(req)
        await s.users.get(dir, req.params.id) // 404 for a user not in this directory
        return { data: await s.groups.ofUser(dir, req.params.id) }
      },
    )

    app.get(
      '/directories/:dir/groups/:id',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getGroup',
          tags: ['groups'],
          summary: 'Get a group with its member ids',
          params: GroupParams,
          response: { 200: Type.Evaluate(Type.Intersect([GroupSchema, Type.Object({ members: Type.Array(Type.String()) })])), ...problems },
        },
      },
      async (req) => {
        const dir = await dirOf(req)
        return { ...(await s.groups.get(dir, req.params.id)), members: await s.groups.members(dir, req.params.id) }
      },
    )

    app.patch(
      '/directories/:dir/groups/:id',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'renameGroup',
          tags: ['groups'],
          summary: 'Rename a group',
          params: GroupParams,
          body: Type.Object({ name: Name }, { additionalProperties: false }),
          response: { 200: GroupSchema, ...problems },
        },
      },
      async (req) => s.groups.rename(await dirOf(req), req.params.id, req.body.name),
    )

    app.delete(
      '/directories/:dir/groups/:id',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'deleteGroup',
          tags: ['groups'],
          summary: 'Delete a group (its users stay)',
          params: GroupParams,
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await s.groups.remove(await dirOf(req), req.params.id)
        return reply.code(204).send(null)
      },
    )

    app.post(
      '/directories/:dir/groups/:id/members',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'addGroupMembers',
          tags: ['groups'],
          summary: 'Add users to a group; all must exist in the directory, or none is added',
          params: GroupParams,
          body: Type.Object(
            { userIds: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10_000 }) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ added: Type.Array(Type.String()) }), ...problems },
        },
      },
      async (req) => ({ added: await s.groups.addMembers(await dirOf(req), req.params.id, req.body.userIds) }),
    )

    app.delete(
      '/directories/:dir/groups/:id/members/:userId',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'removeGroupMember',
          tags: ['groups'],
          summary: 'Remove a user from a group',
          params: Type.Object({ dir: Type.String(), id: Type.String(), userId: Type.String() }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await s.groups.removeMember(await dirOf(req), req.params.id, req.params.userId)
        return reply.code(204).send(null)
      },
    )
  }
