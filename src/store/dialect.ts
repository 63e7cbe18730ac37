import { createHash } from 'node:crypto'
import type { Expression, SqlBool } from 'kysely'
import type { Codec } from './codec.js'
import type { UserFilterDialect } from './user-filter.js'

export type Dialect = 'sqlite' | 'postgres'

/**
 * What differs between the engines, as flags rather than scattered `if (pg)` checks.
 */
export interface StoreCapabilities {
  /** Several processes can share the store (PostgreSQL); SQLite is one process. */
  multiProcess: boolean
  /** `SELECT … FOR UPDATE SKIP LOCKED` for job leases. */
  skipLocked: boolean
  /** Transactions of one process run at once, each on a connection of its own: the bulk engine keeps two batches in flight. */
  concurrentTransactions: boolean
}

/**
 * What the aggregate repositories (repos/*.ts) need to know about an engine: capability flags
 * and the few expressions whose SQL differs (JSON access, unique-index DDL). One frozen object
 * per engine (sqlite/sqlite-dialect.ts, postgres/postgres-dialect.ts), never `if (pg)` checks.
 * The bulk hot paths (writeBatch, findUsersWith) and migrations stay in the engine's store.
 */
export interface StoreDialect {
  readonly name: Dialect
  readonly capabilities: StoreCapabilities
  readonly codec: Codec
  /** The driver error is a unique (or primary-key) constraint refusing a write. */
  isUniqueViolation(e: unknown): boolean
  /** SQL expression: the custom field `key` of a user equals `value`. */
  customFieldEquals(key: string, value: string | number | boolean): Expression<SqlBool>
  /** SQL expression: a change record touched field path `field`. */
  changeTouches(field: string): Expression<SqlBool>
  /** Value for a new directory's `number` column, or undefined to let the column default. */
  nextDirectoryNumber(): Expression<number> | undefined
  /** How this engine reads custom fields and orders text in `searchUsers` filters (see user-filter.ts). */
  readonly userFilter: UserFilterDialect
  /** DDL creating (or dropping) the partial unique index behind a unique custom field; arguments pass assertDdlSafe first. */
  uniqueFieldIndexDdl(directoryId: string, key: string, unique: boolean): string
}

/** Name of the index behind a unique custom field: stable, short, safe as an identifier. */
export function uniqueIndexName(directoryId: string, key: string): string {
  return `uf_${createHash('sha1').update(`${directoryId}/${key}`).digest('hex').slice(0, 24)}`
}

/** Identifiers and literals for the DDL of unique-field indexes: ids are UUIDs and keys match FIELD_KEY_PATTERN, checked again here. */
export function assertDdlSafe(directoryId: string, key: string): void {
  if (!/^[0-9a-f-]{36}$/.test(directoryId) || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(key)) throw new Error('unsafe identifier for DDL')
}

/** The driver error's code, when it has one (SQLITE_CONSTRAINT_UNIQUE, 23505). */
export const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined
