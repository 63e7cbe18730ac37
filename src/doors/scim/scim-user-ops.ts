import type { FieldError } from '../../core/errors.js'
import { isRollcallError } from '../../core/errors.js'
import { isPlainObject } from '../../core/merge.js'
import { isConflict } from '../../core/row-errors.js'
import type { JsonObject, UserRecord } from '../../core/types.js'
import { uf, type UserFilterExpr } from '../../core/user-filter.js'
import type { BulkRow, RowResult } from '../../engine/types.js'
import { assertsExtension, canonicalResource } from './scim-attributes.js'
import { LIMITS } from './scim-constants.js'
import { ScimError, scimError, toScimError } from './scim-errors.js'
import { checkIfMatch, type ScimScope } from './scim-http.js'
import { applyPatch, type PatchOperation } from './scim-patch.js'
import { scimAttributeOf, userEtag, userResource, userRow } from './scim-user-mapping.js'

/**
 * User writes, shared by the single-resource routes and /Bulk: each takes many items and sends
 * the rows that can go together through the bulk engine in one run, which batches them. A
 * request that fails in the door (bad body, stale If-Match) fails alone, without reaching the
 * engine; every row then stands alone in the engine too, as SCIM asks (failOnErrors aside).
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ScimError } | { ok: false; skipped: true }

export const failed = <T>(error: ScimError): Outcome<T> => ({ ok: false, error })

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const notFound = (id: string) => scimError.notFound(`No User '${id}' in this directory`)

/** A failed engine row in SCIM's terms. */
export function rowError(errors: FieldError[]): ScimError {
  const detail = errors.map((e) => `${e.field ? scimAttributeOf(e.field) : 'request'}: ${e.message}`).join('; ')
  if (errors.some((e) => e.code === 'user_not_found')) return scimError.notFound(detail)
  if (errors.some((e) => e.code === 'version_mismatch')) return scimError.preconditionFailed(detail)
  if (errors.some(isConflict))
    return scimError.uniqueness(
      errors
        .filter(isConflict)
        .map((e) => `${scimAttributeOf(e.field)}: ${e.message}`)
        .join('; '),
    )
  if (errors.some((e) => e.code === 'read_only')) return scimError.mutability(detail)
  return scimError.invalidValue(detail)
}

interface Prepared {
  index: number
  row: BulkRow
}

/**
 * Runs prepared rows through the engine in one command, filling `out` at their indexes.
 * `budget` is failOnErrors' remainder: the engine stops after that many failed rows, and the
 * rows after are reported skipped.
 */
async function runRows(
  scope: ScimScope,
  rows: Prepared[],
  mode: 'create' | 'update',
  budget: number,
  out: Outcome<UserRecord>[],
): Promise<RowResult[]> {
  if (rows.length === 0) return []
  const r = await scope.services.users.bulk(
    scope.dir,
    rows.map((p) => p.row),
    {
      mode,
      match: mode === 'create' ? ['username', 'email', 'externalId'] : ['id'],
      returnUsers: true,
      maxErrors: Number.isFinite(budget) ? budget : null,
    },
    scope.context,
  )
  r.results.forEach((res, i) => {
    const at = rows[i].index
    if (res.status === 'failed') {
      out[at] = res.errors.some((e) => e.code === 'not_processed') ? { ok: false, skipped: true } : failed(rowError(res.errors))
    } else out[at] = { ok: true, value: res.user as UserRecord }
  })
  return r.results
}

/**
 * Walks items in order, preparing each (door checks, no writes) and collecting consecutive rows
 * for one engine run; an item that fails in the door ends the run before it, so failures are
 * counted in input order, as failOnErrors needs.
 */
async function runInOrder<T>(
  scope: ScimScope,
  items: T[],
  mode: 'create' | 'update',
  maxErrors: number,
  prepare: (item: T, index: number) => Promise<Prepared> | Prepared,
): Promise<{ out: Outcome<UserRecord>[]; results: Map<number, RowResult> }> {
  const out: Outcome<UserRecord>[] = items.map(() => ({ ok: false, skipped: true }))
  const results = new Map<number, RowResult>()
  let errors = 0
  let pending: Prepared[] = []
  const flush = async () => {
    const batch = pending
    pending = []
    const rs = await runRows(scope, batch, mode, maxErrors - errors, out)
    rs.forEach((r, i) => results.set(batch[i].index, r))
    errors += batch.filter((p) => !out[p.index].ok && !('skipped' in out[p.index])).length
  }
  for (let i = 0; i < items.length && errors < maxErrors; i++) {
    try {
      pending.push(await prepare(items[i], i))
    } catch (e) {
      await flush()
      if (errors >= maxErrors) break
      out[i] = failed(toScimError(e, scimAttributeOf))
      errors++
    }
  }
  if (errors < maxErrors) await flush()
  return { out, results }
}

/** A request body as a canonical User resource; a body that is not an object is invalidSyntax. */
function canonicalUser(scope: ScimScope, body: unknown): JsonObject {
  if (!isPlainObject(body)) throw scimError.invalidSyntax('The body must be a User object')
  return canonicalResource(scope.users, body)
}

/**
 * Users whose userName is taken by a user without a username whose email reads back as that
 * userName: the engine's unique indexes cannot see this clash, so the door looks for it first.
 */
async function takenByEmailFallback(scope: ScimScope, userNames: string[], except?: string): Promise<Set<string>> {
  if (userNames.length === 0) return new Set()
  const noUsername: UserFilterExpr = uf.not({ op: 'pr', field: { column: 'username' } })
  const others: UserFilterExpr = except ? uf.not({ op: 'eq', field: { column: 'id' }, value: except, caseExact: true }) : uf.const(true)
  const filter = uf.and(noUsername, others, { op: 'in', field: { column: 'email' }, values: userNames })
  const found = await scope.services.users.search(scope.dir, { filter, offset: 0, limit: userNames.length })
  return new Set(found.items.map((u) => (u.email as string).toLowerCase()))
}

/** POST /Users, one or many: created users (201) or per-item errors. */
export async function createUsers(scope: ScimScope, bodies: unknown[], maxErrors = Infinity): Promise<Outcome<UserRecord>[]> {
  const names = bodies.flatMap((b) =>
    isPlainObject(b)
      ? Object.entries(b)
          .filter(([k, v]) => k.toLowerCase() === 'username' && typeof v === 'string')
          .map(([, v]) => v as string)
      : [],
  )
  const taken = await takenByEmailFallback(scope, names)
  const { out } = await runInOrder(scope, bodies, 'create', maxErrors, (body, index) => {
    const res = canonicalUser(scope, body)
    const { data } = userRow(res, scope.schemas, null, (urn) => assertsExtension(res, urn))
    if (typeof data.username === 'string' && taken.has(data.username.toLowerCase()))
      throw scimError.uniqueness(`userName: '${data.username}' is already the userName (email) of another user`)
    return { index, row: { data } }
  })
  return out
}

export type UpdateItem =
  { id: string; kind: 'put'; body: unknown; ifMatch?: string } | { id: string; kind: 'patch'; ops: PatchOperation[]; ifMatch?: string }

const ONE_VALUE: ReadonlySet<string> = new Set(['emails', 'phoneNumbers'])

/** Reads the users of a batch in one query. */
async function readUsers(scope: ScimScope, ids: string[]): Promise<Map<string, UserRecord>> {
  const valid = [...new Set(ids.filter((id) => UUID_RE.test(id)))]
  if (valid.length === 0) return new Map()
  const filter: UserFilterExpr = { op: 'in', field: { column: 'id' }, values: valid, caseExact: true }
  const found = await scope.services.users.search(scope.dir, { filter, offset: 0, limit: valid.length })
  return new Map(found.items.map((u) => [u.id, u]))
}

/** The row that turns `current` into what a PUT or PATCH describes. */
function updateRow(scope: ScimScope, item: UpdateItem, current: UserRecord): JsonObject {
  let res: JsonObject
  let asserts: (urn: string) => boolean
  if (item.kind === 'put') {
    res = canonicalUser(scope, item.body)
    if (typeof res.id === 'string' && res.id !== item.id)
      throw scimError.mutability(`id is read-only: the body says '${res.id}', the URL '${item.id}'`)
    asserts = (urn) => assertsExtension(res, urn)
  } else {
    res = applyPatch(userResource(current, scope.schemas, scope.base), item.ops, scope.users, { oneValue: ONE_VALUE })
    asserts = () => true
  }
  return { ...userRow(res, scope.schemas, current, asserts).data, id: item.id }
}

/** PUT and PATCH /Users/{id}, one or many: the users after (200) or per-item errors. */
export async function updateUsers(
  scope: ScimScope,
  items: UpdateItem[],
  maxErrors = Infinity,
  attempt = 1,
): Promise<Outcome<UserRecord>[]> {
  const current = await readUsers(
    scope,
    items.map((i) => i.id),
  )
  const { out, results } = await runInOrder(scope, items, 'update', maxErrors, async (item, index) => {
    const user = current.get(item.id)
    if (!user) throw notFound(item.id)
    checkIfMatch(item.ifMatch, userEtag(user))
    const data = updateRow(scope, item, user)
    if (typeof data.username === 'string' && data.username.toLowerCase() !== user.username?.toLowerCase()) {
      const taken = await takenByEmailFallback(scope, [data.username], user.id)
      if (taken.size) throw scimError.uniqueness(`userName: '${data.username}' is already the userName (email) of another user`)
    }
    // The row applies only to the version it was computed from: a concurrent change is a lost race.
    return { index, row: { data, expectedVersion: user.version } }
  })
  // Without If-Match, a user changed between the read and the write is read again and the item redone.
  if (attempt < LIMITS.patchAttempts) {
    for (const [index, r] of results) {
      if (r.status !== 'failed' || items[index].ifMatch !== undefined || !r.errors.some((e) => e.code === 'version_mismatch')) continue
      ;[out[index]] = await updateUsers(scope, [items[index]], 1, attempt + 1)
    }
  }
  return out
}

/** DELETE /Users/{id}. */
export async function deleteUser(scope: ScimScope, id: string, ifMatch?: string): Promise<void> {
  if (!UUID_RE.test(id)) throw notFound(id)
  let expected: number | undefined
  if (ifMatch !== undefined) {
    const user = (await readUsers(scope, [id])).get(id)
    if (!user) throw notFound(id)
    checkIfMatch(ifMatch, userEtag(user))
    expected = user.version
  }
  try {
    await scope.services.users.remove(scope.dir, id, scope.context, expected)
  } catch (e) {
    if (isRollcallError(e) && e.code === 'user_not_found') throw notFound(id)
    if (isRollcallError(e) && e.code === 'version_mismatch') throw scimError.preconditionFailed(e.message)
    throw e
  }
}

/** GET /Users/{id}. */
export async function getUser(scope: ScimScope, id: string): Promise<UserRecord> {
  const user = (await readUsers(scope, [id])).get(id)
  if (!user) throw notFound(id)
  return user
}

/** Unwraps a single-item outcome, throwing its error. */
export function single<T>(o: Outcome<T>): T {
  if (o.ok) return o.value
  if ('error' in o) throw o.error
  throw new ScimError(500, 'The operation was not processed')
}
