import { join } from 'node:path'
import { PostgresStore } from './postgres/postgres-store.js'
import { SqliteStore } from './sqlite/sqlite-store.js'
import type { Store, StoreLocation } from './store.js'

export type { Store, StoreLocation } from './store.js'

export interface OpenStoreOptions {
  /** `postgres://…` selects PostgreSQL; otherwise the embedded SQLite file under `dataDir`. */
  databaseUrl?: string
  dataDir: string
  /** Bring the schema up to date (true); false opens it as it is (`rollcall migrate --dry-run`). */
  migrate?: boolean
}

/** Opens the configured store and brings its schema up to date. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const store: Store =
    opts.databaseUrl && /^postgres(ql)?:\/\//.test(opts.databaseUrl)
      ? new PostgresStore({ connectionString: opts.databaseUrl })
      : new SqliteStore({
          filename: opts.databaseUrl?.startsWith('sqlite:') ? opts.databaseUrl.slice(7) : join(opts.dataDir, 'rollcall.db'),
        })
  if (opts.migrate === false) return store
  try {
    await store.migrate()
  } catch (e) {
    await store.close()
    throw e
  }
  return store
}

/**
 * Opens the store at `location` to read it beside the store that writes it (the import planner's
 * thread): a SQLite file read-only, a PostgreSQL database with a pool of two. Never migrates.
 */
export function openReader(location: StoreLocation): Store {
  return location.engine === 'postgres'
    ? new PostgresStore({ connectionString: location.connectionString, max: 2 })
    : new SqliteStore({ filename: location.filename, readonly: true })
}

/** A batch's users and history as column values for an engine: the import planner's thread encodes what it plans. */
export { encodeBatch } from './encode.js'
export { checkSchemaVersion, LATEST_SCHEMA_VERSION, SchemaTooNew } from './migrations/index.js'
