/**
 * `BENCH_PARTS=explain npm run bench`: the plans of the bulk engine's statements in a directory
 * of BENCH_EXPLAIN_USERS users (1,000,000), on both engines. One batch of BENCH_EXPLAIN_BATCH rows
 * (1,000: half updates of users spread over the directory, half new users, each row naming its
 * user by email and external id) runs as a dry run, which executes every statement of a real batch
 * and rolls back; each statement it ran is captured and explained again with the same values:
 * PostgreSQL `EXPLAIN (ANALYZE, BUFFERS)` inside a transaction that is rolled back, with the
 * planner settings the store's batches use; SQLite `EXPLAIN QUERY PLAN` of the batch lookups (its
 * writes are single-row statements by primary key). A sequential scan of users or changes, or an
 * index walked by the directory alone, is flagged. Writes bench/results/explain-latest.md.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { runBulk } from '../src/engine/bulk-engine.js'
import { DEFAULT_OPTIONS, type BulkRow } from '../src/engine/types.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Directory } from '../src/core/types.js'
import type { Store } from '../src/store/store.js'
import { owe, tempDir } from './cleanup.js'
import { engines, type Engine, positiveInt, postgresAdminUrl, RESULTS_DIR, safeUrl } from './env.js'
import { createBenchDatabase } from './pg-admin.js'

interface Captured {
  sql: string
  parameters: readonly unknown[]
}

interface Explained {
  what: string
  sql: string
  plan: string[]
  problems: string[]
}

const int = (n: number): string => n.toLocaleString('en-US')
/** A plan line with its 1,000 literal values cut short. */
const clip = (line: string): string => (line.length > 200 ? `${line.slice(0, 200)}…` : line)
const pad = (n: number): string => String(n).padStart(7, '0')

/** The seeded users' keys, as the statements below fill them. */
const email = (i: number): string => `user${pad(i)}@example.com`
const externalId = (i: number): string => `E${pad(i)}`

/** The batch: even rows update user i of the directory (spread over it), odd rows create a user. */
function batchRows(users: number, size: number): BulkRow[] {
  const rows: BulkRow[] = []
  for (let k = 0; k < size; k++) {
    const i = k % 2 === 0 ? 1 + ((k * 7_919) % users) : users + 1 + k
    rows.push({
      data: { email: email(i), externalId: externalId(i), firstName: `Changed${k}`, lastName: 'Bench', metadata: { plan: 'gold' } },
    })
  }
  return rows
}

/** What each statement is, for the table: the first words that say it. */
function whatOf(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim()
  if (/^select set_config/i.test(s)) return 'planner settings'
  if (/^(with .*)?select .* from users .*for update/i.test(s)) return 'batch lookup (locks the batch’s users)'
  if (/^select seq from users/i.test(s)) return `batch lookup: seqs by ${/AND \+?(\w+) IN/i.exec(s)?.[1] ?? 'key'}`
  if (/^select .* from users where seq in/i.test(s)) return 'batch lookup: the rows by seq'
  if (/^insert into users/i.test(s)) return 'insert the new users'
  if (/^update users/i.test(s)) return 'update the changed users'
  if (/^insert into changes/i.test(s)) return 'insert the history records'
  return s.slice(0, 60)
}

/** The statements of one dry-run batch worth explaining (reads and writes of users and history). */
async function captureBatch(store: Store, capture: Captured[], dir: Directory, users: number, size: number): Promise<Captured[]> {
  const dirId = dir.id
  capture.length = 0
  const r = await runBulk(
    store,
    {
      directory: dir,
      fields: await store.listFields(dirId),
      options: { ...DEFAULT_OPTIONS, match: ['email'], dryRun: true },
      context: { channel: 'native', keyId: null, requestId: 'explain', jobId: null },
    },
    batchRows(users, size),
    { collect: false },
  )
  const half = Math.ceil(size / 2)
  if (r.summary.updated !== half || r.summary.created !== size - half)
    throw new Error(`the dry-run batch planned ${JSON.stringify(r.summary)}, expected ${half} updates and ${size - half} creates`)
  return capture.filter((q) => /^\s*(with|select|insert|update)\b/i.test(q.sql) && /\b(users|changes)\b/i.test(q.sql))
}

async function explainPostgres(users: number, size: number): Promise<Explained[]> {
  const db = await createBenchDatabase(postgresAdminUrl(), 'explain')
  const drop = owe(() => db.drop())
  const capture: Captured[] = []
  const store = new PostgresStore({ connectionString: db.url, max: 2, onQuery: (sql, parameters) => capture.push({ sql, parameters }) })
  try {
    await store.migrate()
    const tenant = await store.ensureTenant('explain')
    const dir = await store.createDirectory(tenant.id, { name: 'Big', externalId: null })
    console.log(`postgres: seeding ${int(users)} users and their history (database ${db.name})`)
    await store.pool.query(
      `INSERT INTO users (id, directory_id, external_id, email, email_norm, first_name, last_name, created_at, updated_at, version, metadata, fields)
       SELECT gen_random_uuid()::text, $2, 'E' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0') || '@example.com',
         'user' || lpad(i::text, 7, '0') || '@example.com', 'First' || i, 'Bench', now(), now(), 1, '{"plan":"free"}', '{}'
       FROM generate_series(1, $1::int) AS i`,
      [users, dir.id],
    )
    await store.pool.query(
      `INSERT INTO changes (directory_id, user_id, action, at, channel, changes)
       SELECT directory_id, id, 'create', created_at, 'import', json_build_object('email', json_build_array(NULL, email))
       FROM users WHERE directory_id = $1`,
      [dir.id],
    )
    await store.pool.query('ANALYZE')
    const statements = await captureBatch(store, capture, dir, users, size)
    const out: Explained[] = []
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      for (const q of statements) {
        await client.query('BEGIN')
        try {
          // As the store's batches plan (postgres-store.ts transaction()).
          await client.query(
            "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), " +
              "set_config('enable_material', 'off', true), set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)",
          )
          const r = await client.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q.sql}`,
            q.parameters as unknown[],
          )
          const plan = r.rows.map((row) => clip(row['QUERY PLAN']))
          const problems = plan.filter(
            (l) => /Seq Scan on (users|changes)\b/.test(l) || /Index Cond: \(directory_id = \$\d+\)$/.test(l.trim()),
          )
          out.push({ what: whatOf(q.sql), sql: q.sql, plan, problems })
        } finally {
          await client.query('ROLLBACK')
        }
      }
    } finally {
      await client.end()
    }
    return out
  } finally {
    await store.close()
    await drop()
  }
}

async function explainSqlite(users: number, size: number): Promise<Explained[]> {
  const tmp = tempDir()
  const capture: Captured[] = []
  const store = new SqliteStore({ filename: join(tmp.path, 'explain.db'), onQuery: (sql, parameters) => capture.push({ sql, parameters }) })
  try {
    await store.migrate()
    const tenant = await store.ensureTenant('explain')
    const dir = await store.createDirectory(tenant.id, { name: 'Big', externalId: null })
    console.log(`sqlite: seeding ${int(users)} users and their history`)
    store.raw
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO users (id, directory_id, external_id, email, email_norm, first_name, last_name, created_at, updated_at, version, metadata, fields)
         SELECT lower(hex(randomblob(16))), ?, 'E' || substr('0000000' || i, -7), 'user' || substr('0000000' || i, -7) || '@example.com',
           'user' || substr('0000000' || i, -7) || '@example.com', 'First' || i, 'Bench', '2026-01-01T00:00:00.000Z',
           '2026-01-01T00:00:00.000Z', 1, '{"plan":"free"}', '{}' FROM n`,
      )
      .run(users, dir.id)
    store.raw
      .prepare(
        `INSERT INTO changes (directory_id, user_id, action, at, channel, changes)
         SELECT directory_id, id, 'create', created_at, 'import', json_object('email', json_array(NULL, email)) FROM users WHERE directory_id = ?`,
      )
      .run(dir.id)
    // No ANALYZE: Rollcall never runs it on SQLite, so its statements must plan well without statistics.
    const statements = await captureBatch(store, capture, dir, users, size)
    return statements
      .filter((q) => /^\s*select\b/i.test(q.sql))
      .map((q) => {
        const rows = store.raw.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[]
        const plan = rows.map((r) => r.detail)
        const problems = plan.filter((d) => /^SCAN (users|changes)\b/.test(d) || /^SEARCH (users|changes) .*\(directory_id=\?\)$/.test(d))
        return { what: whatOf(q.sql), sql: q.sql, plan, problems }
      })
  } finally {
    await store.close()
    await tmp.remove()
  }
}

function toMarkdown(users: number, size: number, results: { engine: Engine; explained: Explained[] | string }[]): string {
  const lines = [
    '# Plans of the bulk engine’s statements',
    '',
    `One batch of ${int(size)} rows (half updates of users spread over the directory, half new users) in a directory of ` +
      `${int(users)} users with one history record each, ${new Date().toISOString()}. See bench/explain.ts.`,
  ]
  for (const { engine, explained } of results) {
    lines.push('', `## ${engine}`, '')
    if (typeof explained === 'string') {
      lines.push(explained)
      continue
    }
    for (const e of explained) {
      lines.push(
        `### ${e.what}${e.problems.length ? ' — PROBLEM' : ''}`,
        '',
        '```sql',
        e.sql.replace(/\s+/g, ' ').trim().slice(0, 400),
        '```',
        '',
      )
      lines.push('```', ...e.plan, '```', '')
    }
  }
  return lines.join('\n')
}

/** The explain part; true when every statement planned by key. */
export async function runExplainPart(): Promise<boolean> {
  const users = positiveInt('BENCH_EXPLAIN_USERS', 1_000_000)
  const size = positiveInt('BENCH_EXPLAIN_BATCH', 1_000)
  console.log(`Rollcall bench, explain: one batch of ${int(size)} rows beside ${int(users)} users`)
  const results: { engine: Engine; explained: Explained[] | string }[] = []
  let ok = true
  for (const engine of engines()) {
    try {
      const explained = engine === 'sqlite' ? await explainSqlite(users, size) : await explainPostgres(users, size)
      for (const e of explained) {
        console.log(`\n${engine}: ${e.what}${e.problems.length ? `  PROBLEM: ${e.problems.join('; ')}` : ''}`)
        for (const l of e.plan) console.log(`  ${l}`)
        if (e.problems.length) ok = false
      }
      results.push({ engine, explained })
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      const skipped = engine === 'postgres' && /ECONNREFUSED|connect/i.test(message)
      console.log(`${engine}: ${skipped ? `skipped (PostgreSQL at ${safeUrl(postgresAdminUrl())} did not answer)` : `FAILED: ${message}`}`)
      results.push({ engine, explained: skipped ? 'skipped: PostgreSQL did not answer' : `FAILED: ${message}` })
      if (!skipped) ok = false
    }
  }
  const file = join(RESULTS_DIR, 'explain-latest.md')
  writeFileSync(file, toMarkdown(users, size, results))
  console.log(`\nwrote ${file}`)
  return ok
}
