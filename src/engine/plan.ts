import type { FieldError } from '../core/errors.js'
import { uuidv7 } from '../core/ids.js'
import { hasControlChar, inputProblems, metadataKeyProblems } from '../core/input-guard.js'
import { isPlainObject, own } from '../core/merge.js'
import type { RowValidator } from '../core/schema.js'
import type { ChangeContext, FieldDefinition, MatchKey, UserRecord } from '../core/types.js'
import { type ApplyOptions, applyPatch, blankUser, type FieldOp, type UserPatch } from '../core/user-patch.js'
import { type BatchWrite, type ChangeWrite, changeWrite, type UserLookup } from '../store/store.js'
import type { BulkOptions, BulkRow, RowResult } from './types.js'
import { normEmail } from '../core/normalize.js'
import { type UniqueKey, USER_LOOKUPS } from '../core/user-fields.js'

/** A row after validation: either a patch ready to plan, or its errors. */
export interface PreparedRow {
  index: number
  patch: UserPatch | null
  ops?: Record<string, FieldOp>
  errors: FieldError[]
  expectedVersion?: number | null
}

/** The unique built-ins other than the id, each of which a batch indexes its users by. */
const SECONDARY_KEYS = USER_LOOKUPS.filter((l) => l.key !== 'id')
const folded = (l: { folded: boolean }, v: string): string => (l.folded ? (normEmail(v) as string) : v)

/** Keys a row may not hold control characters in (what JSON Schema's patterns cannot say). */
const NO_CONTROL_KEYS = ['id', 'externalId'] as const

/** True when an object has no own key (without building the list of its keys). */
function hasNoKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false
  return true
}

/**
 * Validates one input row against the directory's schema: every error of the row, not only the
 * first. A valid row allocates no more than its PreparedRow and an empty error list.
 */
export function prepareRow(row: BulkRow, index: number, validate: RowValidator): PreparedRow {
  const errors: FieldError[] = row.errors?.length ? [...row.errors] : []
  const data = row.data
  if (!isPlainObject(data)) {
    errors.push({ field: '', code: 'invalid_type', message: 'a row must be a JSON object' })
    return { index, patch: null, errors }
  }
  if (!row.ops && errors.length === 0 && hasNoKeys(data)) {
    errors.push({ field: '', code: 'empty_row', message: 'the row sets no field' })
  }
  // Checked before the schema: the schema's validator walks the value, which must be sane first.
  const unsafe = inputProblems(data)
  if (unsafe.length) return { index, patch: null, errors: [...errors, ...unsafe] }
  const invalid = validate(data)
  if (invalid.length) errors.push(...invalid)
  const badKeys = metadataKeyProblems(data.metadata)
  if (badKeys.length) errors.push(...badKeys)
  for (const k of NO_CONTROL_KEYS) {
    const v = data[k]
    if (typeof v === 'string' && hasControlChar(v))
      errors.push({ field: k, code: 'invalid_character', message: `'${k}' may not contain a control character (U+0000–U+001F, U+007F)` })
  }
  return { index, patch: errors.length ? null : (data as UserPatch), ops: row.ops, errors, expectedVersion: row.expectedVersion }
}

/** The ids rows choose for users they may create (doors that allow a client id). */
export function clientIds(rows: PreparedRow[]): string[] {
  const ids = new Set<string>()
  for (const r of rows) if (typeof r.patch?.id === 'string') ids.add(r.patch.id)
  return [...ids]
}

/** Custom fields whose values must be unique in the directory. */
export const uniqueCustomKeys = (definitions: readonly FieldDefinition[]): string[] =>
  definitions.filter((d) => d.unique && !d.builtIn).map((d) => d.key)

/** Everything a batch must read, as one lookup: match values and the unique values rows set. */
export function lookupFor(rows: PreparedRow[], uniqueFields: readonly string[] = []): UserLookup {
  const lookup: UserLookup = {}
  for (const { key } of USER_LOOKUPS) {
    const values = new Set<string>()
    for (const r of rows) {
      const v = r.patch?.[key]
      if (typeof v === 'string') values.add(v)
    }
    lookup[key] = [...values]
  }
  const fields: Record<string, (string | number)[]> = {}
  for (const key of uniqueFields) {
    const values = new Set<string | number>()
    for (const r of rows) {
      const v = r.patch?.fields?.[key]
      if (typeof v === 'string' || typeof v === 'number') values.add(v)
    }
    if (values.size) fields[key] = [...values]
  }
  lookup.fields = fields
  return lookup
}

/**
 * The unique values a lookup names, each as `key NUL value` (case-folded where the field is): two
 * batches that share none of them (nor any value of the users they read and write, addUserNames)
 * touch no user in common.
 */
export function lookupNames(lookup: UserLookup): Set<string> {
  const names = new Set<string>()
  for (const l of USER_LOOKUPS) for (const v of lookup[l.key] ?? []) names.add(`${l.key}\u0000${folded(l, v)}`)
  for (const [key, values] of Object.entries(lookup.fields ?? {})) for (const v of values) names.add(`fields.${key}\u0000${String(v)}`)
  return names
}

/** Adds every unique value `users` hold to `names`, spelled as lookupNames spells them. */
export function addUserNames(names: Set<string>, users: Iterable<UserRecord>, uniqueFields: readonly string[]): void {
  for (const u of users) {
    for (const l of USER_LOOKUPS) {
      const v = u[l.key]
      if (typeof v === 'string') names.add(`${l.key}\u0000${folded(l, v)}`)
    }
    for (const key of uniqueFields) {
      const v = own(u.fields, key)
      if (v != null) names.add(`fields.${key}\u0000${String(v)}`)
    }
  }
}

/** The users of a batch as they evolve row by row, findable by every unique key. */
class BatchState {
  private byId = new Map<string, UserRecord>()
  /** Per secondary unique key: its value (case-folded where the field is) → user id. */
  private keys = SECONDARY_KEYS.map((l) => ({ ...l, index: new Map<string, string>() }))
  /** Users as they were read, by id: the expected version of an update. */
  readonly loaded = new Map<string, UserRecord>()
  /** Users written by this batch, in first-touch order. */
  readonly touched = new Map<string, UserRecord>()

  /** Unique custom field → JSON of the value → user id. */
  private custom = new Map<string, Map<string, string>>()

  constructor(
    existing: UserRecord[],
    readonly uniqueFields: readonly string[],
  ) {
    for (const k of uniqueFields) this.custom.set(k, new Map())
    for (const u of existing) {
      this.loaded.set(u.id, u)
      this.put(u)
    }
  }

  find(key: UniqueKey, value: string): UserRecord | undefined {
    if (key === 'id') return this.byId.get(value)
    for (const k of this.keys) {
      if (k.key !== key) continue
      const id = k.index.get(folded(k, value))
      return id === undefined ? undefined : this.byId.get(id)
    }
    return undefined
  }

  /** The user holding `value` in unique custom field `key`. */
  findByField(key: string, value: unknown): UserRecord | undefined {
    const id = this.custom.get(key)?.get(JSON.stringify(value))
    return id === undefined ? undefined : this.byId.get(id)
  }

  put(u: UserRecord): void {
    const old = this.byId.get(u.id)
    if (old) {
      for (const k of this.keys) {
        const v = old[k.key]
        if (v != null) k.index.delete(folded(k, v))
      }
      for (const [k, m] of this.custom) if (own(old.fields, k) != null) m.delete(JSON.stringify(old.fields[k]))
    }
    this.byId.set(u.id, u)
    for (const k of this.keys) {
      const v = u[k.key]
      if (v != null) k.index.set(folded(k, v), u.id)
    }
    for (const [k, m] of this.custom) if (own(u.fields, k) != null) m.set(JSON.stringify(u.fields[k]), u.id)
  }
}

export interface PlannedBatch {
  results: RowResult[]
  write: BatchWrite
  failures: number
}

export interface PlanContext {
  directoryId: string
  definitions: readonly FieldDefinition[]
  options: BulkOptions
  context: ChangeContext
  now: string
  /** How many more failures are allowed before the run stops (Infinity without maxErrors). */
  errorBudget: number
  /**
   * The users named so far in this input (match key and value → first row index), across
   * batches: a row naming a user an earlier row named gets a warning, and so does the earlier row.
   * An index at or after the row's own is not an earlier row: it was set by an earlier plan of the batch.
   */
  seen: { get(key: string): number | undefined; set(key: string, index: number): void }
  /** Told when a row names the same user as an earlier one. */
  onDuplicate: (earlier: number, later: number, field: string) => void
  /** Client-chosen ids already held by users of other directories: ids are unique across the service. */
  takenIds?: ReadonlySet<string>
}

const fail = (index: number, errors: FieldError[], userId: string | null = null): RowResult => ({
  index,
  status: 'failed',
  userId,
  changedFields: [],
  errors,
})

export const notProcessed = (index: number, maxErrors: number): RowResult =>
  fail(index, [{ field: '', code: 'not_processed', message: `not processed: the run stopped after ${maxErrors} failed rows (maxErrors)` }])

/**
 * Plans one batch against the users it read: per row, in input order, created / updated /
 * unchanged / failed, each row applied on top of the rows before it. Pure: writes nothing.
 */
export function planBatch(rows: PreparedRow[], existing: UserRecord[], ctx: PlanContext): PlannedBatch {
  const { options, definitions, now } = ctx
  const state = new BatchState(existing, uniqueCustomKeys(definitions))
  const results: RowResult[] = []
  const changes: ChangeWrite[] = []
  const applyOpts: ApplyOptions = { metadata: options.metadata, now }
  let failures = 0

  for (const row of rows) {
    if (failures >= ctx.errorBudget) {
      results.push(notProcessed(row.index, options.maxErrors ?? 0))
      failures++
      continue
    }
    const r = planRow(row)
    if (r.status === 'failed') failures++
    results.push(r)
  }

  function planRow(row: PreparedRow): RowResult {
    if (!row.patch) return fail(row.index, row.errors)
    const patch = row.patch
    let matchKey: MatchKey | undefined
    for (const k of options.match)
      if (typeof patch[k] === 'string') {
        matchKey = k
        break
      }
    const target = matchKey ? state.find(matchKey, patch[matchKey] as string) : undefined
    let warnings: FieldError[] | undefined
    if (matchKey) {
      const v = patch[matchKey] as string
      const key = `${matchKey}\u0000${matchKey === 'email' || matchKey === 'username' ? v.toLowerCase() : v}`
      const earlier = ctx.seen.get(key)
      // A row at or after this one named it first only in an earlier plan of this batch (it lost a race and is planned again).
      if (earlier === undefined || earlier >= row.index) ctx.seen.set(key, row.index)
      else {
        warnings = [
          { field: matchKey, code: 'duplicate_in_input', message: `row ${earlier} names the same user; this row applies on top of it` },
        ]
        ctx.onDuplicate(earlier, row.index, matchKey)
      }
    }
    const result = planMatched(row, patch, matchKey, target)
    if (warnings) result.warnings = [...(result.warnings ?? []), ...warnings]
    return result
  }

  function planMatched(row: PreparedRow, patch: UserPatch, matchKey: MatchKey | undefined, target: UserRecord | undefined): RowResult {
    if (options.mode !== 'create' && !matchKey) {
      const keys = options.match.map((k) => `'${k}'`).join(' or ')
      return fail(row.index, [{ field: options.match[0], code: 'missing_match_key', message: `the row has no ${keys} to match a user by` }])
    }
    if (options.mode === 'create' && target) {
      return fail(
        row.index,
        [{ field: matchKey as string, code: 'user_exists', message: `a user with this ${matchKey} already exists` }],
        target.id,
      )
    }
    if (options.mode === 'update' && !target) {
      return fail(row.index, [{ field: matchKey as string, code: 'user_not_found', message: `no user with this ${matchKey}` }])
    }

    let before: UserRecord
    const errors: FieldError[] = []
    if (target) {
      before = target
      if (row.expectedVersion === null)
        return fail(
          row.index,
          [{ field: 'version', code: 'version_mismatch', message: 'the user exists now; it did not when the row was planned' }],
          target.id,
        )
      if (row.expectedVersion !== undefined && row.expectedVersion !== target.version)
        return fail(
          row.index,
          [{ field: 'version', code: 'version_mismatch', message: `the user is at version ${target.version}, not ${row.expectedVersion}` }],
          target.id,
        )
      if (patch.id !== undefined && patch.id !== target.id)
        errors.push({ field: 'id', code: 'read_only', message: 'a user id cannot be changed' })
    } else {
      if (typeof row.expectedVersion === 'number')
        return fail(row.index, [{ field: 'version', code: 'version_mismatch', message: 'the user no longer exists' }])
      if (patch.id !== undefined && !options.allowClientId)
        return fail(row.index, [
          {
            field: 'id',
            code: matchKey === 'id' ? 'user_not_found' : 'read_only',
            message: matchKey === 'id' ? 'no user with this id (ids are assigned by the server)' : 'ids are assigned by the server',
          },
        ])
      // Never says where the id is used: that would reveal another directory's user.
      if (patch.id !== undefined && ctx.takenIds?.has(patch.id))
        return fail(row.index, [
          {
            field: 'id',
            code: 'not_unique',
            message: `id '${patch.id}' is already taken (user ids are unique across the service); choose another or leave it out`,
          },
        ])
      before = blankUser(patch.id ?? uuidv7(), ctx.directoryId, now)
    }

    // The id is not a writable field: applyPatch leaves it alone.
    const applied = applyPatch(before, patch, definitions, row.ops ? { ...applyOpts, ops: row.ops } : applyOpts)
    errors.push(...applied.errors)
    for (const { key: k } of USER_LOOKUPS) {
      const v = applied.after[k]
      if (typeof v !== 'string' || !(k in applied.changes || (k === 'id' && !target))) continue
      const owner = state.find(k, v)
      if (owner && owner.id !== applied.after.id)
        errors.push({ field: k, code: 'not_unique', message: `${k} '${v}' is already used by user ${owner.id}` })
    }
    for (const k of state.uniqueFields) {
      const v = own(applied.after.fields, k)
      if (v == null || !(`fields.${k}` in applied.changes)) continue
      const owner = state.findByField(k, v)
      if (owner && owner.id !== applied.after.id)
        errors.push({
          field: `fields.${k}`,
          code: 'not_unique',
          message: `fields.${k} ${JSON.stringify(v)} is already used by user ${owner.id}`,
        })
    }
    if (errors.length) return fail(row.index, errors, target?.id ?? null)

    const changedFields = Object.keys(applied.changes)
    const result: RowResult = {
      index: row.index,
      status: !target ? 'created' : changedFields.length ? 'updated' : 'unchanged',
      userId: applied.after.id,
      changedFields,
      errors: [],
    }
    if (options.dryRun) {
      result.changes = applied.changes
      result.baseVersion = target ? target.version : null
    }
    if (options.returnUsers) result.user = result.status === 'unchanged' ? before : applied.after
    if (result.status === 'unchanged') return result

    state.put(applied.after)
    state.touched.set(applied.after.id, applied.after)
    changes.push(changeWrite(ctx.context, applied.after.id, target ? 'update' : 'create', now, applied.changes))
    return result
  }

  const write: BatchWrite = { directoryId: ctx.directoryId, inserts: [], updates: [], changes }
  for (const [id, user] of state.touched) {
    const loaded = state.loaded.get(id)
    if (loaded) write.updates.push({ user, expectedVersion: loaded.version, before: loaded })
    else write.inserts.push(user)
  }
  return { results, write, failures }
}
