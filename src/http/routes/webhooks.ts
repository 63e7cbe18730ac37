import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type TSchema, Type } from 'typebox'
import type { Services } from '../../jobs/services.js'
import type { WebhookService } from '../../jobs/webhooks.js'
import { principalOf } from '../auth.js'
import { DirParams, ProblemSchema, StringEnum } from '../schemas.js'
import { IMPORT_EVENTS, USER_EVENTS, type Webhook, type WebhookState } from '../../core/jobs.js'
import { encodeFeedCursor } from '../cursor.js'

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema }
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const EVENT_NAMES = [...USER_EVENTS, ...IMPORT_EVENTS]
const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    createdAt: Type.String(),
    events: Type.Array(StringEnum(EVENT_NAMES)),
    batchSize: Type.Integer({ description: 'user.* events per POST, at most' }),
  },
  { $id: 'Webhook' },
)
const WebhookStateSchema = Type.Evaluate(
  Type.Intersect([
    WebhookSchema,
    Type.Object({
      failures: Type.Integer({ description: 'Failed attempts in a row of the delivery now pending (0: all well)' }),
      failingSince: Nullable(Type.String()),
      nextAttemptAt: Nullable(Type.String({ description: 'When the failed delivery is tried again' })),
      lastError: Nullable(Type.String()),
      lastDeliveredAt: Nullable(Type.String()),
      position: Nullable(
        Type.String({ description: 'The change-feed cursor of the last user.* record it got (a GET …/changes?after= cursor)' }),
      ),
    }),
  ]),
)
const DeadLetterSchema = Type.Object({
  id: Type.String(),
  event: Type.String({ description: '`batch` (user.* events) or the import event' }),
  events: Type.Integer(),
  body: Type.String({ description: 'The body as it was sent (replay signs it afresh)' }),
  error: Type.String(),
  attempts: Type.Integer(),
  createdAt: Type.String(),
  replayedAt: Nullable(Type.String()),
})
const publicOf = ({ secret: _s, ...w }: Webhook) => ({
  id: w.id,
  url: w.url,
  createdAt: w.createdAt,
  events: w.events,
  batchSize: w.batchSize,
})
const stateOf = (w: WebhookState) => ({
  ...publicOf(w),
  failures: w.failures,
  failingSince: w.failingSince,
  nextAttemptAt: w.nextAttemptAt,
  lastError: w.lastError,
  lastDeliveredAt: w.lastDeliveredAt,
  position: w.feed ? encodeFeedCursor(w.feed) : null,
})
const HookParams = Type.Object({ dir: Type.String(), id: Type.String() })

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
          summary: "Register a URL to be told of the directory's events; the answer carries its signing secret, shown once",
          description:
            '`events`: any of user.created, user.updated, user.deactivated, user.deleted (or user.*) and import.completed, import.failed, import.cancelled, import.reverted, import.needs_confirmation (or import.*); default import.*. ' +
            'The webhook hears what happens from its creation on. user.* events are read from history and POSTed in batches of up to `batchSize` (default 100) as `{event: "batch", deliveryId, events: [{id, type, at, userId, changes, channel, jobId}]}`, in commit order (so in order per user); an import event alone as `{event, deliveryId, import}`. ' +
            'Every POST carries `Rollcall-Event` and `Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Deliveries are durable: a failed one is tried again with a backoff doubling up to ROLLCALL_WEBHOOK_MAX_BACKOFF_MS, nothing after it goes first, and a restart goes on where it was; after ROLLCALL_WEBHOOK_ATTEMPTS it goes to the dead letters (replayable) and the webhook goes on. ' +
            'The URL must reach a public address: loopback, private, link-local and other special-purpose addresses are refused (400 here when the host is such an address or `localhost`; at delivery for a name that resolves to one, which goes to the dead letters at once) unless the server sets ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1. Redirects are not followed: a 3xx answer is a failed attempt.',
          params: DirParams,
          body: Type.Object(
            {
              url: Type.String({ minLength: 1, maxLength: 2048 }),
              events: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 20 })),
              batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Evaluate(Type.Intersect([WebhookSchema, Type.Object({ secret: Type.String() })])), ...problems },
        },
      },
      async (req, reply) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send(await webhooks.create(dir, req.body))
      },
    )

    app.get(
      '/directories/:dir/webhooks',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'listWebhooks',
          tags: ['webhooks'],
          summary: "The directory's webhooks and where their deliveries stand (never their secrets)",
          params: DirParams,
          response: { 200: Type.Object({ data: Type.Array(WebhookStateSchema) }), ...problems },
        },
      },
      async (req) => ({ data: (await webhooks.list(await s.directories.resolve(principalOf(req), req.params.dir))).map(stateOf) }),
    )

    app.get(
      '/directories/:dir/webhooks/:id',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'getWebhook',
          tags: ['webhooks'],
          summary: 'A webhook and where its deliveries stand: failures in a row, the next attempt, the last error and delivery',
          params: HookParams,
          response: { 200: WebhookStateSchema, ...problems },
        },
      },
      async (req) => stateOf(await webhooks.get(await s.directories.resolve(principalOf(req), req.params.dir), req.params.id)),
    )

    app.get(
      '/directories/:dir/webhooks/:id/dead-letters',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'listWebhookDeadLetters',
          tags: ['webhooks'],
          summary: 'Deliveries given up after every attempt, newest first, with their bodies',
          params: HookParams,
          querystring: Type.Object(
            { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(DeadLetterSchema) }), ...problems },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        return { data: (await webhooks.deadLetters(dir, req.params.id, req.query.limit ?? 100)).map(({ webhookId: _w, ...x }) => x) }
      },
    )

    app.post(
      '/directories/:dir/webhooks/:id/dead-letters/:letter/replay',
      {
        config: { scope: 'admin' },
        schema: {
          operationId: 'replayWebhookDeadLetter',
          tags: ['webhooks'],
          summary: 'Send a dead letter again, once, now (signed afresh); the answer says whether the receiver took it',
          params: Type.Object({ dir: Type.String(), id: Type.String(), letter: Type.String() }),
          response: {
            200: Type.Object({ delivered: Type.Boolean(), reason: Type.Optional(Type.String()) }),
            ...problems,
          },
        },
      },
      async (req) => {
        const dir = await s.directories.resolve(principalOf(req), req.params.dir)
        const r = await webhooks.replay(dir, req.params.id, req.params.letter)
        return { delivered: r.delivered, ...(r.reason ? { reason: r.reason } : {}) }
      },
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
