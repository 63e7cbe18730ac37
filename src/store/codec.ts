import type { Selectable } from 'kysely'
import { normEmail, normUsername } from '../core/normalize.js'
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

/** The users columns in table order, for inserts and full-row updates. */
export const USER_COLUMNS = [
  'id',
  'directory_id',
  'external_id',
  'email',
  'email_norm',
  'email_verified_at',
  'phone',
  'username',
  'username_norm',
  'first_name',
  'last_name',
  'display_name',
  'avatar_url',
  'country',
  'locale',
  'created_at',
  'updated_at',
  'last_login_at',
  'login_count',
  'version',
  'metadata',
  'fields',
] as const

/** A user as one row of values in USER_COLUMNS order. */
export function userValues(u: UserRecord, c: Codec): unknown[] {
  return [
    u.id,
    u.directoryId,
    u.externalId,
    u.email,
    normEmail(u.email),
    u.emailVerifiedAt,
    u.phone,
    u.username,
    normUsername(u.username),
    u.firstName,
    u.lastName,
    u.displayName,
    u.avatarUrl,
    u.country,
    u.locale,
    u.createdAt,
    u.updatedAt,
    u.lastLoginAt,
    u.loginCount,
    u.version,
    c.writeJson(u.metadata),
    c.writeJson(u.fields),
  ]
}

export type UserRow = Selectable<UsersTable>

export function userFromRow(r: UserRow, c: Codec): UserRecord {
  return {
    id: r.id,
    directoryId: r.directory_id,
    externalId: r.external_id,
    email: r.email,
    emailVerifiedAt: r.email_verified_at,
    phone: r.phone,
    username: r.username,
    firstName: r.first_name,
    lastName: r.last_name,
    displayName: r.display_name,
    avatarUrl: r.avatar_url,
    country: r.country,
    locale: r.locale,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastLoginAt: r.last_login_at,
    loginCount: r.login_count,
    version: r.version,
    metadata: c.readJson<JsonObject>(r.metadata),
    fields: c.readJson<JsonObject>(r.fields),
  }
}

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
