import { createHash } from 'node:crypto'
import { isRollcallError } from '../../core/errors.js'
import { isPlainObject } from '../../core/merge.js'
import type { Group, Json, JsonObject } from '../../core/types.js'
import { canonicalResource, resolvePath } from './scim-attributes.js'
import { GROUP_KIND, LIMITS, URN } from './scim-constants.js'
import { scimError } from './scim-errors.js'
import { matchesFilter, resourceResolver, validateFilter } from './scim-filter-eval.js'
import { parseAttrPath, type ScimFilter } from './scim-filter.js'
import { checkIfMatch, type ScimScope } from './scim-http.js'
import { applyPatch, type PatchOperation } from './scim-patch.js'

/**
 * SCIM Groups ↔ Rollcall groups of kind `group` (other doors' documents, folders and teams stay
 * out of SCIM's sight). Members are users of the directory; nested groups are not supported.
 *
 * Rollcall groups carry no version, so a group's ETag is a hash of what SCIM sees of it (name,
 * externalId, members): any change a client could observe changes it.
 */
export interface GroupState {
  group: Group
  members: string[]
}

const notFound = (id: string) => scimError.notFound(`No Group '${id}' in this directory`)

export function groupEtag(s: GroupState): string {
  const h = createHash('sha1')
    .update(JSON.stringify([s.group.name, s.group.externalId, [...s.members].sort()]))
    .digest('hex')
  return `W/"${h.slice(0, 16)}"`
}

export function groupResource(s: GroupState, base: string): JsonObject {
  const { group: g } = s
  return {
    schemas: [URN.group],
    id: g.id,
    externalId: g.externalId,
    displayName: g.name,
    members: s.members.map((id) => ({ value: id, $ref: `${base}/Users/${id}`, type: 'User' })),
    meta: {
      resourceType: 'Group',
      created: g.createdAt,
      lastModified: g.updatedAt,
      location: `${base}/Groups/${g.id}`,
      version: groupEtag(s),
    },
  }
}

export async function readGroup(scope: ScimScope, id: string): Promise<GroupState> {
  try {
    const group = await scope.services.groups.get(scope.dir, id)
    if (group.kind !== GROUP_KIND) throw notFound(id)
    return { group, members: await scope.services.groups.members(scope.dir, id) }
  } catch (e) {
    if (isRollcallError(e) && e.code === 'not_found') throw notFound(id)
    throw e
  }
}

/** What a Group resource asks for: a name, maybe an externalId, and member ids. */
interface Desired {
  name: string
  externalId: string | null | undefined
  members: string[]
}

function desired(res: JsonObject): Desired {
  const name = res.displayName
  if (typeof name !== 'string' || name.trim() === '') throw scimError.invalidValue('displayName is required and must be a non-empty string')
  if (name.length > 255) throw scimError.invalidValue('displayName must be at most 255 characters')
  const ext = res.externalId
  if (ext !== undefined && ext !== null && (typeof ext !== 'string' || ext === '' || ext.length > 255))
    throw scimError.invalidValue('externalId must be a non-empty string of at most 255 characters')
  const members: string[] = []
  for (const m of Array.isArray(res.members) ? res.members : []) {
    if (!isPlainObject(m) || typeof m.value !== 'string') throw scimError.invalidValue('each member needs a "value": the id of a User')
    if (typeof m.type === 'string' && m.type.toLowerCase() === 'group')
      throw scimError.invalidValue('nested groups are not supported: members must be Users')
    members.push(m.value)
  }
  return { name, externalId: ext as string | null | undefined, members: [...new Set(members)] }
}

function canonicalGroup(scope: ScimScope, body: unknown): JsonObject {
  if (!isPlainObject(body)) throw scimError.invalidSyntax('The body must be a Group object')
  return canonicalResource(scope.groups, body)
}

/** Member ids that are not users of the directory: an error before anything is written. */
async function checkMembers(scope: ScimScope, ids: string[]): Promise<void> {
  if (ids.length === 0) return
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  const valid = ids.filter((id) => uuid.test(id))
  const found = new Set<string>()
  for (let i = 0; i < valid.length; i += 500) {
    const chunk = valid.slice(i, i + 500)
    const r = await scope.services.users.search(scope.dir, {
      filter: { op: 'in', field: { column: 'id' }, values: chunk, caseExact: true },
      offset: 0,
      limit: chunk.length,
    })
    for (const u of r.items) found.add(u.id)
  }
  const missing = ids.filter((id) => !found.has(id))
  if (missing.length) throw scimError.invalidValue(`members: no User ${missing.map((m) => `'${m}'`).join(', ')} in this directory`)
}

const taken = (name: string) => scimError.uniqueness(`displayName: a Group named '${name}' already exists`)

async function nameTaken(scope: ScimScope, name: string, except?: string): Promise<boolean> {
  const same = await scope.services.groups.list(scope.dir, { kind: GROUP_KIND, name, limit: 2 })
  return same.some((g) => g.id !== except)
}

export async function createGroup(scope: ScimScope, body: unknown): Promise<GroupState> {
  const want = desired(canonicalGroup(scope, body))
  await checkMembers(scope, want.members)
  let group: Group
  try {
    group = await scope.services.groups.create(scope.dir, { name: want.name, kind: GROUP_KIND, externalId: want.externalId ?? null })
  } catch (e) {
    if (isRollcallError(e) && e.code === 'conflict') throw taken(want.name)
    throw e
  }
  if (want.members.length) await scope.services.groups.addMembers(scope.dir, group.id, want.members)
  return readGroup(scope, group.id)
}

/** Makes a group what `want` says: members first (checked before any write), the name last. */
async function reconcile(scope: ScimScope, cur: GroupState, want: Desired): Promise<GroupState> {
  const id = cur.group.id
  if (want.externalId !== undefined && want.externalId !== cur.group.externalId)
    throw scimError.mutability("A Group's externalId is set when it is created and cannot change")
  const before = new Set(cur.members)
  const after = new Set(want.members)
  const added = want.members.filter((m) => !before.has(m))
  const removed = cur.members.filter((m) => !after.has(m))
  const renamed = want.name !== cur.group.name
  if (renamed && (await nameTaken(scope, want.name, id))) throw taken(want.name)
  await checkMembers(scope, added)
  if (added.length) await scope.services.groups.addMembers(scope.dir, id, added)
  if (removed.length) await scope.services.groups.removeMembers(scope.dir, id, removed)
  if (renamed) {
    try {
      await scope.services.groups.rename(scope.dir, id, want.name)
    } catch (e) {
      if (isRollcallError(e) && e.code === 'conflict') throw taken(want.name)
      throw e
    }
  }
  return readGroup(scope, id)
}

export async function replaceGroup(scope: ScimScope, id: string, body: unknown, ifMatch?: string): Promise<GroupState> {
  const cur = await readGroup(scope, id)
  checkIfMatch(ifMatch, groupEtag(cur))
  const res = canonicalGroup(scope, body)
  if (typeof res.id === 'string' && res.id !== id) throw scimError.mutability(`id is read-only: the body says '${res.id}', the URL '${id}'`)
  return reconcile(scope, cur, desired(res))
}

export async function patchGroup(scope: ScimScope, id: string, ops: PatchOperation[], ifMatch?: string): Promise<GroupState> {
  const cur = await readGroup(scope, id)
  checkIfMatch(ifMatch, groupEtag(cur))
  const patched = applyPatch(groupResource(cur, scope.base), ops, scope.groups)
  return reconcile(scope, cur, desired(patched))
}

export async function deleteGroup(scope: ScimScope, id: string, ifMatch?: string): Promise<void> {
  const cur = await readGroup(scope, id)
  checkIfMatch(ifMatch, groupEtag(cur))
  await scope.services.groups.remove(scope.dir, id)
}

/** `attr eq "value"` on a top-level attribute: the filters the store answers directly. */
function equality(f: ScimFilter | null, scope: ScimScope): { attr: string; value: string } | null {
  if (!f || f.type !== 'cmp' || f.op !== 'eq' || typeof f.value !== 'string') return null
  const r = resolvePath(scope.groups, f.path)
  return r && !r.sub && r.container === null ? { attr: r.attr.name, value: f.value } : null
}

function refersToMembers(f: ScimFilter | null): boolean {
  if (!f) return false
  switch (f.type) {
    case 'and':
    case 'or':
      return refersToMembers(f.left) || refersToMembers(f.right)
    case 'not':
      return refersToMembers(f.filter)
    default:
      return f.path.name.toLowerCase() === 'members'
  }
}

/** The groups a list asks for, filtered and sorted; members are read for the page only (or all, to filter on them). */
export async function findGroups(
  scope: ScimScope,
  q: { filter: ScimFilter | null; sortBy?: string; descending: boolean; startIndex: number; count: number; withMembers: boolean },
): Promise<{ items: GroupState[]; total: number }> {
  if (q.filter) validateFilter(q.filter, resourceResolver(scope.groups))
  const eq = equality(q.filter, scope)
  let groups: Group[]
  if (eq?.attr === 'id') {
    groups = await readGroup(scope, eq.value).then(
      (s) => [s.group],
      (e) => {
        if (e instanceof Error && (e as { status?: number }).status === 404) return []
        throw e
      },
    )
  } else if (eq?.attr === 'externalId') {
    groups = await scope.services.groups.list(scope.dir, { kind: GROUP_KIND, externalId: eq.value, limit: 2 })
  } else {
    // displayName compares case-insensitively, so an exact lookup that misses still scans.
    const exact =
      eq?.attr === 'displayName' ? await scope.services.groups.list(scope.dir, { kind: GROUP_KIND, name: eq.value, limit: 2 }) : []
    groups = exact.length ? exact : await scope.services.groups.list(scope.dir, { kind: GROUP_KIND, limit: LIMITS.groupScan + 1 })
    if (groups.length > LIMITS.groupScan)
      throw scimError.tooMany(
        400,
        `This directory has more than ${LIMITS.groupScan} groups: filter with displayName eq, externalId eq or id eq`,
      )
  }
  groups = groups.filter((g) => g.kind === GROUP_KIND)
  const needAll = refersToMembers(q.filter)
  let states: GroupState[] = await Promise.all(
    groups.map(async (group) => ({ group, members: needAll ? await scope.services.groups.members(scope.dir, group.id) : [] })),
  )
  if (q.filter) {
    const resolve = resourceResolver(scope.groups)
    const f = q.filter
    states = states.filter((s) => matchesFilter(f, groupResource(s, scope.base), resolve))
  }
  if (q.sortBy) states = sortGroups(scope, states, q.sortBy, q.descending)
  const total = states.length
  const page = states.slice(q.startIndex - 1, q.startIndex - 1 + q.count)
  if (q.withMembers && !needAll) for (const s of page) s.members = await scope.services.groups.members(scope.dir, s.group.id)
  return { items: page, total }
}

function sortGroups(scope: ScimScope, states: GroupState[], sortBy: string, descending: boolean): GroupState[] {
  const p = parseAttrPath(sortBy.trim())
  const r = p && resolvePath(scope.groups, p)
  const key: Record<string, (s: GroupState) => Json> = {
    id: (s) => s.group.id,
    externalId: (s) => s.group.externalId,
    displayName: (s) => s.group.name.toLowerCase(),
    'meta.created': (s) => s.group.createdAt,
    'meta.lastModified': (s) => s.group.updatedAt,
  }
  const get = r && key[r.sub ? `${r.attr.name}.${r.sub.name}` : r.attr.name]
  if (!get) throw scimError.invalidValue(`sortBy: '${sortBy}' cannot be sorted on`)
  const dir = descending ? -1 : 1
  return [...states].sort((a, b) => {
    const x = get(a)
    const y = get(b)
    if (x === y) return 0
    if (x === null) return 1
    if (y === null) return -1
    return (x < y ? -1 : 1) * dir
  })
}
