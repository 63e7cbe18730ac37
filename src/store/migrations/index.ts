export type { Migration } from './migration.js'
import type { Migration } from './migration.js'
import { m001 } from './001-init.js'
import { m002 } from './002-jobs.js'
import { m003 } from './003-hardening.js'
import { m004 } from './004-result-batches.js'
import { m005 } from './005-retention.js'
import { m006 } from './006-active.js'
import { m007 } from './007-change-feed.js'
import { m008 } from './008-mirror.js'
import { m009 } from './009-webhook-deliveries.js'

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009]

/** The newest schema version this release knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version

/** The database was migrated by a newer release: this one must not touch it. */
export class SchemaTooNew extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `The database is at schema version ${found}, newer than this release of Rollcall knows (${known}): a newer release migrated it. ` +
        'Run that release (or newer), or restore a backup made before the upgrade.',
    )
    this.name = 'SchemaTooNew'
  }
}

/** Throws SchemaTooNew when `applied` holds a version this release does not know. */
export function checkSchemaVersion(applied: readonly number[]): void {
  const found = Math.max(0, ...applied)
  if (found > LATEST_SCHEMA_VERSION) throw new SchemaTooNew(found, LATEST_SCHEMA_VERSION)
}

/** The migrations not in `applied`, in order, with the SQL each would run on `engine`. */
export const pendingOf = (applied: readonly number[], engine: 'sqlite' | 'postgres'): PendingMigration[] =>
  MIGRATIONS.filter((m) => !applied.includes(m.version)).map((m) => ({ version: m.version, name: m.name, sql: m[engine].trim() }))

export interface PendingMigration {
  version: number
  name: string
  sql: string
}
