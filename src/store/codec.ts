import type { Selectable } from 'kysely'
import { normEmail } from '../core/normalize.js'
import { type FieldType, USER_FIELDS, type UserFieldSpec } from '../core/user-fields.js'
import { createdBefore } from '../core/user-patch.js'
import type {
  ApiKey,
  ChangeAction,
  ChangeRecord,
  ChangeSet,
  Directory,
  FieldDefinition,
  Group,
  Json,
  Scope,
  Tenant,
  UserRecord,
} from '../core/types.js'
import type {
  ApiKeysTable,
  ChangesTable,
  DirectoriesTable,
  FieldDefinitionsTable,
  GroupsTable,
  Int8,
  TenantsTable,
  UsersTable,
} from './db-types.js'

/**
 * How one engine represents booleans and JSON in its rows (see db-types.ts). Timestamps need no
 * decoding: both engines hand them over as ISO-8601 text.
 */
export interface Codec {
  /** The value a JSON column held; the caller names what it stored there. */
  readJson<T>(v: unknown): T
  writeJson(v: unknown): string | null
  readBool(v: number | boolean): boolean
  writeBool(b: boolean): number | boolean
}

const writeJson = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v))

export const sqliteCodec: Codec = {
  readJson: <T>(v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as T,
  writeJson,
  readBool: (v) => v === 1 || v === true,
  writeBool: (b) => (b ? 1 : 0),
}

/** PostgreSQL rows arrive with JSON already parsed (pg's default type parsers). */
export const postgresCodec: Codec = {
  readJson: <T>(v: unknown) => v as T,
  writeJson,
  readBool: (v) => v === true,
  writeBool: (b) => b,
}

/**
 * A history record's change-set as stored. An update's is its JSON object, `{"path": [before,
 * after], …}`. A create's is a JSON array of paths and the values they got, `["email", "a@x.io",
 * "firstName", "Ann", …]`, when every path held what a new user holds (createdBefore): the
 * befores are known, and leaving out their `null`s and a pair's brackets makes an import's
 * history a third smaller, written and checkpointed once per user. Records keep the object
 * form otherwise, and every record written before this is one.
 */
export function changeSetText(action: ChangeAction, changes: ChangeSet): string {
  if (action === 'create') {
    const flat: Json[] = []
    let compact = true
    for (const path in changes) {
      const pair = changes[path]
      if (pair[0] !== createdBefore(path)) {
        compact = false
        break
      }
      flat.push(path, pair[1])
    }
    if (compact) return JSON.stringify(flat)
  }
  return JSON.stringify(changes)
}

/** A stored change-set (changeSetText), parsed: either form, as the object of pairs. */
export function changeSetOf(stored: Json): ChangeSet {
  if (!Array.isArray(stored)) return stored as ChangeSet
  const changes: ChangeSet = {}
  for (let i = 0; i + 1 < stored.length; i += 2) {
    const path = stored[i] as string
    changes[path] = [createdBefore(path), stored[i + 1]]
  }
  return changes
}

/** A BIGINT or identity column (pg returns int8 as text). */
export const int = (v: Int8): number => Number(v)

/** One column of `users`: its name, its PostgreSQL type (for `unnest` arrays) and how a user fills it. */
export interface UserColumn {
  name: string
  pgType: string
  /** The value as a JavaScript expression over the user `u`, the codec `c` and `fold` (normEmail). */
  expr: string
  value(u: UserRecord, c: Codec): unknown
}

const PG_TYPES: Partial<Record<FieldType, string>> = {
  datetime: 'timestamptz',
  integer: 'int',
  number: 'float8',
  boolean: 'boolean',
  json: 'json',
}

/**
 * The codec's per-user functions are compiled from the table once, as plain property reads: a
 * loop over the table with keyed reads and writes cost four to seven times as much per user
 * (measured: 1.0–1.4 µs against 0.2 µs to read a row), and these run for every row of every batch.
 * Only names from the table reach the compiled code, each checked to be an identifier.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
function id(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`the table of built-in fields names '${name}', which is not an identifier`)
  return name
}
function compile<F>(params: string[], body: string): F {
  return new Function('fold', `return (${params.join(', ')}) => ${body}`)(normEmail) as F
}

function column(name: string, pgType: string, expr: string): UserColumn {
  return { name: id(name), pgType, expr, value: compile<UserColumn['value']>(['u', 'c'], expr) }
}

/**
 * The columns of `users` a write fills, from a table of built-ins: the directory, each field's
 * column (and its case-folded copy), then the JSON bags. A function, so a test can feed it
 * another table; the store uses USER_COLUMNS.
 */
export function userColumns(table: readonly UserFieldSpec[]): readonly UserColumn[] {
  const builtIns = table.flatMap((f): UserColumn[] => {
    const v = `u.${id(f.key)}`
    const own =
      f.type === 'boolean'
        ? column(f.column, 'boolean', `(${v} == null ? null : c.writeBool(${v} === true))`)
        : f.type === 'json'
          ? column(f.column, 'json', `c.writeJson(${v})`)
          : column(f.column, PG_TYPES[f.type] ?? 'text', `(${v} ?? null)`)
    return f.foldedColumn === undefined ? [own] : [own, column(f.foldedColumn, 'text', `fold(${v} ?? null)`)]
  })
  return [
    column('directory_id', 'text', 'u.directoryId'),
    ...builtIns,
    column('metadata', 'json', 'c.writeJson(u.metadata)'),
    column('fields', 'json', 'c.writeJson(u.fields)'),
  ]
}

/** Every column a new user's row fills. */
export const USER_COLUMNS = userColumns(USER_FIELDS)
/** The columns an update rewrites: all but the user's identity (id, directory). */
export const USER_SET_COLUMNS = USER_COLUMNS.filter((c) => c.name !== 'id' && c.name !== 'directory_id')

/**
 * The columns an update may set that an index of `users` reads (migrations 1, 3 and 6, and the
 * expression indexes of unique custom fields over `fields`), as positions in USER_SET_COLUMNS.
 * Writing one of them costs an index entry rewritten even when its value is the same.
 */
export const INDEXED_SET_COLUMNS: readonly number[] = [
  'external_id',
  'email_norm',
  'username_norm',
  'active',
  'created_at',
  'updated_at',
  'fields',
].map((name) => {
  const i = USER_SET_COLUMNS.findIndex((c) => c.name === name)
  if (i < 0) throw new Error(`INDEXED_SET_COLUMNS: no column ${name}`)
  return i
})

/** Which INDEXED_SET_COLUMNS of `row` (USER_SET_COLUMNS values of an update) hold what `before` holds: bit k for the k-th. */
export function unchangedIndexed(row: readonly unknown[], before: UserRecord, c: Codec): number {
  let skip = 0
  for (let k = 0; k < INDEXED_SET_COLUMNS.length; k++) {
    const i = INDEXED_SET_COLUMNS[k]
    if (row[i] === USER_SET_COLUMNS[i].value(before, c)) skip |= 1 << k
  }
  return skip
}

type ValuesOf = (u: UserRecord, c: Codec) => unknown[]
const valuesFns = new WeakMap<readonly UserColumn[], ValuesOf>()

/** A user as one row of values in `columns` order. */
export function userValues(u: UserRecord, c: Codec, columns: readonly UserColumn[] = USER_COLUMNS): unknown[] {
  let fn = valuesFns.get(columns)
  if (!fn) valuesFns.set(columns, (fn = compile<ValuesOf>(['u', 'c'], `[${columns.map((col) => col.expr).join(', ')}]`)))
  return fn(u, c)
}

export type UserRow = Selectable<UsersTable>

/** A user from its row, by a table of built-ins (USER_FIELDS unless a test gives another). */
export function userReader(table: readonly UserFieldSpec[]): (r: UserRow, c: Codec) => UserRecord {
  return compileReader(table, (column) => `r.${id(column)}`)
}

/** The columns a user is read from, in the order `userArrayReader` expects them. */
export function userReadColumns(table: readonly UserFieldSpec[]): string[] {
  return ['directory_id', ...table.map((f) => f.column), 'metadata', 'fields']
}

/**
 * A user from its row as an array of `userReadColumns(table)` (better-sqlite3's raw mode): a row
 * of 23 values as an object costs the driver about twice as much as the array (measured: 5.7
 * against 2.9 ms for 1,000 users), and the bulk path reads a batch's users every batch.
 */
export function userArrayReader(table: readonly UserFieldSpec[]): (r: readonly unknown[], c: Codec) => UserRecord {
  const at = new Map(userReadColumns(table).map((column, i) => [column, i]))
  return compileReader(table, (column) => `r[${at.get(column)}]`)
}

function compileReader<R>(table: readonly UserFieldSpec[], get: (column: string) => string): (r: R, c: Codec) => UserRecord {
  const read = (f: UserFieldSpec): string => {
    const v = get(f.column)
    if (f.type === 'boolean') return `(${v} == null ? null : c.readBool(${v}))`
    if (f.type === 'json') return `(${v} == null ? null : c.readJson(${v}))`
    return v
  }
  // In the order users are shown: the id, its directory, then the table's other fields.
  const props = table.flatMap((f) =>
    f.key === 'id' ? [`id: ${read(f)}`, `directoryId: ${get('directory_id')}`] : [`${id(f.key)}: ${read(f)}`],
  )
  return compile(['r', 'c'], `({ ${props.join(', ')}, metadata: c.readJson(${get('metadata')}), fields: c.readJson(${get('fields')}) })`)
}

export const userFromRow = userReader(USER_FIELDS)
/** The columns of `users` userFromArray reads, in its order. */
export const USER_READ_COLUMNS = userReadColumns(USER_FIELDS)
export const userFromArray = userArrayReader(USER_FIELDS)

export function tenantFromRow(r: Selectable<TenantsTable>): Tenant {
  return { id: r.id, name: r.name, createdAt: r.created_at }
}

export function directoryFromRow(r: Selectable<DirectoriesTable>): Directory {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    number: int(r.number),
    externalId: r.external_id,
    name: r.name,
    historyRetentionDays: r.history_retention_days,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function fieldFromRow(r: Selectable<FieldDefinitionsTable>, c: Codec): FieldDefinition {
  return {
    key: r.key,
    label: r.label,
    type: r.type,
    required: c.readBool(r.required),
    unique: c.readBool(r.is_unique),
    maxLength: r.max_length,
    pattern: r.pattern,
    enumValues: r.enum_values == null ? null : c.readJson<string[]>(r.enum_values),
    builtIn: c.readBool(r.built_in),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function keyFromRow(r: Selectable<ApiKeysTable>, c: Codec): ApiKey {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    scopes: c.readJson<Scope[]>(r.scopes),
    directories: r.directories == null ? null : c.readJson<string[]>(r.directories),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  }
}

export function groupFromRow(r: Selectable<GroupsTable>): Group {
  return {
    id: r.id,
    directoryId: r.directory_id,
    kind: r.kind,
    name: r.name,
    externalId: r.external_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function changeFromRow(r: Selectable<ChangesTable>, c: Codec): ChangeRecord {
  return {
    seq: int(r.seq),
    directoryId: r.directory_id,
    userId: r.user_id,
    action: r.action,
    at: r.at,
    channel: r.channel,
    keyId: r.key_id,
    requestId: r.request_id,
    jobId: r.job_id,
    changes: changeSetOf(c.readJson<Json>(r.changes)),
  }
}
