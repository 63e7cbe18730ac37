import { isPlainObject } from '../../core/merge.js'
import type { Json, JsonObject, UserRecord } from '../../core/types.js'
import { LIMITS, URN } from './scim-constants.js'
import { ScimError, scimError, toScimError } from './scim-errors.js'
import { createGroup, deleteGroup, type GroupState, groupEtag, patchGroup, replaceGroup } from './scim-group-ops.js'
import type { ScimScope } from './scim-http.js'
import { parsePatchBody } from './scim-patch.js'
import { scimAttributeOf, userEtag } from './scim-user-mapping.js'
import { createUsers, deleteUser, type Outcome, type UpdateItem, updateUsers } from './scim-user-ops.js'

/**
 * /Bulk (RFC 7644 §3.7). Operations run in an order that creates what a `bulkId:` reference
 * names before the operation that uses it (otherwise in request order); references that cannot
 * be resolved (unknown, circular, or to a failed creation) fail with 409.
 *
 * Consecutive user creations, and consecutive user replacements and patches of distinct users,
 * go through the bulk engine as one command, which writes them in batches: a thousand users in
 * one /Bulk cost a few transactions, not a thousand. Each operation still succeeds or fails
 * alone, and `failOnErrors` stops the run after that many failures, reporting only the
 * operations that were processed.
 */
type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE'

interface BulkOp {
  index: number
  method: Method
  resource: 'Users' | 'Groups'
  /** Target id for PUT/PATCH/DELETE, maybe a `bulkId:` reference until resolved. */
  id: string | null
  bulkId?: string
  version?: string
  data?: unknown
  /** bulkIds this operation refers to. */
  refs: Set<string>
}

interface OpResult {
  method: string
  bulkId?: string
  location?: string
  version?: string
  status: string
  response?: JsonObject
}

const BULK_REF = /^bulkId:(.+)$/

function refsIn(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === 'string') {
    const m = BULK_REF.exec(v)
    if (m) out.add(m[1])
  } else if (Array.isArray(v)) for (const x of v) refsIn(x, out)
  else if (isPlainObject(v)) for (const x of Object.values(v)) refsIn(x, out)
  return out
}

function substitute(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === 'string') {
    const m = BULK_REF.exec(v)
    return m && ids.has(m[1]) ? ids.get(m[1]) : v
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids))
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]))
  return v
}

const field = (o: JsonObject, name: string): unknown => o[Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name]

/** One operation of the request, checked; a malformed one throws (and fails alone). */
function parseOp(raw: unknown, index: number): BulkOp {
  if (!isPlainObject(raw)) throw scimError.invalidSyntax('an operation must be an object')
  const method = String(field(raw, 'method') ?? '').toUpperCase()
  if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw scimError.invalidSyntax('method must be POST, PUT, PATCH or DELETE')
  const path = field(raw, 'path')
  const m = typeof path === 'string' ? /^\/(Users|Groups)(?:\/([^/?#]+))?$/i.exec(path) : null
  if (!m) throw scimError.invalidSyntax('path must be /Users, /Groups, /Users/{id} or /Groups/{id}')
  const resource = m[1].toLowerCase() === 'users' ? 'Users' : 'Groups'
  const id = m[2] ? decodeURIComponent(m[2]) : null
  if (method === 'POST' && id !== null) throw scimError.invalidSyntax(`POST goes to /${resource}, not to a resource`)
  if (method !== 'POST' && id === null) throw scimError.invalidSyntax(`${method} needs the path of a resource: /${resource}/{id}`)
  const bulkId = field(raw, 'bulkId')
  if (bulkId !== undefined && (typeof bulkId !== 'string' || bulkId === ''))
    throw scimError.invalidSyntax('bulkId must be a non-empty string')
  if (method === 'POST' && bulkId === undefined) throw scimError.invalidSyntax('a POST operation needs a bulkId')
  const version = field(raw, 'version')
  const data = field(raw, 'data')
  if (method !== 'DELETE' && !isPlainObject(data)) throw scimError.invalidSyntax(`a ${method} operation needs its resource as "data"`)
  const refs = refsIn(data, new Set())
  if (id) refsIn(id, refs)
  return {
    index,
    method: method as Method,
    resource,
    id,
    bulkId: bulkId as string | undefined,
    version: typeof version === 'string' ? version : undefined,
    data,
    refs,
  }
}

/** An operation too malformed to run: it fails in its place. */
interface BadOp {
  index: number
  method: string
  error: ScimError
}

export interface BulkRequest {
  ops: (BulkOp | BadOp)[]
  failOnErrors: number
}

/** The envelope: too many operations is a 413 before anything runs. */
export function parseBulkRequest(body: unknown): BulkRequest {
  if (!isPlainObject(body)) throw scimError.invalidSyntax('The body must be a BulkRequest object')
  const schemas = body.schemas
  if (Array.isArray(schemas) && !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.bulkRequest.toLowerCase()))
    throw scimError.invalidSyntax(`A bulk body's schemas must include ${URN.bulkRequest}`)
  const ops = field(body, 'Operations')
  if (!Array.isArray(ops)) throw scimError.invalidSyntax('A BulkRequest needs an "Operations" array')
  if (ops.length > LIMITS.bulkMaxOperations)
    throw scimError.tooMany(413, `The request has ${ops.length} operations; maxOperations is ${LIMITS.bulkMaxOperations}`)
  const foe = field(body, 'failOnErrors')
  if (foe !== undefined && (typeof foe !== 'number' || !Number.isInteger(foe) || foe < 1))
    throw scimError.invalidValue('failOnErrors must be a positive integer')
  const seen = new Set<string>()
  return {
    failOnErrors: (foe as number | undefined) ?? Infinity,
    ops: ops.map((raw, i) => {
      try {
        const op = parseOp(raw, i)
        if (op.bulkId !== undefined) {
          if (seen.has(op.bulkId)) throw scimError.invalidValue(`bulkId '${op.bulkId}' is used twice`)
          seen.add(op.bulkId)
        }
        return op
      } catch (e) {
        const method = isPlainObject(raw) ? field(raw, 'method') : undefined
        return { index: i, method: typeof method === 'string' ? method.toUpperCase() : 'POST', error: toScimError(e) }
      }
    }),
  }
}

/** Creators first: the lowest-index operation whose references are all created before it. Unresolvable ones are left out. */
function executionOrder(ops: BulkOp[]): { order: BulkOp[]; unresolved: Map<BulkOp, string> } {
  const creator = new Map(ops.filter((o) => o.method === 'POST' && o.bulkId).map((o) => [o.bulkId as string, o]))
  const unresolved = new Map<BulkOp, string>()
  for (const o of ops) {
    const unknown = [...o.refs].find((r) => !creator.has(r))
    if (unknown !== undefined) unresolved.set(o, `bulkId '${unknown}' is not created by any operation of this request`)
  }
  const order: BulkOp[] = []
  const done = new Set<string>()
  let left = ops.filter((o) => !unresolved.has(o))
  for (;;) {
    const next = left.find((o) => [...o.refs].every((r) => done.has(r)))
    if (!next) break
    order.push(next)
    if (next.bulkId && next.method === 'POST') done.add(next.bulkId)
    left = left.filter((o) => o !== next)
  }
  for (const o of left) unresolved.set(o, `circular bulkId references: ${[...o.refs].filter((r) => !done.has(r)).join(', ')}`)
  return { order, unresolved }
}

export async function runBulkRequest(scope: ScimScope, req: BulkRequest): Promise<JsonObject> {
  const results = new Map<number, OpResult>()
  const ids = new Map<string, string>()
  const failedIds = new Set<string>()
  let errors = 0
  const budget = () => req.failOnErrors - errors
  const loc = (resource: string, id: string) => `${scope.base}/${resource}/${id}`

  const fail = (index: number, method: string, e: ScimError, extra: Partial<OpResult> = {}) => {
    results.set(index, { method, ...extra, status: String(e.status), response: e.body() })
    errors++
  }

  const valid: BulkOp[] = []
  for (const o of req.ops) {
    if ('error' in o) {
      if (budget() > 0) fail(o.index, o.method, o.error)
    } else valid.push(o)
  }
  const { order, unresolved } = executionOrder(valid)

  /** Consecutive user operations of one kind, written by one engine run. */
  const queue: { pending: { kind: 'create' | 'update'; ops: BulkOp[] } | null } = { pending: null }

  const recordUser = (op: BulkOp, o: Outcome<UserRecord>) => {
    const base = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) }
    if (o.ok) {
      if (op.method === 'POST' && op.bulkId) ids.set(op.bulkId, o.value.id)
      results.set(op.index, {
        ...base,
        location: loc('Users', o.value.id),
        version: userEtag(o.value),
        status: op.method === 'POST' ? '201' : '200',
      })
    } else if ('error' in o) {
      if (op.bulkId && op.method === 'POST') failedIds.add(op.bulkId)
      fail(op.index, op.method, o.error, { ...base, ...(op.id ? { location: loc('Users', op.id) } : {}) })
    }
  }

  const flush = async () => {
    const group = queue.pending
    queue.pending = null
    if (!group || budget() <= 0) return
    if (group.kind === 'create') {
      const outcomes = await createUsers(
        scope,
        group.ops.map((o) => o.data),
        budget(),
      )
      group.ops.forEach((op, i) => recordUser(op, outcomes[i]))
      return
    }
    const items: UpdateItem[] = []
    const prepared: BulkOp[] = []
    for (const op of group.ops) {
      try {
        const id = op.id as string
        items.push(
          op.method === 'PUT'
            ? { id, kind: 'put', body: op.data, ifMatch: op.version }
            : { id, kind: 'patch', ops: parsePatchBody(op.data), ifMatch: op.version },
        )
        prepared.push(op)
      } catch (e) {
        // A malformed PatchOp fails alone, in its place: run what precedes it first.
        const outcomes = await updateUsers(scope, items.splice(0), budget())
        prepared.splice(0).forEach((p, i) => recordUser(p, outcomes[i]))
        if (budget() <= 0) return
        fail(op.index, op.method, toScimError(e, scimAttributeOf), { location: loc('Users', op.id as string) })
        if (budget() <= 0) return
      }
    }
    const outcomes = await updateUsers(scope, items, budget())
    prepared.forEach((p, i) => recordUser(p, outcomes[i]))
  }

  for (const op of order) {
    if (budget() <= 0) break
    // A reference to a creation still pending must wait for it.
    if (queue.pending?.kind === 'create' && queue.pending.ops.some((p) => p.bulkId && op.refs.has(p.bulkId))) await flush()
    if (budget() <= 0) break
    const badRef = [...op.refs].find((r) => failedIds.has(r))
    if (badRef !== undefined) {
      if (op.method === 'POST' && op.bulkId) failedIds.add(op.bulkId)
      fail(
        op.index,
        op.method,
        new ScimError(409, `bulkId '${badRef}' was not created: its operation failed`),
        op.bulkId ? { bulkId: op.bulkId } : {},
      )
      continue
    }
    const resolved: BulkOp = { ...op, id: op.id && (substitute(op.id, ids) as string), data: substitute(op.data, ids) }
    const kind =
      resolved.resource === 'Users' ? (resolved.method === 'POST' ? 'create' : resolved.method === 'DELETE' ? null : 'update') : null
    const open = queue.pending
    const joins = kind !== null && open !== null && open.kind === kind && (kind === 'create' || !open.ops.some((p) => p.id === resolved.id))
    if (!joins) await flush()
    if (budget() <= 0) break
    if (kind !== null) {
      queue.pending ??= { kind, ops: [] }
      queue.pending.ops.push(resolved)
      continue
    }
    await runOne(resolved)
  }
  await flush()
  for (const [op, why] of unresolved)
    if (budget() > 0) fail(op.index, op.method, new ScimError(409, why), op.bulkId ? { bulkId: op.bulkId } : {})

  async function runOne(op: BulkOp): Promise<void> {
    const base = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) }
    try {
      if (op.resource === 'Users') {
        await deleteUser(scope, op.id as string, op.version)
        results.set(op.index, { ...base, location: loc('Users', op.id as string), status: '204' })
        return
      }
      let g: GroupState
      if (op.method === 'DELETE') {
        await deleteGroup(scope, op.id as string, op.version)
        results.set(op.index, { ...base, location: loc('Groups', op.id as string), status: '204' })
        return
      }
      if (op.method === 'POST') g = await createGroup(scope, op.data)
      else if (op.method === 'PUT') g = await replaceGroup(scope, op.id as string, op.data, op.version)
      else g = await patchGroup(scope, op.id as string, parsePatchBody(op.data), op.version)
      if (op.method === 'POST' && op.bulkId) ids.set(op.bulkId, g.group.id)
      results.set(op.index, {
        ...base,
        location: loc('Groups', g.group.id),
        version: groupEtag(g),
        status: op.method === 'POST' ? '201' : '200',
      })
    } catch (e) {
      if (op.method === 'POST' && op.bulkId) failedIds.add(op.bulkId)
      fail(op.index, op.method, toScimError(e, scimAttributeOf), { ...base, ...(op.id ? { location: loc(op.resource, op.id) } : {}) })
    }
  }

  const operations: Json[] = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r as unknown as Json)
  return { schemas: [URN.bulkResponse], Operations: operations }
}
