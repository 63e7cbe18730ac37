/**
 * The one table of a user's built-in fields. Validation (the built-in field definitions), the
 * filters, the export, the reserved custom-field keys, the match keys and the store's columns
 * all derive from it: adding a built-in field is a row here, a migration, and its tests.
 */

export const FIELD_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'date',
  'datetime',
  'email',
  'url',
  'phone',
  'country',
  'enum',
  'json',
] as const
export type FieldType = (typeof FIELD_TYPES)[number]

/** Usernames: no whitespace or control characters (doors may be stricter). */
export const USERNAME_PATTERN = '^[^\\s\\u0000-\\u001f]+$'
/** Phone numbers: digits with the usual separators and an optional leading `+`. */
export const PHONE_PATTERN = '^\\+?[0-9][0-9 ().\\-]{1,31}$'
/** BCP 47-ish locale tags: `en`, `en-US`, `pt_BR`, `zh-Hant-TW`. */
export const LOCALE_PATTERN = '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$'

export interface UserFieldSpec {
  /** The property of a user record (and of a row, when writable). */
  key: string
  /** Its column in the `users` table. */
  column: string
  label: string
  /** Its type as a field definition; also how filters compare it (datetime, integer, else text). */
  type: FieldType
  /** A client may write it; otherwise the server owns it (DESIGN.md, "The bulk engine"). */
  writable: boolean
  /** Unique in a directory (emails and usernames ignoring case); the id is unique across the service. */
  unique: boolean
  /** A row may name its user by it (`match`). */
  matchKey: boolean
  /** A column of the CSV export. */
  exported: boolean
  maxLength: number | null
  pattern: string | null
  /**
   * The column holding its case-folded form (`normEmail`), which its unique index and lookups use;
   * absent where values compare exactly.
   */
  foldedColumn?: string
  /**
   * A new user's value. A field with one always holds a value: a row may set it but not clear it
   * (null is refused), and nothing is recorded for it when a user is created with it.
   */
  default?: boolean
}

/** In the order users are shown and exported. A table, one field per line. */
// prettier-ignore
export const USER_FIELDS = [
  { key: 'id', column: 'id', label: 'ID', type: 'string', writable: false, unique: true, matchKey: true, exported: true, maxLength: null, pattern: null },
  { key: 'externalId', column: 'external_id', label: 'External ID', type: 'string', writable: true, unique: true, matchKey: true, exported: true, maxLength: 255, pattern: null },
  { key: 'email', column: 'email', label: 'Email', type: 'email', writable: true, unique: true, matchKey: true, exported: true, maxLength: 320, pattern: null, foldedColumn: 'email_norm' },
  { key: 'emailVerifiedAt', column: 'email_verified_at', label: 'Email verified at', type: 'datetime', writable: true, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
  { key: 'phone', column: 'phone', label: 'Phone', type: 'phone', writable: true, unique: false, matchKey: false, exported: true, maxLength: 32, pattern: null },
  { key: 'username', column: 'username', label: 'Username', type: 'string', writable: true, unique: true, matchKey: true, exported: true, maxLength: 255, pattern: USERNAME_PATTERN, foldedColumn: 'username_norm' },
  { key: 'firstName', column: 'first_name', label: 'First name', type: 'string', writable: true, unique: false, matchKey: false, exported: true, maxLength: 255, pattern: null },
  { key: 'lastName', column: 'last_name', label: 'Last name', type: 'string', writable: true, unique: false, matchKey: false, exported: true, maxLength: 255, pattern: null },
  { key: 'displayName', column: 'display_name', label: 'Display name', type: 'string', writable: true, unique: false, matchKey: false, exported: true, maxLength: 255, pattern: null },
  { key: 'avatarUrl', column: 'avatar_url', label: 'Avatar URL', type: 'url', writable: true, unique: false, matchKey: false, exported: true, maxLength: 2048, pattern: null },
  { key: 'country', column: 'country', label: 'Country', type: 'country', writable: true, unique: false, matchKey: false, exported: true, maxLength: 2, pattern: null },
  { key: 'locale', column: 'locale', label: 'Locale', type: 'string', writable: true, unique: false, matchKey: false, exported: true, maxLength: 35, pattern: LOCALE_PATTERN },
  { key: 'active', column: 'active', label: 'Active', type: 'boolean', writable: true, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null, default: true },
  { key: 'createdAt', column: 'created_at', label: 'Created at', type: 'datetime', writable: false, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
  { key: 'updatedAt', column: 'updated_at', label: 'Updated at', type: 'datetime', writable: false, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
  { key: 'lastLoginAt', column: 'last_login_at', label: 'Last login at', type: 'datetime', writable: true, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
  { key: 'loginCount', column: 'login_count', label: 'Login count', type: 'integer', writable: false, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
  { key: 'version', column: 'version', label: 'Version', type: 'integer', writable: false, unique: false, matchKey: false, exported: true, maxLength: null, pattern: null },
] as const satisfies readonly UserFieldSpec[]

/** One row of the table, with its literal types. */
export type UserFieldRow = (typeof USER_FIELDS)[number]
type Spec = UserFieldRow
/** Every built-in field's key. */
export type UserFieldKey = Spec['key']
/** Built-in fields a client may write. */
export type WritableField = Extract<Spec, { writable: true }>['key']
/** Keys a row may name its user by. */
export type MatchKey = Extract<Spec, { matchKey: true }>['key']
/** Unique fields: a batch looks its users up by them. */
export type UniqueKey = Extract<Spec, { unique: true }>['key']
/** Columns of `users` the table names (a field's own, and its case-folded copy). */
export type UserFieldColumn = Spec['column'] | Extract<Spec, { foldedColumn: string }>['foldedColumn']
/** Built-in fields the server owns. */
export type ServerOwnedField = Extract<Spec, { writable: false }>['key']

type ValueOf<T extends FieldType> = T extends 'integer' | 'number' ? number : T extends 'boolean' ? boolean : string
/** Null, unless the field has a default (then it always holds a value). */
type NullOf<S> = S extends { default: unknown } ? never : null
/** The writable built-ins as a record's properties, each nullable unless it has a default. */
export type UserWritable = { [K in WritableField]: ValueOf<Extract<Spec, { key: K }>['type']> | NullOf<Extract<Spec, { key: K }>> }

/** What the other lists derive from a table of built-ins (a function, so a test can feed it another table). */
export function deriveUserFields(table: readonly UserFieldSpec[]) {
  return {
    writable: table.filter((f) => f.writable).map((f) => f.key),
    serverOwned: table.filter((f) => !f.writable).map((f) => f.key),
    matchKeys: table.filter((f) => f.matchKey).map((f) => f.key),
    exported: table.filter((f) => f.exported).map((f) => f.key),
    /** Every field a filter may name; datetime ones compare as times, integer ones as numbers. */
    filterable: table.map((f) => f.key),
    timeColumns: new Set(table.filter((f) => f.type === 'datetime').map((f) => f.key)),
    intColumns: new Set(table.filter((f) => f.type === 'integer').map((f) => f.key)),
    boolColumns: new Set(table.filter((f) => f.type === 'boolean').map((f) => f.key)),
    /** A new user's value of each field that has a default. */
    defaults: Object.fromEntries(table.flatMap((f) => (f.default === undefined ? [] : [[f.key, f.default]]))) as Record<string, unknown>,
    uniqueKeys: table.filter((f) => f.unique).map((f) => f.key),
    /** How a batch looks users up by each unique field: the column read, and whether values are case-folded first. */
    lookups: table
      .filter((f) => f.unique)
      .map((f) => ({ key: f.key, column: f.foldedColumn ?? f.column, folded: f.foldedColumn !== undefined })),
    /** Property → column of the `users` table. */
    columns: new Map(table.map((f) => [f.key, f.column])),
  }
}

export const DERIVED = deriveUserFields(USER_FIELDS)

/** DERIVED.lookups, with the table's own key and column types. */
export const USER_LOOKUPS = DERIVED.lookups as readonly { key: UniqueKey; column: UserFieldColumn; folded: boolean }[]
