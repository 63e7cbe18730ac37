import type { JsonObject, UserRecord } from '../../core/types.js'
import { GROUP_KIND } from './scim-constants.js'
import { type GroupState, groupResource } from './scim-group-ops.js'
import type { ScimScope } from './scim-http.js'
import { excludes, type Projection, project } from './scim-projection.js'
import { stripEmpty, userResource } from './scim-user-mapping.js'

/** Resources in their wire form: unassigned values dropped, `attributes`/`excludedAttributes` applied. */

/**
 * One user. `groups` costs a query, so a single user carries it unless excluded, and a list
 * only when `attributes` asks for it (RFC 7643 returns it by default; lists of a thousand
 * users would pay a thousand queries).
 */
export async function renderUser(scope: ScimScope, u: UserRecord, p: Projection, inList = false): Promise<JsonObject> {
  const wantGroups = inList ? p.only !== null && !excludes(p, null, 'groups') : !excludes(p, null, 'groups')
  const groups = wantGroups ? (await scope.services.groups.ofUser(scope.dir, u.id)).filter((g) => g.kind === GROUP_KIND) : undefined
  return project(stripEmpty(userResource(u, scope.schemas, scope.base, groups)) as JsonObject, p)
}

export function renderGroup(scope: ScimScope, s: GroupState, p: Projection): JsonObject {
  return project(stripEmpty(groupResource(s, scope.base)) as JsonObject, p)
}
