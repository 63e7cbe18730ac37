import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import type { WebhookService } from '../../jobs/webhooks.js'
import { principalOf } from '../auth.js'
import { DirParams, ProblemSchema } from '../schemas.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const WebhookSchema = Type.Object({ id: Type.String(), url: Type.String(), createdAt: Type.String() }, { $id: 'Webhook' })

export const webhookRoutes =
  (s: Services, webhooks: WebhookService): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/directories/:dir/webhooks',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'createWebhook',
          tags: ['webhooks'],
          summary: 'Register a URL to be told when an import ends; the answer carries its signing secret, shown once',
          description:
            'Each delivery is a POST of `{event, deliveryId, import}` with `Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, retried with backoff (5 attempts unless ROLLCALL_WEBHOOK_ATTEMPTS says otherwise). ' +
            'The URL must reach a public address: loopback, private, link-local and other special-purpose addresses are refused (400 here when the host is such an address or `localhost`; at delivery for a name that resolves to one) unless the server sets ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1. Redirects are not followed: a 3xx answer is a failed attempt.',
          params: DirParams,
          body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
          response: { 201: Type.Evaluate(Type.Intersect([WebhookSchema, Type.Object({ secret: Type.String() })])), ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send(await webhooks.create(dir, req.body.url))
      },
    )

    app.get(
      '/directories/:dir/webhooks',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'listWebhooks',
          tags: ['webhooks'],
          summary: "The directory's webhooks (never their secrets)",
          params: DirParams,
          response: { 200: Type.Object({ data: Type.Array(WebhookSchema) }), ...problems },
        },
      },
      async (req) => ({ data: await webhooks.list(await s.directories.resolve(principalOf(req), req.params.dir)) }),
    )

    app.delete(
      '/directories/:dir/webhooks/:id',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'deleteWebhook',
          tags: ['webhooks'],
          summary: 'Remove a webhook',
          params: Type.Object({ dir: Type.String(), id: Type.String() }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await webhooks.remove(await s.directories.resolve(principalOf(req), req.params.dir), req.params.id)
        return reply.code(204).send(null)
      },
    )
  }
