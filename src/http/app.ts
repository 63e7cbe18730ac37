import { randomUUID } from 'node:crypto'
import helmet from '@fastify/helmet'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Services } from '../jobs/services.js'
import type { WebhookService } from '../jobs/webhooks.js'
import { bearerAuth } from './auth.js'
import { clientErrorHandler, registerBodyIdleTimeout, registerHostGuard } from './hardening.js'
import { registerIdempotency } from './idempotency.js'
import { useJsonBodyParser } from './json-body.js'
import { registerNulGuard } from './nul-guard.js'
import { type Metrics, registerRequestMetrics } from './metrics.js'
import { errorHandler, notFoundHandler } from './problem.js'
import { bulkRoutes } from './routes/bulk.js'
import { directoryRoutes } from './routes/directories.js'
import { exportRoutes } from './routes/export.js'
import { fieldRoutes } from './routes/fields.js'
import { groupRoutes } from './routes/groups.js'
import { historyRoutes } from './routes/history.js'
import { importRoutes } from './routes/imports.js'
import { webhookRoutes } from './routes/webhooks.js'
import { keyRoutes } from './routes/keys.js'
import { opsRoutes } from './routes/ops.js'
import { userRoutes } from './routes/users.js'

type AddFormats = (ajv: Ajv, formats?: string[]) => Ajv
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats)

export interface HttpAppDeps {
  services: Services
  metrics: Metrics
  webhooks: WebhookService
  config: Readonly<Config>
  /** The process's logger (the composition root makes it). */
  log: FastifyBaseLogger
}

/** Headers that carry secrets in any door; redacted from every log line. */
const SECRET_HEADERS = ['authorization', 'x-api-key', 'x-velt-api-key', 'x-velt-auth-token', 'cookie']

/**
 * Bodies are validated strictly (no type coercion: a number sent as a string is an error);
 * query strings and paths are text, so there numbers and booleans are coerced.
 */
function validatorCompiler() {
  const opts = { allErrors: true, strict: false, useDefaults: true, removeAdditional: false } as const
  const body = addFormats(new Ajv({ ...opts, coerceTypes: false }))
  const text = addFormats(new Ajv({ ...opts, coerceTypes: 'array' }))
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? body : text).compile(schema)
}

/**
 * The HTTP app without listening and without the vendor doors: the native API, its hooks (auth,
 * idempotency, hardening, metrics) and the API reference. The composition root (src/app/) adds the
 * doors and the worker; tests inject into the result, `rollcall serve` listens.
 */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const { services, metrics, webhooks, config } = deps
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: config.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
    },
    ajv: { customOptions: { coerceTypes: false } },
    // Requests Node's parser refuses (431, a malformed request line) still get problem+json.
    clientErrorHandler,
    // A missing Host is refused by the host guard (problem+json), not by Node (an empty 400).
    http: { requireHostHeader: false },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler())
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  // JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain')
  useJsonBodyParser(app, ['application/json', 'application/merge-patch+json'])
  // Security headers on every answer (helmet's defaults: nosniff, a CSP, frame and referrer policies…),
  // first of the hooks so that early answers (401, 404, errors) carry them too. /docs sets its own CSP.
  await app.register(helmet, { global: true })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  registerBodyIdleTimeout(app, config.bodyIdleTimeoutMs)
  registerHostGuard(app)
  app.addHook('onRequest', bearerAuth(services.keys))
  registerNulGuard(app)
  registerIdempotency(app, services.idempotency)
  registerRequestMetrics(app, metrics)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Rollcall API',
        version: '1',
        description:
          'Self-hosted user directory built for changing many users at once. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A Rollcall API key' },
          // Vendor doors authenticate with their vendor's headers (docs/doors/*.md).
          oneofnoneApiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description: 'A Rollcall key secret, limited to one directory (the app)',
          },
          veltApiKey: { type: 'apiKey', in: 'header', name: 'x-velt-api-key', description: 'The id of a Rollcall key' },
          veltAuthToken: { type: 'apiKey', in: 'header', name: 'x-velt-auth-token', description: "That key's secret" },
        },
      },
      security: [{ bearer: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })

  await app.register(opsRoutes(services, metrics))
  await app.register(
    async (api) => {
      await api.register(directoryRoutes(services))
      await api.register(userRoutes(services))
      await api.register(bulkRoutes(services, { maxRows: config.bulkMaxRows, maxBytes: config.bulkMaxBytes }, metrics))
      await api.register(fieldRoutes(services))
      await api.register(historyRoutes(services))
      await api.register(groupRoutes(services))
      await api.register(importRoutes(services, services.jobs, config.importMaxBytes))
      await api.register(webhookRoutes(services, webhooks))
      await api.register(exportRoutes(services))
      await api.register(keyRoutes(services))
    },
    { prefix: '/api/v1' },
  )
  return app
}

/**
 * What pino removes from every log line: the secret headers, and a signed link's signature from
 * the request's URL (the rest of the URL stays, so the line still says what was asked).
 */
export const LOG_REDACTION = {
  paths: [...SECRET_HEADERS.map((h) => `req.headers["${h}"]`), 'req.url'],
  censor: (value: unknown, path: string[]): unknown =>
    path.at(-1) === 'url' ? (typeof value === 'string' ? value.replace(/([?&]signature=)[^&]*/g, '$1[redacted]') : value) : '[redacted]',
}
