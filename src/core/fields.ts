import { RollcallError } from './errors.js'
import type { FieldDefinition, FieldInput, FieldType } from './types.js'
import { USER_FIELDS, type UserFieldSpec } from './user-fields.js'

export { LOCALE_PATTERN, PHONE_PATTERN, USERNAME_PATTERN } from './user-fields.js'

/**
 * Built-in field definitions: the writable user columns of the table (core/user-fields.ts),
 * described with the same vocabulary as custom fields so the schema endpoint, validation and the
 * console see one list.
 */
export function builtInDefinitions(table: readonly UserFieldSpec[]): FieldDefinition[] {
  return table
    .filter((f) => f.writable)
    .map((f) => ({
      key: f.key,
      label: f.label,
      type: f.type,
      required: false,
      unique: f.unique,
      maxLength: f.maxLength,
      pattern: f.pattern,
      enumValues: null,
      builtIn: true,
      createdAt: null,
      updatedAt: null,
    }))
}

export const BUILT_IN_FIELDS: readonly FieldDefinition[] = builtInDefinitions(USER_FIELDS)

/** The writable built-ins' keys. */
export const BUILT_IN_KEYS: ReadonlySet<string> = new Set(BUILT_IN_FIELDS.map((b) => b.key))

/** Custom field keys: start with a letter, then letters, digits, `_` or `-`; at most 64. */
export const FIELD_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

/** Keys that would shadow a user property or a reserved word if used for custom fields. */
export const RESERVED_FIELD_KEYS: ReadonlySet<string> = new Set([
  ...USER_FIELDS.map((f) => f.key),
  'directoryId',
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
export function effectiveFields(stored: readonly FieldDefinition[], table: readonly UserFieldSpec[] = USER_FIELDS): FieldDefinition[] {
  const overrides = new Map(stored.filter((f) => f.builtIn).map((f) => [f.key, f]))
  const builtIns = (table === USER_FIELDS ? BUILT_IN_FIELDS : builtInDefinitions(table)).map((b) => {
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

const describeType = (type: FieldType, values: readonly string[] | null | undefined) =>
  `'${type}'${values ? ` (${values.join(', ')})` : ''}`

/**
 * A directory's fields (effective: built-ins first) together with the custom fields a door
 * needs (Dynamic's profile fields, Returning.AI's `xp` and `coins`, SCIM's `active`). Needed
 * fields the directory lacks come back in `pending`: rows are validated as if they were defined,
 * and the bulk engine stores them with the first batch that writes a user, so a request that
 * writes nothing (a failure, a dry run, a read) leaves the schema as it was. A field of the same
 * key and another type is a conflict, never overwritten.
 */
export function withNeededFields(
  stored: readonly FieldDefinition[],
  needs: readonly FieldInput[] = [],
): { fields: FieldDefinition[]; pending: FieldDefinition[] } {
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
