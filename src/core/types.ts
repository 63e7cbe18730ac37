import {
  DERIVED,
  type FieldType,
  type MatchKey,
  type ServerOwnedField,
  type UserFieldKey,
  type UserWritable,
  type WritableField,
} from './user-fields.js'

export { FIELD_TYPES, type FieldType, type MatchKey, type UserWritable, type WritableField } from './user-fields.js'

/**
 * Domain types shared by every layer. Pure data: no I/O, no framework types.
 *
 * Timestamps are ISO 8601 strings in UTC with millisecond precision
 * (`2026-01-31T12:00:00.000Z`) on both engines, so a user reads back byte-identical
 * whichever store wrote it.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** Where a change came from: the door or tool that carried it. */
export const CHANNELS = ['native', 'scim', 'oneofnone', 'dynamic', 'returning', 'velt', 'console', 'cli'] as const
export type Channel = (typeof CHANNELS)[number]

export const SCOPES = ['read', 'write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export interface Tenant {
  id: string
  name: string
  createdAt: string
}

export interface Directory {
  id: string
  tenantId: string
  /** Stable small integer, unique across the installation (One of None's `app_id`). */
  number: number
  externalId: string | null
  name: string
  /** Days of history kept: older change records are deleted (null: kept forever, the default). */
  historyRetentionDays: number | null
  createdAt: string
  updatedAt: string
}

export interface UserRecord extends UserWritable {
  id: string
  directoryId: string
  createdAt: string
  updatedAt: string
  loginCount: number
  version: number
  metadata: JsonObject
  /** Custom fields, typed by the directory's field definitions. */
  fields: JsonObject
}

/** Compile-time check: a user record holds exactly the table's fields, plus its directory, metadata and custom fields. */
type Assert<T extends true> = T
export type UserRecordMatchesTable = Assert<
  [Exclude<keyof UserRecord, UserFieldKey | 'directoryId' | 'metadata' | 'fields'>] extends [never]
    ? [Exclude<UserFieldKey, keyof UserRecord>] extends [never]
      ? true
      : false
    : false
>

/** Built-in fields a client may write, in the table's order (core/user-fields.ts). */
export const WRITABLE_FIELDS = DERIVED.writable as readonly WritableField[]

/** Fields the server owns: never written from input (DESIGN.md, "The bulk engine"). */
export const SERVER_OWNED_FIELDS = DERIVED.serverOwned as readonly ServerOwnedField[]

/** Keys a row may name its user by, in the order a row's first present one is used. */
export const MATCH_KEYS = DERIVED.matchKeys as readonly MatchKey[]

export interface FieldDefinition {
  key: string
  label: string
  type: FieldType
  required: boolean
  unique: boolean
  maxLength: number | null
  pattern: string | null
  enumValues: string[] | null
  /** Built-in definitions describe the fixed user columns; they cannot be deleted. */
  builtIn: boolean
  createdAt: string | null
  updatedAt: string | null
}

/** A custom field as a caller describes it: what is not given takes its default. */
export interface FieldInput {
  key: string
  label?: string
  type: FieldType
  required?: boolean
  unique?: boolean
  maxLength?: number | null
  pattern?: string | null
  enumValues?: string[] | null
}

export interface ApiKey {
  id: string
  tenantId: string
  name: string
  scopes: Scope[]
  /** null: every directory of the tenant. */
  directories: string[] | null
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

/** One field of one user going from one value to another. Keys are field paths:
 * `email`, `metadata.tier`, `fields.department`. */
export type ChangeSet = Record<string, [Json, Json]>

export type ChangeAction = 'create' | 'update' | 'delete'

export interface ChangeContext {
  channel: Channel
  keyId: string | null
  requestId: string | null
  jobId: string | null
}

export interface ChangeRecord extends ChangeContext {
  seq: number
  directoryId: string
  userId: string
  action: ChangeAction
  at: string
  changes: ChangeSet
}

/** A place in a directory's change feed: the record's transaction (always '0' on SQLite) and sequence number. */
export interface FeedPosition {
  txid: string
  seq: number
}

/** A named set of users in a directory. `kind` tells groups of different doors apart
 * (`group` for SCIM and the native API, `team` for One of None, `document`/`folder` for Velt). */
export interface Group {
  id: string
  directoryId: string
  kind: string
  name: string
  externalId: string | null
  createdAt: string
  updatedAt: string
}

/** How a bulk run treats users that exist or not. */
export type BulkMode = 'create' | 'update' | 'upsert'
/** What became of one input row. */
export type RowStatus = 'created' | 'updated' | 'unchanged' | 'failed'
