import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import type { UserRecord } from '../../core/types.js'
import { BaseStore, type UserRead } from '../base-store.js'
import { INDEXED_SET_COLUMNS, sqliteCodec, USER_COLUMNS, USER_READ_COLUMNS, USER_SET_COLUMNS, userFromArray } from '../codec.js'
import { USER_LOOKUPS } from '../../core/user-fields.js'
import type { DB } from '../db-types.js'
import { JobStore } from '../job-store.js'
import { assertEncodedFor, encodeBatch } from '../encode.js'
import { checkSchemaVersion, MIGRATIONS, type PendingMigration, pendingOf } from '../migrations/index.js'
import {
  type EncodedBatch,
  observeQueries,
  type QueryObserver,
  type StoreLocation,
  type StoreTx,
  type UserLookup,
  WriteConflict,
} from '../store.js'
import { Checkpointer } from './checkpointer.js'
import { sqliteDialect, uniqueFieldExpr } from './sqlite-dialect.js'
import { assertDdlSafe } from '../dialect.js'
import { normEmail } from '../../core/normalize.js'

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:'. */
  filename: string
  onQuery?: QueryObserver
  /** Opens an existing file to read only (openReader): no pragma that writes, no second connection. */
  readonly?: boolean
}

/**
 * SQLite via better-sqlite3, in WAL mode. One connection, guarded by Kysely's connection mutex:
 * a transaction holds it for its whole life, so nothing else in the process interleaves with a
 * batch. The batch write itself uses prepared statements on that connection (the hot path).
 */
export class SqliteStore extends BaseStore {
  readonly raw: Database.Database
  readonly jobs: JobStore
  /** A read-only second connection (WAL readers do not wait for the writer): job input is read through it. */
  private readonly reader: Kysely<DB>
  private stmts?: ReturnType<SqliteStore['prepare']>
  /** Told the statements run outside Kysely too (the bulk lookups), as Kysely's are. */
  private readonly onQuery?: QueryObserver
  private readonly filename: string
  /** Started by the first batch write (checkpointer.ts); a store that only reads never starts one. */
  private checkpointer?: Checkpointer
  readonly location: StoreLocation | null

  constructor(opts: SqliteStoreOptions) {
    const memory = opts.filename === ':memory:'
    if (!memory && !opts.readonly) mkdirSync(dirname(opts.filename), { recursive: true })
    const raw = new Database(opts.filename, opts.readonly ? { readonly: true, fileMustExist: true } : {})
    super(new Kysely<DB>({ dialect: new SqliteDialect({ database: raw }), ...observeQueries(opts.onQuery) }), sqliteDialect)
    this.raw = raw
    this.onQuery = opts.onQuery
    this.filename = opts.filename
    this.location = memory ? null : { engine: 'sqlite', filename: opts.filename }
    if (opts.readonly) {
      this.raw.pragma('busy_timeout = 10000')
      this.raw.pragma('cache_size = -16384')
      this.reader = this.db
      this.jobs = new JobStore(this.db, sqliteDialect, this.reader)
      return
    }
    // Space freed by large deletes (a discarded upload) can be given back to the file system
    // (reclaimSpace); takes effect on a new file, and migrate() converts an older one.
    this.raw.pragma('auto_vacuum = INCREMENTAL')
    this.raw.pragma('journal_mode = WAL')
    this.raw.pragma('synchronous = NORMAL')
    this.raw.pragma('foreign_keys = ON')
    this.raw.pragma('busy_timeout = 10000')
    // 16 MiB of page cache (the default is 2 MiB): a bulk batch touches the users table, its four
    // unique indexes and the history indexes; with the default the same pages are read and
    // written again batch after batch. 64 MiB was no faster for 200,000-row imports (create and
    // update) and raised the server's peak RSS by 45-50 MiB. 32 MiB was no faster than 16 for
    // 1,000,000-row imports either (two rounds, alternated: creates 27,978 / 27,623 job rows/s
    // against 29,007 / 28,118; updates of the full directory 28,727 / 29,281 against 28,587 /
    // 28,125), and peaked at 278-296 MiB against 255-276: 16 keeps the import under 300 MB.
    this.raw.pragma('cache_size = -16384')
    this.raw.pragma('temp_store = MEMORY')
    this.reader = memory
      ? this.db
      : new Kysely<DB>({
          dialect: new SqliteDialect({ database: new Database(opts.filename, { readonly: true }) }),
          ...observeQueries(opts.onQuery),
        })
    this.jobs = new JobStore(this.db, sqliteDialect, this.reader)
  }

  async migrate(): Promise<string[]> {
    const raw = this.raw
    raw.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
    checkSchemaVersion(this.appliedVersions())
    const applied: string[] = []
    for (const m of MIGRATIONS) {
      // BEGIN IMMEDIATE takes the write lock first: a concurrent runner waits, then sees the row.
      raw.exec('BEGIN IMMEDIATE')
      try {
        const done = raw.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)
        if (!done) {
          raw
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(m.version, m.name, new Date().toISOString())
          raw.exec(m.sqlite)
          applied.push(`${m.version}-${m.name}`)
        }
        raw.exec('COMMIT')
      } catch (e) {
        raw.exec('ROLLBACK')
        throw e
      }
    }
    // A file made before incremental auto-vacuum was set: converted once (VACUUM rewrites the file).
    if (Number(raw.pragma('auto_vacuum', { simple: true })) !== 2) {
      raw.pragma('auto_vacuum = INCREMENTAL')
      raw.exec('VACUUM')
    }
    this.stmts = undefined
    return applied
  }

  private appliedVersions(): number[] {
    const table = this.raw.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()
    return table ? (this.raw.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]) : []
  }

  async pendingMigrations(): Promise<PendingMigration[]> {
    const applied = this.appliedVersions()
    checkSchemaVersion(applied)
    return pendingOf(applied, 'sqlite')
  }

  /**
   * Gives the free pages of large deletes back to the file system, 2,048 pages (8 MiB) a step:
   * each step takes the connection only for as long as it runs, so a batch waits for one step at
   * most, never for the whole reclamation.
   */
  async reclaimSpace(): Promise<void> {
    for (let before = Infinity; ;) {
      const left = await this.db.connection().execute(async () => {
        this.raw.pragma('incremental_vacuum(2048)')
        return Number(this.raw.pragma('freelist_count', { simple: true }))
      })
      // Done, or a step that freed nothing (a file not in incremental mode): stop.
      if (left === 0 || left >= before) return
      before = left
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  async close(): Promise<void> {
    // The thread first: the writer's connection, closed last, folds the WAL into the file and removes it.
    await this.checkpointer?.stop()
    if (this.reader !== this.db) await this.reader.destroy()
    await this.db.destroy()
  }

  /**
   * One index-only query per lookup key for the rows' `seq` (a cached prepared statement taking
   * its values as one JSON array: SQLite would answer an OR across several columns by scanning
   * the whole directory), then one read of those rows. A user named by two keys of a batch (its
   * email and its external id) is read and decoded once: reading whole rows per key cost twice
   * the time, nearly all of it the driver building row objects (13 against 5 ms per 1,000 users).
   */
  protected override async findUsersWith(_db: Kysely<DB>, directoryId: string, lookup: UserLookup, how: UserRead): Promise<UserRecord[]> {
    const run = (): UserRecord[] => {
      const s = (this.stmts ??= this.prepare())
      const seqs = new Set<number>()
      for (const l of USER_LOOKUPS) {
        const values = lookup[l.key]
        if (!values?.length) continue
        // better-sqlite3 returns plucked values untyped: these are INTEGER seqs.
        for (const seq of this.all(s.find.get(l.key)!, directoryId, JSON.stringify(l.folded ? values.map(normEmail) : values)) as number[])
          seqs.add(seq)
      }
      for (const [key, values] of Object.entries(lookup.fields ?? {}))
        if (values.length) for (const seq of this.all(this.customFind(directoryId, key), JSON.stringify(values)) as number[]) seqs.add(seq)
      if (seqs.size === 0) return []
      // Raw rows are arrays of USER_READ_COLUMNS.
      return (this.all(s.read, JSON.stringify([...seqs])) as unknown[][]).map((r) => userFromArray(r, sqliteCodec))
    }
    // Inside a transaction the connection is ours already, and it holds the database (no row locks
    // to take); outside, take the connection so no open transaction is read from.
    return how !== 'outside' ? run() : await this.db.connection().execute(async () => run())
  }

  /** Unique-field lookup statements, by directory and key (their text names both). */
  private customFinds = new Map<string, Database.Statement>()

  /**
   * The statement finding users by unique custom field `key`. A unique field's index is a partial
   * expression index (sqlite-dialect's uniqueFieldIndexDdl): SQLite uses it only for a query that
   * spells the same expression and the same directory literally, so both are inlined (checked safe
   * first); with them as parameters it scanned the whole table. Without statistics it still chose
   * `directory_id = …` on users_dir_seq (the whole directory): `likelihood(…, 0.9)` tells it that
   * term selects little, and keeps it in the query, as the partial index needs.
   */
  private customFind(directoryId: string, key: string): Database.Statement {
    const name = `${directoryId}/${key}`
    let stmt = this.customFinds.get(name)
    if (!stmt) {
      assertDdlSafe(directoryId, key)
      if (this.customFinds.size >= 256) this.customFinds.clear()
      stmt = this.raw
        .prepare(
          `SELECT seq FROM users WHERE likelihood(directory_id = '${directoryId}', 0.9) AND ${uniqueFieldExpr(key)} IN (SELECT value FROM json_each(?))`,
        )
        .pluck()
      this.customFinds.set(name, stmt)
    }
    return stmt
  }

  private all(stmt: Database.Statement, ...params: unknown[]): unknown[] {
    this.onQuery?.(stmt.source, params)
    return stmt.all(...params)
  }

  private prepare() {
    const cols = USER_COLUMNS.map((c) => c.name).join(', ')
    const marks = USER_COLUMNS.map(() => '?').join(', ')
    // One statement per unique field, by the column its lookups read (its index holds the seq).
    // Ids are unique across directories, and their index is `users(id)`: without statistics
    // (SQLite has none unless ANALYZE ran) the planner preferred `directory_id = ?` on
    // users_dir_seq and walked the whole directory (58 ms per 1,000 ids among 200,000 users,
    // against 0.6 ms); `+directory_id` keeps it to the id index.
    const find = new Map(
      USER_LOOKUPS.map((l) => {
        const dir = l.key === 'id' ? '+directory_id' : 'directory_id'
        return [
          l.key,
          this.raw.prepare(`SELECT seq FROM users WHERE ${dir} = ? AND ${l.column} IN (SELECT value FROM json_each(?))`).pluck(),
        ]
      }),
    )
    return {
      find,
      read: this.raw.prepare(`SELECT ${USER_READ_COLUMNS.join(', ')} FROM users WHERE seq IN (SELECT value FROM json_each(?))`).raw(),
      insertUser: this.raw.prepare(`INSERT INTO users (${cols}) VALUES (${marks})`),
      deleteUser: this.raw.prepare('DELETE FROM users WHERE directory_id = ? AND id = ? AND version = ?'),
      deleteMemberships: this.raw.prepare(
        'DELETE FROM group_members WHERE user_id = ? AND group_id IN (SELECT id FROM groups WHERE directory_id = ?)',
      ),
      insertChange: this.raw.prepare(
        'INSERT INTO changes (directory_id, user_id, action, at, channel, key_id, request_id, job_id, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
    }
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn)
      try {
        const result = await fn({
          jobs: new JobStore(conn, sqliteDialect, this.reader),
          ...this.txParts(conn),
          writeBatch: async (batch) => this.writeBatchSync(encodeBatch(batch, 'sqlite')),
          writeEncoded: async (batch) => this.writeBatchSync(batch),
        })
        await sql`COMMIT`.execute(conn)
        return result
      } catch (e) {
        await sql`ROLLBACK`.execute(conn)
        throw e
      }
    })
  }

  /**
   * The UPDATE of a user for EncodedBatch's skip bits: every USER_SET_COLUMNS column but the
   * INDEXED_SET_COLUMNS the bits leave out, then `WHERE id = ? AND version = ? AND directory_id = ?`.
   * `keep`: the positions of an update row it binds (the row's id and version read are its last
   * two), the directory after them; null when it binds the whole row (nothing left out).
   */
  private updates = new Map<number, { stmt: Database.Statement; keep: number[] | null }>()

  private updateStatement(skip: number): { stmt: Database.Statement; keep: number[] | null } {
    let u = this.updates.get(skip)
    if (!u) {
      const left = new Set(INDEXED_SET_COLUMNS.filter((_, k) => skip & (1 << k)))
      const set = USER_SET_COLUMNS.map((_, i) => i).filter((i) => !left.has(i))
      const sets = set.map((i) => `${USER_SET_COLUMNS[i].name} = ?`).join(', ')
      const stmt = this.raw.prepare(`UPDATE users SET ${sets} WHERE id = ? AND version = ? AND directory_id = ?`)
      u = { stmt, keep: skip === 0 ? null : [...set, USER_SET_COLUMNS.length, USER_SET_COLUMNS.length + 1] }
      this.updates.set(skip, u)
    }
    return u
  }

  /** Runs inside transaction(): the connection is ours until COMMIT. */
  private writeBatchSync(b: EncodedBatch): void {
    assertEncodedFor(b, 'sqlite')
    const s = (this.stmts ??= this.prepare())
    if (!this.checkpointer && this.filename !== ':memory:') {
      this.checkpointer = new Checkpointer(this.filename)
      // 16 MiB: the writer checkpoints itself only when the thread falls that far behind.
      this.raw.pragma('wal_autocheckpoint = 4096')
    }
    try {
      for (let j = 0; j < b.updates.length; j++) {
        const row = b.updates[j]
        const { stmt, keep } = this.updateStatement(b.updateSkips?.[j] ?? 0)
        const r = keep ? stmt.run(...keep.map((i) => row[i]), b.directoryId) : stmt.run(...row, b.directoryId)
        if (r.changes !== 1) throw new WriteConflict(`user ${String(row.at(-2))} changed concurrently`, 'version')
      }
      for (const d of b.deletes) {
        const r = s.deleteUser.run(b.directoryId, d.userId, d.expectedVersion)
        if (r.changes !== 1) throw new WriteConflict(`user ${d.userId} changed concurrently`, 'version')
        s.deleteMemberships.run(d.userId, b.directoryId)
      }
      // Inserts last: an update in the same batch may free a unique value a new user takes.
      for (const row of b.inserts) s.insertUser.run(row)
      for (const c of b.changes) s.insertChange.run(b.directoryId, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
    } catch (e) {
      if (sqliteDialect.isUniqueViolation(e)) {
        const message = e instanceof Error ? e.message : String(e)
        throw new WriteConflict(message, constraintOf(message))
      }
      throw e
    }
  }
}

/** The unique field a violation names (SQLite says `UNIQUE constraint failed: users.directory_id, users.email_norm`). */
function constraintOf(message: string): WriteConflict['constraint'] {
  return USER_LOOKUPS.find((l) => l.key !== 'id' && message.includes(`users.${l.column}`))?.key ?? 'id'
}
