import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../jobs/services.js'
import { useJsonBodyParser } from '../../http/json-body.js'
import type { Door } from '../door.js'
import { parseBulkRequest, runBulkRequest } from './scim-bulk.js'
import { LIMITS, SCIM_MEDIA_TYPE } from './scim-constants.js'
import { discoveryRoutes } from './scim-discovery.js'
import { ScimError, toScimError } from './scim-errors.js'
import { groupRoutes } from './scim-groups.js'
import { scopeOf, send } from './scim-http.js'
import { scimAttributeOf } from './scim-user-mapping.js'
import { userRoutes } from './scim-users.js'

/**
 * The SCIM 2.0 door (RFC 7643, RFC 7644) at /scim/v2: discovery, Users, Groups and Bulk over
 * the core's services, for identity providers (Okta, Microsoft Entra ID) to provision a
 * directory. See docs/scim.md for what it supports and how to connect a provider.
 *
 * Authentication is the app's own bearer hook (routes declare their scope); the directory is
 * the one the key is limited to. Every error, the app's own included (auth, body limits,
 * malformed JSON), leaves as a SCIM error body.
 */
function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let e = toScimError(err, scimAttributeOf)
  if (e.status === 413 && !(err instanceof ScimError) && req.routeOptions.url?.endsWith('/Bulk'))
    e = new ScimError(
      413,
      `The body is over maxPayloadSize (${LIMITS.bulkMaxPayloadBytes} bytes): split the operations into several requests`,
      'tooMany',
    )
  if (e.status >= 500) req.log.error({ err }, 'SCIM request failed')
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="rollcall"')
  return send(reply, e.status, e.body())
}

export const scimDoor: Door = (services: Services) => async (app: FastifyInstance) => {
  const prefix = app.prefix
  // RFC 7644 §3.1: requests are application/scim+json; plain JSON is accepted too.
  useJsonBodyParser(app, [SCIM_MEDIA_TYPE])
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) =>
    send(reply, 404, new ScimError(404, `No SCIM endpoint ${req.method} ${req.url.split('?')[0]}`).body()),
  )

  await app.register(discoveryRoutes(services, prefix))
  await app.register(userRoutes(services, prefix))
  await app.register(groupRoutes(services, prefix))

  app.post(
    '/Bulk',
    {
      config: { scope: 'write' },
      bodyLimit: LIMITS.bulkMaxPayloadBytes,
      schema: { operationId: 'scimBulk', tags: ['scim'], summary: `Up to ${LIMITS.bulkMaxOperations} operations on Users and Groups` },
    },
    async (req, reply) => {
      const scope = await scopeOf(services, req, prefix)
      return send(reply, 200, await runBulkRequest(scope, parseBulkRequest(req.body)))
    },
  )

  // RFC 7644 §3.11: /Me needs a user-bound token, which Rollcall's keys are not.
  app.all('/Me', { config: { scope: 'read' }, schema: { hide: true } }, async () => {
    throw new ScimError(501, '/Me is not supported: Rollcall keys belong to a tenant, not to a user')
  })
}
