import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isPlainObject } from '../../core/merge.js'
import type { Json } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { scimError } from './scim-errors.js'
import { parseFilter } from './scim-filter.js'
import { createGroup, deleteGroup, findGroups, groupEtag, patchGroup, readGroup, replaceGroup } from './scim-group-ops.js'
import { etagMatches, header, listResponse, pageOf, param, type ScimScope, scopeOf, send } from './scim-http.js'
import { parsePatchBody } from './scim-patch.js'
import { excludes, parseProjection, type Projection } from './scim-projection.js'
import { renderGroup } from './scim-render.js'
import { IdParams, type ListParams, listParamsOf, ListQuery, ProjectionQuery } from './scim-users.js'

async function listGroups(scope: ScimScope, q: ListParams): Promise<Json> {
  const page = pageOf(q.startIndex, q.count)
  const projection = parseProjection(scope.groups, q.attributes, q.excludedAttributes)
  const order = q.sortOrder?.toLowerCase()
  if (order !== undefined && order !== 'ascending' && order !== 'descending')
    throw scimError.invalidValue(`sortOrder must be "ascending" or "descending", got "${q.sortOrder}"`)
  const r = await findGroups(scope, {
    filter: q.filter !== undefined ? parseFilter(q.filter) : null,
    sortBy: q.sortBy,
    descending: order === 'descending',
    startIndex: page.startIndex,
    count: page.count,
    // excludedAttributes=members (what Entra ID asks for) spares reading every member list.
    withMembers: !excludes(projection, null, 'members'),
  })
  return listResponse(
    r.items.map((s) => renderGroup(scope, s, projection)),
    r.total,
    page.startIndex,
  )
}

const projectionOf = (scope: ScimScope, req: FastifyRequest): Projection =>
  parseProjection(scope.groups, param(req.query, 'attributes'), param(req.query, 'excludedAttributes'))

/** Whether the client asked for a body back from a PATCH (otherwise 204: member lists can be long). */
const wantsBody = (req: FastifyRequest) =>
  param(req.query, 'attributes') !== undefined || param(req.query, 'excludedAttributes') !== undefined

const location = (scope: ScimScope, id: string) => `${scope.base}/Groups/${id}`

/** /Groups. */
export function groupRoutes(services: Services, prefix: string) {
  return async (app: FastifyInstance): Promise<void> => {
    const scope = (req: FastifyRequest) => scopeOf(services, req, prefix)
    const tags = ['scim']
    const idOf = (req: FastifyRequest) => (req.params as { id: string }).id

    app.get(
      '/Groups',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimListGroups', tags, summary: 'List or filter groups', querystring: ListQuery },
      },
      async (req, reply) => send(reply, 200, await listGroups(await scope(req), listParamsOf(req.query))),
    )

    app.post(
      '/Groups/.search',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimSearchGroups', tags, summary: 'List or filter groups (SearchRequest body)' },
      },
      async (req, reply) => {
        if (!isPlainObject(req.body)) throw scimError.invalidSyntax('The body must be a SearchRequest object')
        return send(reply, 200, await listGroups(await scope(req), listParamsOf(req.body)))
      },
    )

    app.post(
      '/Groups',
      {
        config: { scope: 'write' },
        schema: { operationId: 'scimCreateGroup', tags, summary: 'Create a group', querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const g = await createGroup(s, req.body)
        return send(reply, 201, renderGroup(s, g, projectionOf(s, req)), { location: location(s, g.group.id), etag: groupEtag(g) })
      },
    )

    app.get(
      '/Groups/:id',
      {
        config: { scope: 'read' },
        schema: { operationId: 'scimGetGroup', tags, summary: 'Get a group', params: IdParams, querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const g = await readGroup(s, idOf(req))
        const etag = groupEtag(g)
        if (etagMatches(header(req, 'if-none-match'), etag)) return send(reply, 304, undefined, { etag })
        return send(reply, 200, renderGroup(s, g, projectionOf(s, req)), { location: location(s, g.group.id), etag })
      },
    )

    app.put(
      '/Groups/:id',
      {
        config: { scope: 'write' },
        schema: { operationId: 'scimReplaceGroup', tags, summary: 'Replace a group', params: IdParams, querystring: ProjectionQuery },
      },
      async (req, reply) => {
        const s = await scope(req)
        const g = await replaceGroup(s, idOf(req), req.body, header(req, 'if-match'))
        return send(reply, 200, renderGroup(s, g, projectionOf(s, req)), { location: location(s, g.group.id), etag: groupEtag(g) })
      },
    )

    app.patch(
      '/Groups/:id',
      {
        config: { scope: 'write' },
        schema: {
          operationId: 'scimPatchGroup',
          tags,
          summary: 'Change a group: rename, add or remove members',
          params: IdParams,
          querystring: ProjectionQuery,
        },
      },
      async (req, reply) => {
        const s = await scope(req)
        const g = await patchGroup(s, idOf(req), parsePatchBody(req.body), header(req, 'if-match'))
        const headers = { location: location(s, g.group.id), etag: groupEtag(g) }
        return wantsBody(req) ? send(reply, 200, renderGroup(s, g, projectionOf(s, req)), headers) : send(reply, 204, undefined, headers)
      },
    )

    app.delete(
      '/Groups/:id',
      { config: { scope: 'write' }, schema: { operationId: 'scimDeleteGroup', tags, summary: 'Delete a group', params: IdParams } },
      async (req, reply) => {
        const s = await scope(req)
        await deleteGroup(s, idOf(req), header(req, 'if-match'))
        return send(reply, 204, undefined)
      },
    )
  }
}
