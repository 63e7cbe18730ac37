import type { Selectable } from 'kysely'
import { normEmail } from '../core/normalize.js'
import { type FieldType, USER_FIELDS, type UserFieldSpec } from '../core/user-fields.js'
import type {
  ApiKey,
  ChangeRecord,
  ChangeSet,
  Directory,
  FieldDefinition,
  Group,
  JsonObject,
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

/** A BIGINT or identity column (pg returns int8 as text). */
export const int = (v: Int8): number => Number(v)

/** One column of `users`: its name, its PostgreSQL type (for `unnest` arrays) and how a user fills it. */
export interface UserColumn {
  name: string
  pgType: string
  value(u: UserRecord, c: Codec): unknown
}

const PG_TYPES: Partial<Record<FieldType, string>> = {
  datetime: 'timestamptz',
  integer: 'int',
  number: 'float8',
  boolean: 'boolean',
  json: 'json',
}

/** A built-in's value by its key (the table's keys are exactly UserRecord's: see core/types.ts). */
const prop = (u: UserRecord, key: string): unknown => (u as unknown as Readonly<Record<string, unknown>>)[key]

/**
 * The columns of `users` a write fills, from a table of built-ins: the directory, each field's
 * column (and its case-folded copy), then the JSON bags. A function, so a test can feed it
 * another table; the store uses USER_COLUMNS.
 */
export function userColumns(table: readonly UserFieldSpec[]): readonly UserColumn[] {
  const builtIns = table.flatMap((f): UserColumn[] => {
    const own: UserColumn =
      f.type === 'boolean'
        ? { name: f.column, pgType: 'boolean', value: (u, c) => (prop(u, f.key) == null ? null : c.writeBool(prop(u, f.key) === true)) }
        : f.type === 'json'
          ? { name: f.column, pgType: 'json', value: (u, c) => c.writeJson(prop(u, f.key)) }
          : { name: f.column, pgType: PG_TYPES[f.type] ?? 'text', value: (u) => prop(u, f.key) ?? null }
    if (f.foldedColumn === undefined) return [own]
    const folded: UserColumn = { name: f.foldedColumn, pgType: 'text', value: (u) => normEmail(prop(u, f.key) as string | null) }
    return [own, folded]
  })
  return [
    { name: 'directory_id', pgType: 'text', value: (u) => u.directoryId },
    ...builtIns,
    { name: 'metadata', pgType: 'json', value: (u, c) => c.writeJson(u.metadata) },
    { name: 'fields', pgType: 'json', value: (u, c) => c.writeJson(u.fields) },
  ]
}

/** Every column a new user's row fills. */
export const USER_COLUMNS = userColumns(USER_FIELDS)
/** The columns an update rewrites: all but the user's identity (id, directory). */
export const USER_SET_COLUMNS = USER_COLUMNS.filter((c) => c.name !== 'id' && c.name !== 'directory_id')

/** A user as one row of values in `columns` order. */
export function userValues(u: UserRecord, c: Codec, columns: readonly UserColumn[] = USER_COLUMNS): unknown[] {
  return columns.map((col) => col.value(u, c))
}

export type UserRow = Selectable<UsersTable>

/** A built-in's reader: how its column comes back from either engine. */
function readerOf(f: UserFieldSpec): (v: unknown, c: Codec) => unknown {
  if (f.type === 'boolean') return (v, c) => (v == null ? null : c.readBool(v as number | boolean))
  if (f.type === 'json') return (v, c) => (v == null ? null : c.readJson(v))
  return (v) => v
}

/** A user from its row, by a table of built-ins (USER_FIELDS unless a test gives another). */
export function userReader(table: readonly UserFieldSpec[]): (r: UserRow, c: Codec) => UserRecord {
  const fields = table.map((f) => ({ key: f.key, column: f.column, read: readerOf(f) }))
  return (r, c) => {
    const row = r as unknown as Readonly<Record<string, unknown>>
    const u: Record<string, unknown> = { directoryId: r.directory_id }
    for (const f of fields) u[f.key] = f.read(row[f.column], c)
    u.metadata = c.readJson<JsonObject>(r.metadata)
    u.fields = c.readJson<JsonObject>(r.fields)
    return u as unknown as UserRecord
  }
}

export const userFromRow = userReader(USER_FIELDS)

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
    changes: c.readJson<ChangeSet>(r.changes),
  }
}
