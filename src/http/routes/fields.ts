import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { DirParams, FieldInputSchema, FieldPatchSchema, FieldSchema, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema }
const FieldParams = Type.Object({ dir: Type.String(), key: Type.String() })

export const fieldRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/directories/:dir/fields',
      {
        config: { scope: 'read' },
        schema: {
          operationId: 'listFields',
          tags: ['fields'],
          summary: 'Field definitions: built-in, then custom',
          params: DirParams,
          response: { 200: Type.Object({ data: Type.Array(FieldSchema) }), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return { data: await s.directories.fields(dir) }
      },
    )

    app.post(
      '/directories/:dir/fields',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'createField',
          tags: ['fields'],
          summary: 'Define a custom field',
          params: DirParams,
          body: FieldInputSchema,
          response: { 201: FieldSchema, ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const field = await s.directories.createField(dir, req.body)
        return reply.code(201).header('location', `/api/v1/directories/${dir.id}/fields/${field.key}`).send(field)
      },
    )

    app.patch(
      '/directories/:dir/fields/:key',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'updateField',
          tags: ['fields'],
          summary: 'Change a field definition (built-ins: label and required only)',
          params: FieldParams,
          body: FieldPatchSchema,
          response: { 200: FieldSchema, ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return s.directories.updateField(dir, req.params.key, req.body)
      },
    )

    app.delete(
      '/directories/:dir/fields/:key',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'deleteField',
          tags: ['fields'],
          summary: 'Delete a custom field definition (stored values stay readable)',
          params: FieldParams,
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        await s.directories.deleteField(dir, req.params.key)
        return reply.code(204).send(null)
      },
    )
  }
