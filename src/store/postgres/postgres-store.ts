import { Kysely, PostgresDialect, type RawBuilder, sql } from 'kysely'
import pg from 'pg'
import type { FeedPosition, UserRecord } from '../../core/types.js'
import { BaseStore, type UserRead } from '../base-store.js'
import { errorCode } from '../dialect.js'
import {
  changeFromRow,
  int,
  postgresCodec,
  USER_COLUMNS,
  USER_READ_COLUMNS,
  USER_SET_COLUMNS,
  type UserColumn,
  userFromRow,
  type UserRow,
} from '../codec.js'
import type { DB } from '../db-types.js'
import { JobStore } from '../job-store.js'
import { assertEncodedFor, encodeBatch } from '../encode.js'
import { checkSchemaVersion, MIGRATIONS, type PendingMigration, pendingOf } from '../migrations/index.js'
import {
  type EncodedBatch,
  type FeedPage,
  observeQueries,
  type QueryObserver,
  type StoreLocation,
  type StoreTx,
  type UserLookup,
  WriteConflict,
} from '../store.js'
import { pgArray } from './pg-array.js'
import { postgresDialect } from './postgres-dialect.js'
import { normEmail } from '../../core/normalize.js'
import { USER_LOOKUPS } from '../../core/user-fields.js'

export interface PostgresStoreOptions {
  connectionString: string
  /** Pool size; the default suits one API node on a small machine. */
  max?: number
  onQuery?: QueryObserver
}

/**
 * `2026-01-31 12:00:00.123+00` (PostgreSQL's ISO DateStyle) → `2026-01-31T12:00:00.123Z`.
 * The pool's sessions run in UTC, so nearly every value is a four-digit year at `+00`: those are
 * rewritten as text (the fraction cut to milliseconds, as Date does), without the regex and the
 * Date each value cost before (8 % of the server's time re-reading a batch of unchanged users).
 * Anything else (another offset, a year past 9999, BC) takes the general path.
 */
export function pgTimestampToIso(text: string): string {
  const n = text.length
  if (n >= 22 && n <= 29 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32 && text.endsWith('+00')) {
    const at = `${text.slice(0, 10)}T${text.slice(11, 19)}`
    if (n === 22) return `${at}.000Z`
    if (text.charCodeAt(19) === 46 && n >= 24) return `${at}.${n >= 26 ? text.slice(20, 23) : text.slice(20, n - 3).padEnd(3, '0')}Z`
  }
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(text)
  if (!m) return new Date(text).toISOString()
  return new Date(`${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`).toISOString()
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1184) return (v: string) => pgTimestampToIso(v)
    return pg.types.getTypeParser(oid, format)
  },
}

/** The columns userFromRow reads, for the batch lookup. */
const READ_COLUMNS = sql.join(USER_READ_COLUMNS.map((c) => sql.ref(c)))

/** What the batch lookup's first probe keeps of each user it finds: its seq and the columns the other keys are looked up by. */
const LOOKUP_COLUMNS = sql.join(['seq', ...new Set(USER_LOOKUPS.map((l) => l.column))].map((c) => sql.ref(c)))

// An advisory lock key for migrations ("rollcall" in ASCII, as a bigint).
const MIGRATION_LOCK = 0x726f6c6c63616c6cn

/**
 * The change feed orders records by the id of the transaction that wrote them (migration 007).
 * Transaction ids grow for the life of a cluster, but a database restored into another cluster
 * (pg_dump, then pg_restore elsewhere) keeps the old cluster's ids, which may be ahead of the new
 * one's: the feed would hold those records back and put new records before them. At start, the
 * records of a directory ahead of the cluster's current id (found by the feed index, per
 * directory) are set to 0, before every other: a consumer whose cursor named one of them gets
 * 410 cursor_expired (its record no longer matches) and starts again, rather than skip records.
 */
const FEED_REPAIR = `
UPDATE changes SET txid = '0'
WHERE txid > pg_current_xact_id() AND directory_id IN (
  SELECT d.id FROM directories d WHERE (SELECT max(c.txid) FROM changes c WHERE c.directory_id = d.id) > pg_current_xact_id())`

/**
 * PostgreSQL via pg. Batches read their users unlocked (readUsers) or locked (`FOR UPDATE`, in id
 * order) and write with `unnest()` arrays: one statement per table per batch, whatever the batch
 * size; updates and deletes name the version they were planned against.
 */
export class PostgresStore extends BaseStore {
  readonly pool: pg.Pool
  readonly jobs: JobStore
  readonly location: StoreLocation

  constructor(opts: PostgresStoreOptions) {
    const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.max ?? 10, types, options: '-c TimeZone=UTC' })
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    pool.on('error', () => {})
    super(new Kysely<DB>({ dialect: new PostgresDialect({ pool }), ...observeQueries(opts.onQuery) }), postgresDialect)
    this.pool = pool
    this.jobs = new JobStore(this.db, postgresDialect)
    this.location = { engine: 'postgres', connectionString: opts.connectionString }
  }

  /**
   * Outside a transaction, a batch's users are read in one of their own with the settings the
   * batches use (BATCH_SETTINGS): the import planner's thread reads them so, beside the writer.
   */
  override findUsers(directoryId: string, lookup: UserLookup): Promise<UserRecord[]> {
    return batchTransaction(this.db, (trx) => this.findUsersWith(trx, directoryId, lookup, 'read'))
  }

  /** Nothing to do: autovacuum makes the space of deleted rows reusable on its own. */
  async reclaimSpace(): Promise<void> {}

  /**
   * Applies the pending migrations, then repairs the change feed's order after a restore into
   * another cluster (FEED_REPAIR), under the migration lock: every process runs it at start.
   */
  async migrate(): Promise<string[]> {
    const client = await this.pool.connect()
    const applied: string[] = []
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()])
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)',
      )
      checkSchemaVersion((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version))
      for (const m of MIGRATIONS) {
        await client.query('BEGIN')
        try {
          const r = await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING',
            [m.version, m.name],
          )
          if (r.rowCount === 1) {
            await client.query(m.postgres)
            applied.push(`${m.version}-${m.name}`)
          }
          await client.query('COMMIT')
        } catch (e) {
          await client.query('ROLLBACK')
          throw e
        }
      }
      await client.query(FEED_REPAIR)
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => {})
      client.release()
    }
    return applied
  }

  async pendingMigrations(): Promise<PendingMigration[]> {
    const exists = await this.pool.query("SELECT to_regclass('schema_migrations') AS t")
    const applied = exists.rows[0].t
      ? (await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version)
      : []
    checkSchemaVersion(applied)
    return pendingOf(applied, 'postgres')
  }

  async close(): Promise<void> {
    await this.db.destroy()
    // Kysely ends the pool only once a query of its own ran: a process that only migrated
    // (`rollcall migrate`) kept an idle client and waited 10 s to exit.
    if (!this.pool.ending && !this.pool.ended) await this.pool.end()
  }

  /**
   * The change feed by (transaction id, seq), handing out only records of transactions older
   * than every one still running (migration 007): a record numbered before one already handed
   * out, but committed after it, still comes after the cursor. A cursor names its record's
   * transaction id too, which a restore into another cluster may have reset (FEED_REPAIR): then
   * it is expired, not skipped past.
   */
  override async changeFeed(directoryId: string, after: FeedPosition | null, limit: number): Promise<FeedPage> {
    if (after) {
      const still =
        await sql`SELECT 1 FROM changes WHERE seq = ${after.seq} AND directory_id = ${directoryId} AND txid = ${after.txid}::xid8`.execute(
          this.db,
        )
      if (still.rows.length === 0) return { items: [], expired: true }
    }
    const from = after ? sql`AND (txid, seq) > (${after.txid}::xid8, ${after.seq})` : sql``
    const rows = await sql<Parameters<typeof changeFromRow>[0] & { txid_text: string }>`
      SELECT *, txid::text AS txid_text FROM changes
      WHERE directory_id = ${directoryId} AND txid < pg_snapshot_xmin(pg_current_snapshot()) ${from}
      ORDER BY txid, seq LIMIT ${limit}`.execute(this.db)
    return {
      items: rows.rows.map((r) => ({ ...changeFromRow(r, postgresCodec), position: { txid: r.txid_text, seq: int(r.seq) } })),
      expired: false,
    }
  }

  /** The newest record the feed hands out now: of the transactions older than every running one, the last in (txid, seq) order. */
  override async feedHead(directoryId: string): Promise<FeedPosition | null> {
    const r = await sql<{ txid_text: string; seq: string | number }>`
      SELECT txid::text AS txid_text, seq FROM changes
      WHERE directory_id = ${directoryId} AND txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY txid DESC, seq DESC LIMIT 1`.execute(this.db)
    return r.rows[0] ? { txid: r.rows[0].txid_text, seq: int(r.rows[0].seq) } : null
  }

  /**
   * One query for all lookups of a batch, each value list as one array parameter: with a long
   * IN list the planner misjudges the row count and scans the whole directory.
   *
   * Each key's values are probed one by one in its unique index (a LATERAL lookup per value), the
   * seqs gathered, then those rows read (and locked) by primary key. One `key = ANY(…) OR …`
   * condition let the planner weigh 2,000 index probes against reading the directory, and it read
   * the directory: 65 ms for a batch beside 100,000 users, growing with the directory. Measured
   * beside 50,000 users, 1,000 rows naming users by email and external id: 17 ms against 24 when
   * they exist, 5 against 11-16 when they are new; `key = ANY(…)` per key instead of the LATERAL
   * probes took 20-39 ms (PostgreSQL 15 walks the index once per array element, slowly).
   *
   * The key with the most values is probed first (`a`); another key's values are probed only
   * where no user found by it holds them. A batch that names its users by email and external id
   * finds them by one of the two (the first in USER_LOOKUPS order when both have as many values)
   * and leaves out the other's values they hold: a batch of existing users probes one index
   * instead of two (1,000 probes, about 4 ms, fewer per batch). A value held by a
   * user of `a` is held by no other user of the directory (the indexes are unique), so nothing
   * is missed.
   */
  protected override async findUsersWith(db: Kysely<DB>, directoryId: string, lookup: UserLookup, how: UserRead): Promise<UserRecord[]> {
    const keys = USER_LOOKUPS.flatMap((l) => {
      const values = lookup[l.key]
      return values?.length ? [{ ...l, values: l.folded ? values.map(normEmail) : values }] : []
    })
    const probe = (l: (typeof keys)[number], columns: RawBuilder<unknown>) =>
      sql`unnest(${pgArray(l.values)}::text[]) AS k(v)
        CROSS JOIN LATERAL (SELECT ${columns} FROM users WHERE directory_id = ${unestimated(directoryId)} AND ${sql.ref(l.column)} = k.v) AS x`
    const anchor = keys.reduce<(typeof keys)[number] | null>((best, l) => (best && best.values.length >= l.values.length ? best : l), null)
    const branches = []
    if (anchor) branches.push(sql`SELECT seq FROM a`)
    for (const l of keys)
      if (l !== anchor)
        branches.push(sql`SELECT x.seq FROM ${probe(l, sql`seq`)}
          WHERE k.v NOT IN (SELECT ${sql.ref(l.column)} FROM a WHERE ${sql.ref(l.column)} IS NOT NULL)`)
    for (const [key, values] of Object.entries(lookup.fields ?? {}))
      if (values.length)
        branches.push(
          sql`SELECT seq FROM users WHERE directory_id = ${directoryId} AND (fields ->> ${key}) = ANY(${values.map(String)}::text[])`,
        )
    if (branches.length === 0) return []
    const found = anchor ? sql`WITH a AS MATERIALIZED (SELECT x.* FROM ${probe(anchor, LOOKUP_COLUMNS)}) ` : sql``
    // Locks are taken in id order (bytewise, as updateUsers writes), so two batches over the same
    // users cannot deadlock. The columns a user is read from, not `*`: the folded keys and seq cost
    // the driver a parse each.
    const r = await sql<UserRow>`${found}SELECT ${READ_COLUMNS} FROM users WHERE seq = ANY(ARRAY(${sql.join(branches, sql` UNION `)}))
      ${how === 'lock' ? sql`ORDER BY id COLLATE "C" FOR UPDATE` : sql``}`.execute(db)
    return r.rows.map((row) => userFromRow(row, postgresCodec))
  }

  /**
   * Rows written since the last ANALYZE we ran. A bulk import grows a table faster than
   * autovacuum analyses it (and autovacuum may be off): with statistics that still say "a few
   * hundred users", the planner would misjudge every query of a directory outside the batches
   * (which read by index whatever the statistics say: BATCH_SETTINGS, `unestimated`). So the store analyses the
   * tables it bulk-writes itself, each time they doubled: statistics stay within a factor of two
   * of the table. ANALYZE samples a bounded number of rows and does not block writers, but it is
   * not free: 0.6 s of the database's CPU each time beside 200,000 users and their history.
   * Analysing at every fifth more (as before) ran it 19 times in two 200,000-row imports, 11 of
   * the database's 32 s of CPU. A table that held rows before this process started counts them,
   * as its statistics do already (`reltuples`): a restart does not start over from 5,000.
   *
   * Each directory doubles too: users created in a directory since the last ANALYZE, against the
   * rows the statistics give it (the planner's estimate, asked once per directory; then what this
   * process created there by the last ANALYZE). A directory filling beside a larger one the
   * statistics know would otherwise stay "one user" to the planner until the whole table doubled:
   * a unique custom field's lookup (its partial index names the directory literally, so
   * `unestimated` cannot hide it) then walked the directory once per batch, 91 ms per batch
   * beside 200,000 users and growing with it (test/store-fresh-directory.test.ts).
   */
  private analyze = {
    written: 0,
    baseline: 0,
    running: false,
    known: false,
    dirs: new Map<string, { created: number; baseline: number | null }>(),
  }

  private noteWrites(directoryId: string, created: number, written: number): void {
    const a = this.analyze
    a.written += written
    let d = a.dirs.get(directoryId)
    if (!d) a.dirs.set(directoryId, (d = { created: 0, baseline: null }))
    d.created += created
    const due = (): boolean => a.written >= Math.max(5_000, a.baseline) || d.created >= Math.max(5_000, d.baseline ?? 0)
    if (a.running || !due()) return
    a.running = true
    void (async () => {
      if (!a.known) {
        const r = await sql<{ n: number }>`SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = 'users'::regclass`.execute(
          this.db,
        )
        a.known = true
        a.baseline = Number(r.rows[0]?.n ?? 0)
      }
      if (d.baseline === null) d.baseline = await this.estimatedUsers(directoryId)
      if (!due()) return
      const written = a.written
      const created = new Map([...a.dirs].map(([id, e]) => [id, e.created]))
      await sql`ANALYZE users, changes`.execute(this.db)
      a.baseline += written
      a.written -= written
      for (const [id, n] of created) {
        const e = a.dirs.get(id)
        if (!e) continue
        e.created -= n
        if (e.baseline !== null) e.baseline += n
      }
    })()
      .catch(() => {})
      .finally(() => {
        a.running = false
      })
  }

  /** The users the planner's statistics give a directory. */
  private async estimatedUsers(directoryId: string): Promise<number> {
    const r = await sql<{
      'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }]
    }>`EXPLAIN (FORMAT JSON) SELECT 1 FROM users WHERE directory_id = ${directoryId}`.execute(this.db)
    return Number(r.rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0)
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // What the transaction wrote, by directory (one, for the engine's batches), counted once it committed.
    const wrote: { directoryId: string; created: number; written: number }[] = []
    const note = (b: { directoryId: string; inserts: unknown[]; updates: unknown[] }): void => {
      wrote.push({ directoryId: b.directoryId, created: b.inserts.length, written: b.inserts.length + b.updates.length })
    }
    try {
      return await batchTransaction(this.db, (trx) =>
        fn({
          jobs: new JobStore(trx, postgresDialect),
          ...this.txParts(trx),
          writeBatch: (batch) => {
            note(batch)
            return this.writeBatchWith(trx, encodeBatch(batch, 'postgres'))
          },
          writeEncoded: (batch) => {
            note(batch)
            return this.writeBatchWith(trx, batch)
          },
        }),
      ).then((result) => {
        for (const w of wrote) if (w.written) this.noteWrites(w.directoryId, w.created, w.written)
        return result
      })
    } catch (e) {
      const code = errorCode(e)
      // A deadlock or serialization failure lost a race as a unique violation does: the caller retries.
      if (code === '40P01' || code === '40001') throw new WriteConflict(`transaction lost a race (${code})`, 'version')
      throw e
    }
  }

  private async writeBatchWith(trx: Kysely<DB>, b: EncodedBatch): Promise<void> {
    assertEncodedFor(b, 'postgres')
    try {
      if (b.updates.length) await this.updateUsers(trx, b)
      if (b.deletes.length) {
        const deletes = inIdOrder(b.deletes, (d) => d.userId)
        const ids = deletes.map((d) => d.userId)
        const versions = deletes.map((d) => d.expectedVersion)
        const r = await sql`
          DELETE FROM users u USING unnest(${pgArray(ids)}::text[], ${pgArray(versions)}::int[]) AS v(id, version)
          WHERE u.directory_id = ${unestimated(b.directoryId)} AND u.id = v.id AND u.version = v.version`.execute(trx)
        if (Number(r.numAffectedRows) !== ids.length) throw new WriteConflict('a user changed concurrently', 'version')
        await sql`
          DELETE FROM group_members WHERE user_id = ANY(${pgArray(ids)}::text[])
          AND group_id IN (SELECT id FROM groups WHERE directory_id = ${b.directoryId})`.execute(trx)
      }
      // Inserts after updates and deletes: those may free a unique value a new user takes.
      if (b.inserts.length) await this.insertUsers(trx, b)
      if (b.changes.length) {
        const col = (i: number, type: string) =>
          values(
            b.changes.map((row) => row[i]),
            type,
          )
        await sql`
          INSERT INTO changes (directory_id, user_id, action, at, channel, key_id, request_id, job_id, changes)
          SELECT ${b.directoryId}, * FROM ROWS FROM (${col(0, 'text')}, ${col(1, 'text')}, ${col(2, 'timestamptz')},
            ${col(3, 'text')}, ${col(4, 'text')}, ${col(5, 'text')}, ${col(6, 'text')}, ${col(7, 'json')})`.execute(trx)
      }
    } catch (e) {
      if (postgresDialect.isUniqueViolation(e)) {
        const c = typeof e === 'object' && e !== null && 'constraint' in e ? String(e.constraint) : ''
        const detail = typeof e === 'object' && e !== null && 'detail' in e ? String(e.detail) : ''
        throw new WriteConflict(`unique constraint ${c}`, uniqueKeyOf(detail))
      }
      throw e
    }
  }

  /** Each column's values as a set-returning function (see `values`): one parameter per column, whatever the batch size. */
  private arrays(rows: readonly unknown[][], columns: readonly UserColumn[]) {
    return columns.map((col, i) =>
      values(
        rows.map((r) => r[i]),
        col.pgType,
      ),
    )
  }

  private async insertUsers(trx: Kysely<DB>, b: EncodedBatch): Promise<void> {
    await sql`
      INSERT INTO users (${sql.join(USER_COLUMNS.map((c) => sql.ref(c.name)))})
      SELECT * FROM ROWS FROM (${sql.join(this.arrays(b.inserts, USER_COLUMNS))})`.execute(trx)
  }

  private async updateUsers(trx: Kysely<DB>, b: EncodedBatch): Promise<void> {
    // Each row: the USER_SET_COLUMNS values, then the user's id and the version it was read at.
    // Rows in id order: the join walks the arrays in order, so it locks the users in the order
    // the batch lookup does (a batch that read its users unlocked takes its locks here).
    const n = USER_SET_COLUMNS.length
    const rows = inIdOrder(b.updates, (row) => row[n] as string)
    const ids = values(
      rows.map((row) => row[n]),
      'text',
    )
    const versions = values(
      rows.map((row) => row[n + 1]),
      'int',
    )
    const r = await sql`
      UPDATE users AS u SET ${sql.join(USER_SET_COLUMNS.map((c) => sql`${sql.ref(c.name)} = ${sql.ref(`v.${c.name}`)}`))}
      FROM ROWS FROM (${ids}, ${sql.join(this.arrays(rows, USER_SET_COLUMNS))}, ${versions})
        AS v(id, ${sql.join(USER_SET_COLUMNS.map((c) => sql.ref(c.name)))}, expected_version)
      WHERE u.directory_id = ${unestimated(b.directoryId)} AND u.id = v.id AND u.version = v.expected_version`.execute(trx)
    if (Number(r.numAffectedRows) !== b.updates.length) throw new WriteConflict('a user changed concurrently', 'version')
  }
}

/**
 * Batches join a few hundred rows to users by key. Without statistics (a directory that was just
 * bulk-loaded, before autovacuum analyses it) the planner would hash the whole directory; nested
 * loops over the unique indexes are right for batch-sized joins. With statistics, it read a whole
 * 100,000-user directory (65 ms) rather than probe the email and external-id indexes 2,000 times
 * (its cost model takes each probe for a disk read, but a batch's pages are in shared buffers): a
 * batch reads by key, never by scan. JIT is off too: no batch statement runs long enough to repay
 * compiling it, and a scan these settings penalise would push its cost past JIT's threshold. All
 * five go with the transaction's BEGIN (batchTransaction; set_config(…, true) is SET LOCAL).
 */
const BATCH_SETTINGS = `SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
    set_config('enable_material', 'off', true), set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)`

/**
 * `fn` in a transaction with the batch settings, begun in the same round trip as them: `BEGIN`
 * and the settings go as one simple-protocol query (no parameters, so PostgreSQL takes both
 * statements at once), where Kysely's transaction would send `begin` on its own first. A request's
 * fixed round trips each cost 0.5–1 ms on a busy machine (the key, the directory, its fields,
 * `begin`, the settings: about 4 ms of a 32 ms batch of 1,000 unchanged users). Commits when `fn`
 * resolves; rolls back when it throws.
 */
async function batchTransaction<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(`BEGIN; ${BATCH_SETTINGS}`).execute(conn)
    let result: T
    try {
      result = await fn(conn)
    } catch (e) {
      await sql
        .raw('ROLLBACK')
        .execute(conn)
        .catch(() => {})
      throw e
    }
    await sql.raw('COMMIT').execute(conn)
    return result
  })
}

/**
 * A batch statement's directory, hidden from the planner's estimate: `(SELECT $1)` is a value it
 * learns only when the statement runs. Spelled as a plain parameter, the planner estimates the
 * directory's rows from the statistics, and a directory they do not know yet (one filling beside
 * another that was analysed, before its first 5,000 users bring the store's ANALYZE) comes out at one row. It
 * then walked that directory once per value of the batch (a nested loop with the directory's index
 * outside): 7.7 s to read 1,000 users of a 50,000-user directory beside an analysed one of 200,000,
 * and the 4-concurrent-imports benchmark slowed to 170 rows/s. Not knowing the value, it counts a
 * directory as an average one, and probes the (directory, key) unique index per value, or the id
 * index: 7.6 ms for the same read in EXPLAIN ANALYZE, 15 ms through the store
 * (test/store-fresh-directory.test.ts).
 */
const unestimated = (directoryId: string): RawBuilder<unknown> => sql`(SELECT ${directoryId}::text)`

/**
 * A column of a batch as a set-returning function for `ROWS FROM (…)`, which zips them row by
 * row: `unnest` of a typed array literal (pgArray), or for JSON, `json_array_elements` of one JSON
 * array of the values' texts. Those texts go as they are: in a `json[]` literal every quote in
 * them was escaped, a regex replace per value that allocated 1.1 GB in a 200,000-row import.
 */
function values(column: readonly unknown[], pgType: string): RawBuilder<unknown> {
  if (pgType !== 'json') return sql`unnest(${pgArray(column)}::${sql.raw(pgType)}[])`
  for (const v of column) if (typeof v !== 'string') throw new TypeError('a JSON column of a batch holds JSON texts only')
  return sql`json_array_elements(${`[${column.join(',')}]`}::json)`
}

/**
 * `items` in bytewise order of their user ids (a copy when they were not), the order the batch
 * lookup locks in (`ORDER BY id COLLATE "C"`): writers of the same users then wait for each other
 * rather than deadlock. (JavaScript compares UTF-16 units, which orders as UTF-8 bytes do but for
 * characters beyond U+FFFF against U+E000–U+FFFF; such ids could only cost a retry.)
 */
export function inIdOrder<T>(items: readonly T[], idOf: (item: T) => string): readonly T[] {
  for (let i = 1; i < items.length; i++)
    if (idOf(items[i - 1]) > idOf(items[i])) return [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0))
  return items
}

/** The unique field a violation names: its detail reads `Key (directory_id, email_norm)=(…) already exists.` */
function uniqueKeyOf(detail: string): WriteConflict['constraint'] {
  const columns = /^Key \(([^)]*)\)=/.exec(detail)?.[1].split(', ') ?? []
  return USER_LOOKUPS.find((l) => l.key !== 'id' && columns.includes(l.column))?.key ?? 'id'
}
