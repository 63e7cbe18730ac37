import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { DirectoryInputSchema, DirectoryPatchSchema, DirectorySchema, DirParams, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }

export const directoryRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/directories',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'createDirectory',
          tags: ['directories'],
          summary: 'Create a directory',
          body: DirectoryInputSchema,
          response: { 201: DirectorySchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.create(principalOf(req), req.body)
        return reply.code(201).header('location', `/api/v1/directories/${dir.id}`).send(dir)
      },
    )

    app.get(
      '/directories',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'listDirectories',
          tags: ['directories'],
          summary: 'List the directories this key can see',
          response: { 200: Type.Object({ data: Type.Array(DirectorySchema) }), ...problems },
        },
      },
      async (req) => ({ data: await s.directories.list(principalOf(req)) }),
    )

    app.get(
      '/directories/:dir',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getDirectory',
          tags: ['directories'],
          summary: 'Get a directory by id or externalId',
          params: DirParams,
          response: { 200: DirectorySchema, ...problems },
        },
      },
      async (req) => s.directories.resolve(principalOf(req), req.params.dir),
    )

    app.patch(
      '/directories/:dir',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'updateDirectory',
          tags: ['directories'],
          summary: 'Rename a directory or change its externalId',
          params: DirParams,
          body: DirectoryPatchSchema,
          response: { 200: DirectorySchema, ...problems },
        },
      },
      async (req) => s.directories.update(principalOf(req), req.params.dir, req.body),
    )

    app.delete(
      '/directories/:dir',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'deleteDirectory',
          tags: ['directories'],
          summary: 'Delete a directory with all its users, fields and history',
          description:
            'Refused with 409, and nothing deleted, while one of its imports is uploading, queued, running or reverting: cancel it or wait for it to end.',
          params: DirParams,
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await s.directories.remove(principalOf(req), req.params.dir)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/directories/:dir/stats',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getDirectoryStats',
          tags: ['directories'],
          summary: 'How many users and custom fields the directory holds',
          description: 'Users are counted exactly, by one scan of an index of the directory: fast, but proportional to its size.',
          params: DirParams,
          response: {
            200: Type.Object({ users: Type.Integer(), customFields: Type.Integer() }, { additionalProperties: false }),
            ...problems,
          },
        },
      },
      async (req) => s.directories.stats(await s.directories.resolve(principalOf(req), req.params.dir)),
    )

    app.get(
      '/directories/:dir/schema',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'getDirectorySchema',
          tags: ['fields'],
          summary: "The directory's user schema as JSON Schema",
          params: DirParams,
          response: { 200: Type.Object({}, { additionalProperties: true }), ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return reply.type('application/schema+json').send(await s.directories.schema(dir))
      },
    )
  }
