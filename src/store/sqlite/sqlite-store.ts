import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { type Expression, Kysely, type SqlBool, SqliteDialect, sql } from 'kysely'
import type { FieldDefinition, UserRecord } from '../../core/types.js'
import { assertDdlSafe, BaseStore, uniqueIndexName } from '../base-store.js'
import { type Codec, sqliteCodec, USER_COLUMNS, userFromRow, userValues } from '../codec.js'
import type { DB } from '../db-types.js'
import { JobStore } from '../job-store.js'
import { MIGRATIONS } from '../migrations/index.js'
import { type BatchWrite, observeQueries, type QueryObserver, type StoreCapabilities, type StoreTx, type UserLookup, WriteConflict } from '../store.js'
import type { UserFilterDialect } from '../user-filter.js'
import { UniqueViolation } from '../store.js'
import { normEmail } from '../../core/normalize.js'

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:'. */
  filename: string
  onQuery?: QueryObserver
}

const jsonPath = (key: string): string => `$."${key.replace(/"/g, '""')}"`

/**
 * SQLite via better-sqlite3, in WAL mode. One connection, guarded by Kysely's connection mutex:
 * a transaction holds it for its whole life, so nothing else in the process interleaves with a
 * batch. The batch write itself uses prepared statements on that connection (the hot path).
 */
export class SqliteStore extends BaseStore {
  readonly dialect = 'sqlite' as const
  readonly capabilities: StoreCapabilities = { multiProcess: false, skipLocked: false }
  protected readonly db: Kysely<DB>
  protected readonly codec: Codec = sqliteCodec
  readonly raw: Database.Database
  readonly jobs: JobStore
  /** A read-only second connection (WAL readers do not wait for the writer): job input is read through it. */
  private readonly reader: Kysely<DB>
  private stmts?: ReturnType<SqliteStore['prepare']>

  constructor(opts: SqliteStoreOptions) {
    super()
    if (opts.filename !== ':memory:') mkdirSync(dirname(opts.filename), { recursive: true })
    this.raw = new Database(opts.filename)
    // Space freed by large deletes (a discarded upload) can be given back to the file system
    // (reclaimSpace); takes effect on a new file, and migrate() converts an older one.
    this.raw.pragma('auto_vacuum = INCREMENTAL')
    this.raw.pragma('journal_mode = WAL')
    this.raw.pragma('synchronous = NORMAL')
    this.raw.pragma('foreign_keys = ON')
    this.raw.pragma('busy_timeout = 10000')
    // 64 MiB of page cache (the default is 2 MiB): a bulk batch touches the users table, its four
    // unique indexes and the history indexes; with the default the same pages are read and
    // written again batch after batch.
    this.raw.pragma('cache_size = -65536')
    this.raw.pragma('temp_store = MEMORY')
    this.db = new Kysely<DB>({ dialect: new SqliteDialect({ database: this.raw }), ...observeQueries(opts.onQuery) })
    this.reader =
      opts.filename === ':memory:'
        ? this.db
        : new Kysely<DB>({ dialect: new SqliteDialect({ database: new Database(opts.filename, { readonly: true }) }), ...observeQueries(opts.onQuery) })
    this.jobs = new JobStore(this.db, this.codec, false, this.reader)
  }

  async migrate(): Promise<string[]> {
    const raw = this.raw
    raw.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)')
    const applied: string[] = []
    for (const m of MIGRATIONS) {
      // BEGIN IMMEDIATE takes the write lock first: a concurrent runner waits, then sees the row.
      raw.exec('BEGIN IMMEDIATE')
      try {
        const done = raw.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version)
        if (!done) {
          raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString())
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

  /** Gives the free pages of large deletes back to the file system. */
  async reclaimSpace(): Promise<void> {
    this.raw.pragma('incremental_vacuum')
  }

  async close(): Promise<void> {
    if (this.reader !== this.db) await this.reader.destroy()
    await this.db.destroy()
  }

  protected isUniqueViolation(e: unknown): boolean {
    return (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  }

  protected customFieldEquals(key: string, value: string | number | boolean): Expression<SqlBool> {
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value
    return sql<SqlBool>`json_extract(fields, ${jsonPath(key)}) = ${v}`
  }

  protected changeTouches(field: string): Expression<SqlBool> {
    return sql<SqlBool>`json_type(changes, ${jsonPath(field)}) IS NOT NULL`
  }

  /**
   * One indexed query per lookup key, each a cached prepared statement taking its values as one
   * JSON array: SQLite would answer an OR across several columns by scanning the whole directory.
   */
  protected override async findUsersWith(db: Kysely<DB>, directoryId: string, lookup: UserLookup, lock: boolean): Promise<UserRecord[]> {
    const run = (): UserRecord[] => {
      const s = (this.stmts ??= this.prepare())
      const byId = new Map<string, UserRecord>()
      const take = (rows: unknown[]) => {
        for (const r of rows as Record<string, unknown>[]) if (!byId.has(r.id as string)) byId.set(r.id as string, userFromRow(r, this.codec))
      }
      if (lookup.id?.length) take(s.findById.all(directoryId, JSON.stringify(lookup.id)))
      if (lookup.externalId?.length) take(s.findByExternal.all(directoryId, JSON.stringify(lookup.externalId)))
      if (lookup.email?.length) take(s.findByEmail.all(directoryId, JSON.stringify(lookup.email.map(normEmail))))
      if (lookup.username?.length) take(s.findByUsername.all(directoryId, JSON.stringify(lookup.username.map(normEmail))))
      return [...byId.values()]
    }
    const custom = Object.entries(lookup.fields ?? {}).filter(([, v]) => v.length > 0)
    const rest = custom.length ? await super.findUsersWith(db, directoryId, { fields: Object.fromEntries(custom) }, lock) : []
    // Inside a transaction the connection is ours already; outside, take it so no open transaction is read from.
    const found = lock ? run() : await this.db.connection().execute(async () => run())
    const ids = new Set(found.map((u) => u.id))
    return [...found, ...rest.filter((u) => !ids.has(u.id))]
  }

  protected customFieldIn(key: string, values: (string | number)[]): Expression<SqlBool> {
    return sql<SqlBool>`json_extract(fields, ${jsonPath(key)}) IN (${sql.join(values)})`
  }

  protected readonly userFilterDialect: UserFilterDialect = {
    // Guarded by the JSON type: SQLite would otherwise compare a number with text (every number sorts first).
    customValue: (key, kind) => {
      const types = kind === 'number' ? sql`IN ('integer', 'real')` : kind === 'boolean' ? sql`IN ('true', 'false')` : sql`= 'text'`
      return sql`(CASE WHEN json_type(fields, ${jsonPath(key)}) ${types} THEN json_extract(fields, ${jsonPath(key)}) END)`
    },
    // SQLite's default collation is already code-point order.
    binaryText: (e) => e,
  }

  async setUniqueFieldIndex(directoryId: string, key: string, unique: boolean): Promise<void> {
    assertDdlSafe(directoryId, key)
    const name = uniqueIndexName(directoryId, key)
    const expr = `json_extract(fields, '${jsonPath(key)}')`
    const ddl = unique
      ? `CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON users (${expr}) WHERE directory_id = '${directoryId}' AND ${expr} IS NOT NULL`
      : `DROP INDEX IF EXISTS ${name}`
    try {
      await sql.raw(ddl).execute(this.db)
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new UniqueViolation(key)
      throw e
    }
  }

  protected nextDirectoryNumber(): Expression<number> {
    return sql<number>`(SELECT COALESCE(MAX(number), 0) + 1 FROM directories)`
  }

  private prepare() {
    const cols = USER_COLUMNS.join(', ')
    const marks = USER_COLUMNS.map(() => '?').join(', ')
    const sets = USER_COLUMNS.filter((c) => c !== 'id' && c !== 'directory_id')
      .map((c) => `${c} = ?`)
      .join(', ')
    const find = (column: string) =>
      this.raw.prepare(`SELECT * FROM users WHERE directory_id = ? AND ${column} IN (SELECT value FROM json_each(?))`)
    return {
      findById: find('id'),
      findByExternal: find('external_id'),
      findByEmail: find('email_norm'),
      findByUsername: find('username_norm'),
      insertUser: this.raw.prepare(`INSERT INTO users (${cols}) VALUES (${marks})`),
      updateUser: this.raw.prepare(`UPDATE users SET ${sets} WHERE directory_id = ? AND id = ? AND version = ?`),
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
          jobs: new JobStore(conn, this.codec, false, this.reader),
          lockUsers: (directoryId: string, lookup: UserLookup) => this.findUsersWith(conn, directoryId, lookup, true),
          idsTakenElsewhere: (directoryId: string, ids: readonly string[]) => this.idsTakenWith(conn, directoryId, ids),
          defineFields: (directoryId: string, defs: readonly FieldDefinition[]) => this.defineFieldsWith(conn, directoryId, defs),
          writeBatch: async (batch: BatchWrite) => this.writeBatchSync(batch),
        })
        await sql`COMMIT`.execute(conn)
        return result
      } catch (e) {
        await sql`ROLLBACK`.execute(conn)
        throw e
      }
    })
  }

  /** Runs inside transaction(): the connection is ours until COMMIT. */
  private writeBatchSync(b: BatchWrite): void {
    const s = (this.stmts ??= this.prepare())
    const c = this.codec
    try {
      for (const { user, expectedVersion } of b.updates) {
        const v = userValues(user, c)
        const r = s.updateUser.run(...v.slice(2), user.directoryId, user.id, expectedVersion)
        if (r.changes !== 1) throw new WriteConflict(`user ${user.id} changed concurrently`, 'version')
      }
      for (const d of b.deletes ?? []) {
        const r = s.deleteUser.run(b.directoryId, d.userId, d.expectedVersion)
        if (r.changes !== 1) throw new WriteConflict(`user ${d.userId} changed concurrently`, 'version')
        s.deleteMemberships.run(d.userId, b.directoryId)
      }
      // Inserts last: an update in the same batch may free a unique value a new user takes.
      for (const u of b.inserts) s.insertUser.run(userValues(u, c))
      for (const ch of b.changes) {
        s.insertChange.run(b.directoryId, ch.userId, ch.action, ch.at, ch.channel, ch.keyId, ch.requestId, ch.jobId, JSON.stringify(ch.changes))
      }
    } catch (e) {
      if (this.isUniqueViolation(e)) throw new WriteConflict(String((e as Error).message), constraintOf(String((e as Error).message)))
      throw e
    }
  }
}

function constraintOf(message: string): WriteConflict['constraint'] {
  if (message.includes('email_norm')) return 'email'
  if (message.includes('username_norm')) return 'username'
  if (message.includes('external_id')) return 'externalId'
  return 'id'
}
