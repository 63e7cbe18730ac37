import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../auth.js'
import { KeyInputSchema, KeySchema, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }

export const keyRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/keys',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'createKey',
          tags: ['keys'],
          summary: 'Create an API key; the answer carries its secret, shown this once',
          body: KeyInputSchema,
          response: { 201: Type.Evaluate(Type.Intersect([KeySchema, Type.Object({ secret: Type.String() })])), ...problems },
        },
      },
      async (req, reply) => {
        const p = principalOf(req)
        const { key, secret } = await s.keys.create(p.tenantId, req.body, p)
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({ ...key, secret })
      },
    )

    app.get(
      '/keys',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'listKeys',
          tags: ['keys'],
          summary: "The tenant's API keys (never their secrets)",
          response: { 200: Type.Object({ data: Type.Array(KeySchema) }), ...problems },
        },
      },
      async (req) => ({ data: await s.keys.list(principalOf(req).tenantId, principalOf(req)) }),
    )

    app.delete(
      '/keys/:id',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'revokeKey',
          tags: ['keys'],
          summary: 'Revoke an API key',
          params: Type.Object({ id: Type.String() }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await s.keys.revoke(principalOf(req).tenantId, req.params.id, principalOf(req))
        return reply.code(204).send(null)
      },
    )
  }
