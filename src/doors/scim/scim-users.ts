import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { isPlainObject } from '../../core/merge.js'
import type { Json } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { scimError } from './scim-errors.js'
import { parseFilter } from './scim-filter.js'
import { etagMatches, header, listResponse, pageOf, param, type ScimScope, scopeOf, send } from './scim-http.js'
import { parsePatchBody } from './scim-patch.js'
import { parseProjection, type Projection } from './scim-projection.js'
import { renderUser } from './scim-render.js'
import { userEtag } from './scim-user-mapping.js'
import { createUsers, deleteUser, getUser, single, updateUsers } from './scim-user-ops.js'
import { userFilterOf, userSortOf } from './scim-user-query.js'

export const IdParams = Type.Object({ id: Type.String() })
/** Names are matched case-insensitively by the handlers, so the schema only documents them. */
export const ListQuery = Type.Object(
  {
    filter: Type.Optional(Type.String({ description: 'RFC 7644 filter, e.g. userName eq "ada@example.com"' })),
    startIndex: Type.Optional(Type.String({ description: '1-based index of the first result' })),
    count: Type.Optional(Type.String({ description: 'Page size (at most maxResults)' })),
    sortBy: Type.Optional(Type.String()),
    sortOrder: Type.Optional(Type.String({ description: 'ascending or descending' })),
    attributes: Type.Optional(Type.String({ description: 'Comma-separated attributes to return' })),
    excludedAttributes: Type.Optional(Type.String({ description: 'Comma-separated attributes to leave out' })),
  },
  { additionalProperties: true },
)
export const ProjectionQuery = Type.Object(
  { attributes: Type.Optional(Type.String()), excludedAttributes: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/** The parameters of a list, from a query string or a SearchRequest body (RFC 7644 §3.4.3). */
export interface ListParams {
  filter?: string
  startIndex?: unknown
  count?: unknown
  sortBy?: string
  sortOrder?: string
  attributes?: unknown
  excludedAttributes?: unknown
}

export function listParamsOf(source: unknown): ListParams {
  const get = (n: string) => param(source, n)
  const raw = (n: string): unknown => {
    if (!isPlainObject(source)) return undefined
    const key = Object.keys(source).find((k) => k.toLowerCase() === n.toLowerCase())
    return key === undefined ? undefined : source[key]
  }
  return {
    filter: get('filter'),
    startIndex: raw('startIndex'),
    count: raw('count'),
    sortBy: get('sortBy'),
    sortOrder: get('sortOrder'),
    attributes: raw('attributes'),
    excludedAttributes: raw('excludedAttributes'),
  }
}

async function listUsers(scope: ScimScope, q: ListParams): Promise<Json> {
  const page = pageOf(q.startIndex, q.count)
  const filter = q.filter !== undefined ? userFilterOf(parseFilter(q.filter), scope.users, scope.schemas.definitions) : undefined
  const sort = q.sortBy ? userSortOf(q.sortBy, q.sortOrder, scope.users, scope.schemas.definitions) : undefined
  const projection = parseProjection(scope.users, q.attributes, q.excludedAttributes)
  const r = await scope.services.users.search(scope.dir, { filter, sort, offset: page.startIndex - 1, limit: page.count })
  const resources = []
  for (const u of r.items) resources.push(await renderUser(scope, u, projection, true))
  return listResponse(resources, r.total, page.startIndex)
}

const projectionOf = (scope: ScimScope, req: FastifyRequest): Projection =>
  parseProjection(scope.users, param(req.query, 'attributes'), param(req.query, 'excludedAttributes'))

const location = (scope: ScimScope, id: string) => `${scope.base}/Users/${id}`

/** /Users: every route reads its directory from the key (scim-http.ts `scopeOf`). */
export function userRoutes(services: Services, prefix: string) {
  return async (app: FastifyInstance): Promise<void> => {
    const scope = (req: FastifyRequest) => scopeOf(services, req, prefix)
    const tags = ['scim']

    app.get(
      '/Users',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimListUsers', tags, summary: 'List or filter users', querystring: ListQuery },
      },
      async (req, reply) => send(reply, 200, await listUsers(await scope(req), listParamsOf(req.query))),
    )

    app.post(
      '/Users/.search',
      { config: { scope: 'read' }, schema: { operationId: 'scimSearchUsers', tags, summary: 'List or filter users (SearchRequest body)' } },
      async (req, reply) => {
        if (!isPlainObject(req.body)) throw scimError.invalidSyntax('The body must be a SearchRequest object')
        return send(reply, 200, await listUsers(await scope(req), listParamsOf(req.body)))
      },
    )

    app.post(
      '/Users',
      {
        config: { scope: 'write' },
        schema: { operationId: 'scimCreateUser', tags, summary: 'Create a user', querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const user = single((await createUsers(s, [req.body]))[0])
        return send(reply, 201, await renderUser(s, user, projectionOf(s, req)), { location: location(s, user.id), etag: userEtag(user) })
      },
    )

    app.get(
      '/Users/:id',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimGetUser', tags, summary: 'Get a user', params: IdParams, querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const { id } = req.params as { id: string }
        const user = await getUser(s, id)
        const etag = userEtag(user)
        if (etagMatches(header(req, 'if-none-match'), etag)) return send(reply, 304, undefined, { etag })
        return send(reply, 200, await renderUser(s, user, projectionOf(s, req)), { location: location(s, id), etag })
      },
    )

    app.put(
      '/Users/:id',
      {
        config: { scope: 'write' },
        schema: { operationId: 'scimReplaceUser', tags, summary: 'Replace a user', params: IdParams, querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const { id } = req.params as { id: string }
        const user = single((await updateUsers(s, [{ id, kind: 'put', body: req.body, ifMatch: header(req, 'if-match') }]))[0])
        return send(reply, 200, await renderUser(s, user, projectionOf(s, req)), { location: location(s, id), etag: userEtag(user) })
      },
    )

    app.patch(
      '/Users/:id',
      {
        config: { scope: 'write' },
        schema: { operationId: 'scimPatchUser', tags, summary: 'Change a user (PatchOp)', params: IdParams, querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const { id } = req.params as { id: string }
        const ops = parsePatchBody(req.body)
        const user = single((await updateUsers(s, [{ id, kind: 'patch', ops, ifMatch: header(req, 'if-match') }]))[0])
        return send(reply, 200, await renderUser(s, user, projectionOf(s, req)), { location: location(s, id), etag: userEtag(user) })
      },
    )

    app.delete(
      '/Users/:id',
      { config: { scope: 'write' }, schema: { operationId: 'scimDeleteUser', tags, summary: 'Delete a user', params: IdParams } },
      async (req, reply) => {
        const s = await scope(req)
        await deleteUser(s, (req.params as { id: string }).id, header(req, 'if-match'))
        return send(reply, 204, undefined)
      },
    )
  }
}
