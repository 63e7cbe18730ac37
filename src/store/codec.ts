import { normEmail, normUsername } from '../core/normalize.js'
import type { ApiKey, ChangeRecord, Directory, FieldDefinition, FieldType, Scope, UserRecord } from '../core/types.js'

/** How one engine represents booleans, JSON and timestamps in its rows. */
export interface Codec {
  readJson<T>(v: unknown): T
  writeJson(v: unknown): unknown
  readBool(v: unknown): boolean
  writeBool(b: boolean): unknown
  readTime(v: unknown): string
  readTimeOrNull(v: unknown): string | null
}

export const sqliteCodec: Codec = {
  readJson: <T>(v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T)),
  writeJson: (v) => (v === null || v === undefined ? null : JSON.stringify(v)),
  readBool: (v) => v === 1 || v === true,
  writeBool: (b) => (b ? 1 : 0),
  readTime: (v) => v as string,
  readTimeOrNull: (v) => (v as string | null) ?? null,
}

/** PostgreSQL rows arrive with JSON parsed and timestamps already ISO strings (see postgres/pool.ts). */
export const postgresCodec: Codec = {
  readJson: <T>(v: unknown) => v as T,
  writeJson: (v) => (v === null || v === undefined ? null : JSON.stringify(v)),
  readBool: (v) => v === true,
  writeBool: (b) => b,
  readTime: (v) => v as string,
  readTimeOrNull: (v) => (v as string | null) ?? null,
}

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

export function userFromRow(r: Record<string, unknown>, c: Codec): UserRecord {
  return {
    id: r.id as string,
    directoryId: r.directory_id as string,
    externalId: r.external_id as string | null,
    email: r.email as string | null,
    emailVerifiedAt: c.readTimeOrNull(r.email_verified_at),
    phone: r.phone as string | null,
    username: r.username as string | null,
    firstName: r.first_name as string | null,
    lastName: r.last_name as string | null,
    displayName: r.display_name as string | null,
    avatarUrl: r.avatar_url as string | null,
    country: r.country as string | null,
    locale: r.locale as string | null,
    createdAt: c.readTime(r.created_at),
    updatedAt: c.readTime(r.updated_at),
    lastLoginAt: c.readTimeOrNull(r.last_login_at),
    loginCount: Number(r.login_count),
    version: Number(r.version),
    metadata: c.readJson(r.metadata),
    fields: c.readJson(r.fields),
  }
}

export function directoryFromRow(r: Record<string, unknown>, c: Codec): Directory {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    number: Number(r.number),
    externalId: r.external_id as string | null,
    name: r.name as string,
    createdAt: c.readTime(r.created_at),
    updatedAt: c.readTime(r.updated_at),
  }
}

export function fieldFromRow(r: Record<string, unknown>, c: Codec): FieldDefinition {
  return {
    key: r.key as string,
    label: r.label as string,
    type: r.type as FieldType,
    required: c.readBool(r.required),
    unique: c.readBool(r.is_unique),
    maxLength: r.max_length == null ? null : Number(r.max_length),
    pattern: r.pattern as string | null,
    enumValues: r.enum_values == null ? null : c.readJson<string[]>(r.enum_values),
    builtIn: c.readBool(r.built_in),
    createdAt: c.readTime(r.created_at),
    updatedAt: c.readTime(r.updated_at),
  }
}

export function keyFromRow(r: Record<string, unknown>, c: Codec): ApiKey {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    scopes: c.readJson<Scope[]>(r.scopes),
    directories: r.directories == null ? null : c.readJson<string[]>(r.directories),
    createdAt: c.readTime(r.created_at),
    lastUsedAt: c.readTimeOrNull(r.last_used_at),
    revokedAt: c.readTimeOrNull(r.revoked_at),
  }
}

export function changeFromRow(r: Record<string, unknown>, c: Codec): ChangeRecord {
  return {
    seq: Number(r.seq),
    directoryId: r.directory_id as string,
    userId: r.user_id as string,
    action: r.action as ChangeRecord['action'],
    at: c.readTime(r.at),
    channel: r.channel as ChangeRecord['channel'],
    keyId: r.key_id as string | null,
    requestId: r.request_id as string | null,
    jobId: r.job_id as string | null,
    changes: c.readJson(r.changes),
  }
}
