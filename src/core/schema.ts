import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { COUNTRY_CODES } from './countries.js'
import type { FieldError } from './errors.js'
import { effectiveFields, PHONE_PATTERN } from './fields.js'
import { USER_FIELDS, type UserFieldSpec } from './user-fields.js'
import type { FieldDefinition } from './types.js'

type JsonSchema = Record<string, unknown>

/** JSON Schema pattern of text without control characters (U+0000–U+001F, U+007F): ids and keys. */
export const NO_CONTROL_PATTERN = '^[^\\u0000-\\u001f\\u007f]*$'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats)

/** JSON Schema (draft-07) of one field's value; every field accepts `null`, which clears it. */
function valueSchema(f: FieldDefinition): JsonSchema {
  const s: JsonSchema = { title: f.label }
  const str = (extra: JsonSchema = {}): JsonSchema => ({
    type: ['string', 'null'],
    ...(f.maxLength != null ? { maxLength: f.maxLength } : {}),
    ...(f.pattern != null ? { pattern: f.pattern } : {}),
    ...extra,
  })
  switch (f.type) {
    case 'string':
      return { ...s, ...str(f.builtIn && f.key === 'externalId' ? { minLength: 1 } : {}) }
    case 'email':
      return { ...s, ...str({ format: 'email' }) }
    case 'url':
      return { ...s, ...str({ format: 'uri' }) }
    case 'phone':
      return { ...s, ...str({ pattern: f.pattern ?? PHONE_PATTERN }) }
    case 'date':
      return { ...s, type: ['string', 'null'], format: 'date' }
    case 'datetime':
      return { ...s, type: ['string', 'null'], format: 'date-time' }
    case 'country':
      return { ...s, enum: [...COUNTRY_CODES, null], 'x-rollcall-type': 'country' }
    case 'enum':
      return { ...s, enum: [...(f.enumValues ?? []), null] }
    case 'number':
      return { ...s, type: ['number', 'null'] }
    case 'integer':
      // Beyond 2^53-1 a JSON number is no longer exact (9007199254740993 parses as …992): refused, not rounded.
      return { ...s, type: ['integer', 'null'], minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }
    case 'boolean':
      return { ...s, type: ['boolean', 'null'] }
    case 'json':
      return s
  }
}

/** A value schema without its `null`. */
function notNull(s: JsonSchema): JsonSchema {
  const type = Array.isArray(s.type) ? s.type.filter((t) => t !== 'null') : s.type
  return { ...s, type: Array.isArray(type) && type.length === 1 ? type[0] : type }
}

/**
 * The JSON Schema of one input row (a user patch) for a directory: built-in fields, `metadata`,
 * and the custom `fields` object. Unknown properties are errors, never silently dropped;
 * server-owned properties are rejected as read-only.
 */
export function rowJsonSchema(stored: readonly FieldDefinition[], table: readonly UserFieldSpec[] = USER_FIELDS): JsonSchema {
  const fields = effectiveFields(stored, table)
  const builtIn: Record<string, JsonSchema | boolean> = {}
  const custom: Record<string, JsonSchema> = {}
  for (const f of fields) (f.builtIn ? builtIn : custom)[f.key] = valueSchema(f)
  // A built-in with a default always holds a value (`active`): null cannot clear it.
  for (const f of table) if (f.default !== undefined && builtIn[f.key]) builtIn[f.key] = notNull(builtIn[f.key] as JsonSchema)
  // Server-owned fields are refused as read-only, but for `id`: a row may name its user by it.
  const owned: Record<string, JsonSchema | boolean> = {}
  for (const f of table) if (!f.writable) owned[f.key] = f.key === 'id' ? { title: f.label, type: 'string', format: 'uuid' } : false
  const { id, ...serverOwned } = owned
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'User',
    type: 'object',
    additionalProperties: false,
    properties: {
      ...(id === undefined ? {} : { id }),
      ...builtIn,
      metadata: { title: 'Metadata', type: ['object', 'null'] },
      fields: { title: 'Custom fields', type: ['object', 'null'], additionalProperties: false, properties: custom },
      ...serverOwned,
      directoryId: false,
    },
  }
}

// ownProperties: a custom field may be called `toString`; only the row's own keys are its values.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, verbose: true, ownProperties: true })
addFormats(ajv, ['email', 'uri', 'date', 'date-time', 'uuid'])

const cache = new Map<string, ValidateFunction>()
const CACHE_MAX = 256

export type RowValidator = (row: unknown) => FieldError[]

/** A compiled validator for a directory's rows, cached by the field definitions it was built from. */
export function compileRowValidator(stored: readonly FieldDefinition[], table: readonly UserFieldSpec[] = USER_FIELDS): RowValidator {
  const schema = rowJsonSchema(stored, table)
  const fingerprint = JSON.stringify(schema)
  let fn = cache.get(fingerprint)
  if (!fn) {
    fn = ajv.compile(schema)
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
    cache.set(fingerprint, fn)
  }
  const validate = fn
  return (row) => (validate(row) ? [] : (validate.errors ?? []).map(toFieldError))
}

function pathOf(e: ErrorObject): string {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.')
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Ajv's error → a precise, stable `{field, code, message}`. */
export function toFieldError(e: ErrorObject): FieldError {
  const path = pathOf(e)
  const p = e.params as Record<string, unknown>
  const data = (e as ErrorObject & { data?: unknown }).data
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = path ? `${path}.${String(p.additionalProperty)}` : String(p.additionalProperty)
      return { field, code: 'unknown_field', message: `unknown field '${field}'` }
    }
    case 'false schema':
      return { field: path, code: 'read_only', message: `'${path}' is set by the server and cannot be written` }
    case 'type':
      return { field: path, code: 'invalid_type', message: `must be ${String(p.type).replace(/,/g, ' or ')}` }
    case 'maxLength':
      return { field: path, code: 'too_long', message: `must be at most ${String(p.limit)} characters` }
    case 'minLength':
      return { field: path, code: 'too_short', message: `must be at least ${String(p.limit)} characters` }
    case 'pattern':
      if (p.pattern === NO_CONTROL_PATTERN)
        return { field: path, code: 'invalid_character', message: 'may not contain a control character (U+0000–U+001F, U+007F)' }
      return { field: path, code: 'invalid_format', message: `must match the pattern ${String(p.pattern)}` }
    case 'maximum':
    case 'minimum':
      // The bounds of an integer field (other bounds keep Ajv's own message).
      if (Math.abs(Number(p.limit)) === Number.MAX_SAFE_INTEGER)
        return {
          field: path,
          code: 'out_of_range',
          message: `must be ${e.keyword === 'maximum' ? 'at most' : 'at least'} ${String(p.limit)}: an integer beyond 2^53-1 cannot be kept exactly`,
        }
      return { field: path, code: 'invalid', message: e.message ?? 'is invalid' }
    case 'format': {
      const what: Record<string, string> = {
        email: 'a valid email address',
        uri: 'an absolute URL',
        date: 'a date (YYYY-MM-DD)',
        'date-time': 'an ISO 8601 date-time with a time zone',
        uuid: 'a UUID',
      }
      return { field: path, code: 'invalid_format', message: `must be ${what[String(p.format)] ?? String(p.format)}` }
    }
    case 'enum': {
      if ((e.parentSchema as JsonSchema | undefined)?.['x-rollcall-type'] === 'country')
        return { field: path, code: 'invalid_value', message: `must be an ISO 3166-1 alpha-2 country code (like "US"), got ${show(data)}` }
      const allowed = (p.allowedValues as unknown[]).filter((v) => v !== null)
      const list = allowed.length > 12 ? `one of ${allowed.length} allowed values` : `one of ${allowed.map(show).join(', ')}`
      return { field: path, code: 'invalid_value', message: `must be ${list}${data === undefined ? '' : `, got ${show(data)}`}` }
    }
    default:
      return { field: path, code: 'invalid', message: e.message ?? 'is invalid' }
  }
}
