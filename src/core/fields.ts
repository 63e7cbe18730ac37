import { RollcallError } from './errors.js'
import type { FieldDefinition, FieldInput, FieldType, WritableField } from './types.js'

/**
 * Built-in field definitions: the fixed user columns, described with the same vocabulary as
 * custom fields so the schema endpoint, validation and the console see one list.
 */
interface BuiltIn {
  key: WritableField
  label: string
  type: FieldType
  maxLength: number | null
  pattern: string | null
}

/** Usernames: no whitespace or control characters (doors may be stricter). */
export const USERNAME_PATTERN = '^[^\\s\\u0000-\\u001f]+$'
/** Phone numbers: digits with the usual separators and an optional leading `+`. */
export const PHONE_PATTERN = '^\\+?[0-9][0-9 ().\\-]{1,31}$'
/** BCP 47-ish locale tags: `en`, `en-US`, `pt_BR`, `zh-Hant-TW`. */
export const LOCALE_PATTERN = '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$'

const BUILT_INS: BuiltIn[] = [
  { key: 'externalId', label: 'External ID', type: 'string', maxLength: 255, pattern: null },
  { key: 'email', label: 'Email', type: 'email', maxLength: 320, pattern: null },
  { key: 'emailVerifiedAt', label: 'Email verified at', type: 'datetime', maxLength: null, pattern: null },
  { key: 'phone', label: 'Phone', type: 'phone', maxLength: 32, pattern: null },
  { key: 'username', label: 'Username', type: 'string', maxLength: 255, pattern: USERNAME_PATTERN },
  { key: 'firstName', label: 'First name', type: 'string', maxLength: 255, pattern: null },
  { key: 'lastName', label: 'Last name', type: 'string', maxLength: 255, pattern: null },
  { key: 'displayName', label: 'Display name', type: 'string', maxLength: 255, pattern: null },
  { key: 'avatarUrl', label: 'Avatar URL', type: 'url', maxLength: 2048, pattern: null },
  { key: 'country', label: 'Country', type: 'country', maxLength: 2, pattern: null },
  { key: 'locale', label: 'Locale', type: 'string', maxLength: 35, pattern: LOCALE_PATTERN },
  { key: 'lastLoginAt', label: 'Last login at', type: 'datetime', maxLength: null, pattern: null },
]

export const BUILT_IN_FIELDS: readonly FieldDefinition[] = BUILT_INS.map((b) => ({
  ...b,
  required: false,
  unique: b.key === 'email' || b.key === 'username' || b.key === 'externalId',
  enumValues: null,
  builtIn: true,
  createdAt: null,
  updatedAt: null,
}))

export const BUILT_IN_KEYS: ReadonlySet<string> = new Set(BUILT_INS.map((b) => b.key))

/** Custom field keys: start with a letter, then letters, digits, `_` or `-`; at most 64. */
export const FIELD_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

/** Keys that would shadow a user property or a reserved word if used for custom fields. */
export const RESERVED_FIELD_KEYS: ReadonlySet<string> = new Set([
  ...BUILT_IN_KEYS,
  'id',
  'directoryId',
  'createdAt',
  'updatedAt',
  'loginCount',
  'version',
  'metadata',
  'fields',
  '__proto__',
  'constructor',
  'prototype',
])

/**
 * The effective field list of a directory: built-ins (with any stored overrides of label and
 * `required`) followed by custom definitions.
 */
export function effectiveFields(stored: readonly FieldDefinition[]): FieldDefinition[] {
  const overrides = new Map(stored.filter((f) => f.builtIn).map((f) => [f.key, f]))
  const builtIns = BUILT_IN_FIELDS.map((b) => {
    const o = overrides.get(b.key)
    return o ? { ...b, label: o.label, required: o.required, createdAt: o.createdAt, updatedAt: o.updatedAt } : b
  })
  return [...builtIns, ...stored.filter((f) => !f.builtIn)]
}

/** A custom field's definition from its input, with the defaults for what the input leaves out. */
export function definitionOf(input: FieldInput, now: string | null): FieldDefinition {
  return {
    key: input.key,
    label: input.label ?? input.key,
    type: input.type,
    required: input.required ?? false,
    unique: input.unique ?? false,
    maxLength: input.maxLength ?? null,
    pattern: input.pattern ?? null,
    enumValues: input.enumValues ?? null,
    builtIn: false,
    createdAt: now,
    updatedAt: now,
  }
}

/**
 * Whether a directory's field can hold what a caller needs: the same type (an integer field
 * holds numbers too, more strictly), and for an enum every wanted value.
 */
export function fieldFits(have: FieldDefinition, want: FieldInput): boolean {
  return (
    (have.type === want.type || (want.type === 'number' && have.type === 'integer')) &&
    (want.type !== 'enum' || (want.enumValues ?? []).every((v) => have.enumValues?.includes(v)))
  )
}

const describeType = (type: FieldType, values: readonly string[] | null | undefined) => `'${type}'${values ? ` (${values.join(', ')})` : ''}`

/**
 * A directory's fields (effective: built-ins first) together with the custom fields a door
 * needs (Dynamic's profile fields, Returning.AI's `xp` and `coins`, SCIM's `active`). Needed
 * fields the directory lacks come back in `pending`: rows are validated as if they were defined,
 * and the bulk engine stores them with the first batch that writes a user, so a request that
 * writes nothing (a failure, a dry run, a read) leaves the schema as it was. A field of the same
 * key and another type is a conflict, never overwritten.
 */
export function withNeededFields(stored: readonly FieldDefinition[], needs: readonly FieldInput[] = []): { fields: FieldDefinition[]; pending: FieldDefinition[] } {
  const fields = effectiveFields(stored)
  if (needs.length === 0) return { fields, pending: [] }
  const byKey = new Map(fields.map((f) => [f.key, f]))
  const pending: FieldDefinition[] = []
  for (const want of needs) {
    const have = byKey.get(want.key)
    if (!have) pending.push(definitionOf(want, null))
    else if (!fieldFits(have, want))
      throw new RollcallError(
        'conflict',
        `The directory's field '${want.key}' is of type ${describeType(have.type, have.enumValues)}; this API needs ${describeType(want.type, want.enumValues)}`,
      )
  }
  return { fields: [...fields, ...pending], pending }
}
