import type { FieldError } from './errors.js'
import { isPlainObject, jsonEqual, mergeChanges, mergePatch, setOwn } from './merge.js'
import type { ChangeSet, FieldDefinition, Json, JsonObject, UserRecord, WritableField } from './types.js'
import { WRITABLE_FIELDS } from './types.js'
import { DERIVED, type UserWritable } from './user-fields.js'

/**
 * A canonical user patch: what every door turns its input into. Absent keys are left as they
 * are; null clears a field (validation refuses it for a field with a default, such as `active`).
 */
export type UserPatch = { [K in WritableField]?: Exclude<UserWritable[K], null> | null } & {
  id?: string
  metadata?: JsonObject | null
  fields?: JsonObject | null
}

/** Arithmetic on a numeric custom field: the patch value is the operand (Returning.AI's `_op` columns). */
export type FieldOp = 'add' | 'subtract'

export interface ApplyOptions {
  /** `merge` (RFC 7396, the default) or `replace` the whole metadata object. */
  metadata: 'merge' | 'replace'
  /** Per custom field key, an arithmetic op instead of overwriting. */
  ops?: Record<string, FieldOp>
  now: string
}

export interface Applied {
  after: UserRecord
  changes: ChangeSet
  errors: FieldError[]
}

/** A new user's writable fields: null, or the field's default (`active`: true). */
const EMPTY_WRITABLE = Object.fromEntries(WRITABLE_FIELDS.map((f) => [f, DERIVED.defaults[f] ?? null])) as UserWritable

/**
 * What a path of a new user's change-set held before the create: the field's default for a
 * built-in (`active`: true, the rest null), null for every `metadata.*` and `fields.*` key.
 * The history stores a create's change-set without these (codec.ts, changeSetText).
 */
export const createdBefore = (path: string): Json =>
  Object.hasOwn(EMPTY_WRITABLE, path) ? (EMPTY_WRITABLE[path as WritableField] as Json) : null

/** Built-in timestamp columns: PostgreSQL stores them as timestamptz, SQLite as text. */
const INSTANT_FIELDS: ReadonlySet<WritableField> = new Set(['emailVerifiedAt', 'lastLoginAt'])

/**
 * A validated date-time in the one form both engines read back (`…T10:00:00.000Z`, UTC, ms):
 * without it SQLite keeps `…T10:00:00Z` verbatim while PostgreSQL answers `.000Z`, and text
 * comparisons in SQLite filters order the two spellings of one instant differently.
 */
function instant(v: string): string {
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? v : new Date(ms).toISOString()
}

/** A new, empty user record: the "before" of a create. */
export function blankUser(id: string, directoryId: string, now: string): UserRecord {
  return {
    id,
    directoryId,
    ...EMPTY_WRITABLE,
    createdAt: now,
    updatedAt: now,
    loginCount: 0,
    version: 0,
    metadata: {},
    fields: {},
  }
}

/**
 * Applies a validated patch on top of a user and reports, per field path, what changed.
 * Pure: `before` is not modified. `after.version`/`updatedAt` move only when something changed;
 * when nothing did, `after` is `before` itself (no copy), so a caller must not modify `after`.
 */
export function applyPatch(before: UserRecord, patch: UserPatch, definitions: readonly FieldDefinition[], opts: ApplyOptions): Applied {
  // The copy is made at the first change: a row that changes nothing (most rows of a re-sent
  // export) allocates no user, and its `after` is `before` itself.
  let after: UserRecord | null = null
  const changes: ChangeSet = {}
  let changed = false
  const errors: FieldError[] = []

  for (const f of WRITABLE_FIELDS) {
    const raw = patch[f]
    if (raw === undefined) continue
    const v = typeof raw === 'string' && INSTANT_FIELDS.has(f) ? instant(raw) : raw
    if (v !== before[f]) {
      changes[f] = [before[f], v]
      changed = true
      after ??= { ...before }
      ;(after as Record<WritableField, unknown>)[f] = v
    }
  }

  // Merged only when the merge changes something (mergeChanges says so without building it).
  if (patch.metadata !== undefined && (opts.metadata === 'replace' || mergeChanges(before.metadata, patch.metadata))) {
    const next = opts.metadata === 'replace' ? (patch.metadata ?? {}) : (mergePatch(before.metadata, patch.metadata) as JsonObject)
    const metadata = isPlainObject(next) ? next : {}
    if (diffObject('metadata', before.metadata, metadata, changes)) {
      after ??= { ...before }
      after.metadata = metadata
      changed = true
    }
  }

  if (patch.fields !== undefined || opts.ops) {
    const next: JsonObject = { ...before.fields }
    for (const [key, value] of Object.entries(patch.fields ?? {})) {
      // Own properties only: a field may be called `constructor`, which every object inherits.
      const op = opts.ops && Object.hasOwn(opts.ops, key) ? opts.ops[key] : undefined
      if (op && value !== null) {
        const current = Object.hasOwn(next, key) ? next[key] : 0
        if (typeof current !== 'number' || typeof value !== 'number') {
          errors.push({ field: `fields.${key}`, code: 'invalid_operation', message: `'${op}' needs a numeric field and operand` })
          continue
        }
        const result = op === 'add' ? current + value : current - value
        const integer = definitions.some((d) => !d.builtIn && d.key === key && d.type === 'integer')
        if (!Number.isFinite(result) || (integer && !Number.isSafeInteger(result))) {
          errors.push({
            field: `fields.${key}`,
            code: 'out_of_range',
            message: `'${op}' gives ${result}, beyond what the field can hold exactly (±${Number.MAX_SAFE_INTEGER})`,
          })
          continue
        }
        setOwn(next, key, result)
      } else if (value === null) delete next[key]
      else setOwn(next, key, value)
    }
    if (diffObject('fields', before.fields, next, changes)) {
      after ??= { ...before }
      after.fields = next
      changed = true
    }
  }

  const result = after ?? before
  for (const def of definitions) {
    if (!def.required) continue
    const value = def.builtIn
      ? result[def.key as WritableField]
      : Object.hasOwn(result.fields, def.key)
        ? result.fields[def.key]
        : undefined
    if (value === null || value === undefined || value === '') {
      const field = def.builtIn ? def.key : `fields.${def.key}`
      errors.push({ field, code: 'required', message: `'${field}' is required` })
    }
  }

  if (!changed) return { after: before, changes, errors }
  const out = after ?? { ...before }
  out.version = before.version + 1
  out.updatedAt = opts.now
  return { after: out, changes, errors }
}

/** Records per top-level key of an object which values changed (`metadata.tier: [old, new]`); true when any did. */
function diffObject(prefix: string, before: JsonObject, after: JsonObject, changes: ChangeSet): boolean {
  let any = false
  for (const k of Object.keys(before)) {
    if (!Object.hasOwn(after, k)) {
      changes[`${prefix}.${k}`] = [before[k], null]
      any = true
    } else if (!jsonEqual(before[k], after[k])) {
      changes[`${prefix}.${k}`] = [before[k], after[k] as Json]
      any = true
    }
  }
  for (const k of Object.keys(after))
    if (!Object.hasOwn(before, k)) {
      changes[`${prefix}.${k}`] = [null, after[k]]
      any = true
    }
  return any
}
