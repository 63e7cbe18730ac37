import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { JsonObject } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { LIMITS, URN } from './scim-constants.js'
import { ScimError, scimError } from './scim-errors.js'
import { listResponse, param, type ScimScope, scopeOf, send } from './scim-http.js'
import { renderSchema } from './scim-schema.js'

/**
 * Discovery (RFC 7644 §4): what the door supports, with the limits it really enforces, and the
 * directory's schemas, custom fields included. Behind the same key as the rest: the schemas
 * describe one directory, which only the key names.
 */
function serviceProviderConfig(base: string): JsonObject {
  return {
    schemas: [URN.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: LIMITS.bulkMaxOperations, maxPayloadSize: LIMITS.bulkMaxPayloadBytes },
    filter: { supported: true, maxResults: LIMITS.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A Rollcall API key limited to one directory, sent as "Authorization: Bearer <key>"',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  }
}

function resourceTypes(base: string): JsonObject[] {
  return [
    {
      schemas: [URN.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: URN.user,
      schemaExtensions: [
        { schema: URN.enterprise, required: false },
        { schema: URN.fields, required: false },
      ],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [URN.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: URN.group,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ]
}

const schemasOf = (s: ScimScope) =>
  [s.schemas.user, s.schemas.enterprise, s.schemas.fields, s.schemas.group].map((x) => renderSchema(x, s.base))

/** §4: a filter on these endpoints would suggest matching that is not done, so it is refused. */
function refuseFilter(req: FastifyRequest): void {
  if (param(req.query, 'filter') !== undefined) throw new ScimError(403, 'Discovery endpoints do not support filter')
}

export function discoveryRoutes(services: Services, prefix: string) {
  return async (app: FastifyInstance): Promise<void> => {
    const scope = (req: FastifyRequest) => scopeOf(services, req, prefix)
    const tags = ['scim']
    const byId = { params: Type.Object({ id: Type.String() }) }

    app.get(
      '/ServiceProviderConfig',
      { config: { scope: 'read' }, schema: { operationId: 'scimServiceProviderConfig', tags, summary: 'Features and limits' } },
      async (req, reply) => {
        refuseFilter(req)
        return send(reply, 200, serviceProviderConfig((await scope(req)).base))
      },
    )

    app.get(
      '/ResourceTypes',
      { config: { scope: 'read' }, schema: { operationId: 'scimResourceTypes', tags, summary: 'User and Group' } },
      async (req, reply) => {
        refuseFilter(req)
        const types = resourceTypes((await scope(req)).base)
        return send(reply, 200, listResponse(types, types.length, 1))
      },
    )

    app.get(
      '/ResourceTypes/:id',
      { config: { scope: 'read' }, schema: { operationId: 'scimResourceType', tags, summary: 'One resource type', ...byId } },
      async (req, reply) => {
        const { id } = req.params as { id: string }
        const found = resourceTypes((await scope(req)).base).find((t) => String(t.id).toLowerCase() === id.toLowerCase())
        if (!found) throw scimError.notFound(`No resource type '${id}'`)
        return send(reply, 200, found)
      },
    )

    app.get(
      '/Schemas',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimSchemas', tags, summary: "Core, enterprise and the directory's custom-field schemas" },
      },
      async (req, reply) => {
        refuseFilter(req)
        const all = schemasOf(await scope(req))
        return send(reply, 200, listResponse(all, all.length, 1))
      },
    )

    app.get(
      '/Schemas/:id',
      { config: { scope: 'read' }, schema: { operationId: 'scimSchema', tags, summary: 'One schema', ...byId } },
      async (req, reply) => {
        const { id } = req.params as { id: string }
        const found = schemasOf(await scope(req)).find((s) => String(s.id).toLowerCase() === id.toLowerCase())
        if (!found) throw scimError.notFound(`No schema '${id}'`)
        return send(reply, 200, found)
      },
    )
  }
}
