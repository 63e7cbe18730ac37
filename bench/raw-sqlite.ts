/**
 * The SQLite ceiling: bare better-sqlite3 prepared statements, one transaction per batch, into a
 * table with the columns and unique indexes of Rollcall's `users` table (migrations 1 and 3:
 * the id unique across directories; minus the foreign key to `directories`) and the store's pragmas. Whatever Rollcall does beyond this
 * (HTTP, JSON, validation, diff, history, results) shows up as the ratio.
 */
import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import { importMetadata, rawUuidv7, runRawImportPhases, type ImportRow } from './import-rows.js'
import { runPhase } from './phase.js'
import { PHASES, type BenchRow } from './rows.js'
import type { PhaseResult } from './stats.js'

const DDL = `
CREATE TABLE users (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  directory_id TEXT NOT NULL,
  external_id TEXT,
  email TEXT,
  email_norm TEXT,
  email_verified_at TEXT,
  phone TEXT,
  username TEXT,
  username_norm TEXT,
  first_name TEXT,
  last_name TEXT,
  display_name TEXT,
  avatar_url TEXT,
  country TEXT,
  locale TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_login_at TEXT,
  login_count INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  fields TEXT NOT NULL
);
CREATE UNIQUE INDEX users_id ON users(id);
CREATE UNIQUE INDEX users_dir_email ON users(directory_id, email_norm);
CREATE UNIQUE INDEX users_dir_username ON users(directory_id, username_norm);
CREATE UNIQUE INDEX users_dir_external ON users(directory_id, external_id);
CREATE INDEX users_dir_created ON users(directory_id, created_at);
CREATE INDEX users_dir_updated ON users(directory_id, updated_at);
`

const INSERT = `INSERT INTO users (id, directory_id, external_id, email, email_norm, phone, first_name,
  last_name, country, locale, created_at, updated_at, version, metadata, fields)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, '{}')`

// Rollcall writes nothing for an unchanged row, so the raw upsert skips those too (the WHERE):
// that is both the fastest correct upsert and the same work as Rollcall's.
const UPSERT = `${INSERT}
  ON CONFLICT (directory_id, email_norm) DO UPDATE SET
    external_id = excluded.external_id, email = excluded.email, phone = excluded.phone,
    first_name = excluded.first_name, last_name = excluded.last_name, country = excluded.country,
    locale = excluded.locale, metadata = excluded.metadata, updated_at = excluded.updated_at,
    version = users.version + 1
  WHERE (users.external_id, users.email, users.phone, users.first_name, users.last_name,
         users.country, users.locale, users.metadata)
    IS NOT (excluded.external_id, excluded.email, excluded.phone, excluded.first_name,
            excluded.last_name, excluded.country, excluded.locale, excluded.metadata)`

const DIRECTORY_ID = 'bench-directory'

export async function runRawSqlite(file: string, total: number, batchSize: number): Promise<PhaseResult[]> {
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(DDL)
    const insert = db.prepare(INSERT)
    const upsert = db.prepare(UPSERT)
    const results: PhaseResult[] = []
    for (const phase of PHASES) {
      const stmt = phase.number === 1 ? insert : upsert
      const write = db.transaction((rows: BenchRow[]): number => {
        const now = new Date().toISOString()
        let changed = 0
        for (const r of rows) {
          changed += stmt.run(
            randomUUID(),
            DIRECTORY_ID,
            r.externalId,
            r.email,
            r.email.toLowerCase(),
            r.phone,
            r.firstName,
            r.lastName,
            r.country,
            r.locale,
            now,
            now,
            JSON.stringify(r.metadata),
          ).changes
        }
        return changed
      })
      results.push(
        await runPhase({
          label: 'raw sqlite',
          phase,
          total,
          batchSize,
          pid: 'self',
          prepare: (rows) => rows,
          write: (rows) => {
            const changed = write(rows)
            return phase.number === 1
              ? { created: changed, updated: 0, unchanged: rows.length - changed, failed: 0 }
              : { created: 0, updated: changed, unchanged: rows.length - changed, failed: 0 }
          },
        }),
      )
      // `changes` cannot tell an insert from an update, so prove no upsert inserted a row.
      const { n } = db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }
      if (n !== total) throw new Error(`raw sqlite: ${n} rows in the table after phase ${phase.number}, expected ${total}`)
    }
    return results
  } finally {
    db.close()
  }
}

// The imports benchmark: the CSV's ten columns (display name included) into an empty table.
const IMPORT_INSERT = `INSERT INTO users (id, directory_id, external_id, email, email_norm, phone, first_name,
  last_name, display_name, country, locale, created_at, updated_at, version, metadata, fields)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, '{}')`

// The update import's: the changed file's rows over the full table, each updating its user by
// email. Like the sync benchmark's upsert, it sets the file's columns (SQLite rewrites the entry
// of every index over a column an UPDATE sets: external_id's and updated_at's here).
const IMPORT_UPDATE = `UPDATE users SET external_id = ?, phone = ?, first_name = ?, last_name = ?, display_name = ?,
  country = ?, locale = ?, metadata = ?, updated_at = ?, version = version + 1
  WHERE directory_id = ? AND email_norm = ?`

/**
 * The imports benchmark's ceiling: the same rows as the CSV, plain INSERTs into an empty table,
 * one transaction per batch, with UUIDv7 ids laid out as Rollcall's (rawUuidv7), so the id index
 * grows at its right edge on both sides; then the changed file's rows, an UPDATE each.
 */
export async function runRawSqliteImport(file: string, total: number, batchSize: number): Promise<PhaseResult[]> {
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(DDL)
    const insert = db.prepare(IMPORT_INSERT)
    const change = db.prepare(IMPORT_UPDATE)
    const row = (r: ImportRow, now: string, update: boolean): number =>
      update
        ? change.run(
            r.externalId,
            r.phone,
            r.firstName,
            r.lastName,
            r.displayName,
            r.country,
            r.locale,
            importMetadata(r),
            now,
            DIRECTORY_ID,
            r.email.toLowerCase(),
          ).changes
        : insert.run(
            rawUuidv7(),
            DIRECTORY_ID,
            r.externalId,
            r.email,
            r.email.toLowerCase(),
            r.phone,
            r.firstName,
            r.lastName,
            r.displayName,
            r.country,
            r.locale,
            now,
            now,
            importMetadata(r),
          ).changes
    const write = db.transaction((rows: ImportRow[], update: boolean): number => {
      const now = new Date().toISOString()
      let changed = 0
      for (const r of rows) changed += row(r, now, update)
      return changed
    })
    return await runRawImportPhases(
      'raw sqlite',
      total,
      batchSize,
      (rows, update) => write(rows, update),
      () => (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n,
    )
  } finally {
    db.close()
  }
}
