import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import type { Metrics } from '../metrics.js'

/** Health, readiness, metrics and the OpenAPI document: public, no key. */
export const opsRoutes =
  (s: Services, metrics: Metrics): FastifyPluginAsyncTypebox =>
  async (app) => {
    const hide = { hide: true }
    app.get('/healthz', { schema: { ...hide, response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }))

    app.get('/readyz', { schema: hide }, async (_req, reply) => {
      const { ok, database } = await s.ops.readiness()
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'database unreachable', database })
    })

    app.get('/metrics', { schema: hide }, async (_req, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    )

    app.get('/openapi.json', { schema: hide }, async () => app.swagger())
  }
