/**
 * `BENCH_PARTS=storage` (or `npx tsx bench/storage.ts`): what Rollcall keeps on disk. The same
 * generated CSV is imported twice into one directory (the second time every row is unchanged),
 * in process, on each engine; after each import the job has ended and retention has swept (its
 * input deleted). It prints the database's growth per import against the file's size (aim: the
 * second import grows it by less than half the file), and bytes per user, per history record
 * and per row result, from the tables' own sizes (SQLite's dbstat, PostgreSQL's
 * pg_total_relation_size). Writes bench/results/storage-latest.md.
 *
 * Env: BENCH_STORAGE_ROWS (300000), BENCH_ENGINES, BENCH_POSTGRES_URL.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { buildApp } from '../src/app/app.js'
import { loadConfig } from '../src/config.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { cleanUp, tempDir } from './cleanup.js'
import { ADMIN_KEY, type Engine, engines, machine, positiveInt, postgresAdminUrl, RESULTS_DIR } from './env.js'
import { writeImportCsv } from './import-rows.js'
import { createBenchDatabase } from './pg-admin.js'

const TABLES = ['users', 'changes', 'job_result_batches', 'job_results', 'job_chunks'] as const
type Sizes = Record<(typeof TABLES)[number] | 'database', number>

interface Measure {
  engine: Engine
  fileBytes: number
  rows: number
  afterFirst: Sizes
  afterSecond: Sizes
  before: Sizes
}

const mb = (n: number) => (n / 1e6).toFixed(1)

async function sizesOf(store: Store, pgUrl: string | null): Promise<Sizes> {
  if (store instanceof SqliteStore) {
    store.raw.pragma('wal_checkpoint(TRUNCATE)')
    // Tables with their indexes (dbstat names each b-tree; an index belongs to its table).
    const rows = store.raw
      .prepare(
        `SELECT coalesce(m.tbl_name, s.name) AS t, sum(s.pgsize) AS bytes FROM dbstat s LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1`,
      )
      .all() as { t: string; bytes: number }[]
    const by = Object.fromEntries(rows.map((r) => [r.t, r.bytes]))
    const file = store.raw.name
    return {
      ...(Object.fromEntries(TABLES.map((t) => [t, by[t] ?? 0])) as Omit<Sizes, 'database'>),
      database: statSync(file).size,
    }
  }
  const c = new pg.Client({ connectionString: pgUrl as string })
  await c.connect()
  try {
    // What autovacuum does in production: the space of deleted rows becomes reusable.
    await c.query('VACUUM')
    const out: Partial<Sizes> = {}
    for (const t of TABLES) out[t] = Number((await c.query('SELECT pg_total_relation_size($1) AS n', [t])).rows[0].n)
    out.database = Number((await c.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n)
    return out as Sizes
  } finally {
    await c.end()
  }
}

async function measure(engine: Engine, rows: number, csv: string): Promise<Measure> {
  const tmp = tempDir()
  const db = engine === 'postgres' ? await createBenchDatabase(postgresAdminUrl(), 'storage') : null
  const store: Store = db ? new PostgresStore({ connectionString: db.url }) : new SqliteStore({ filename: join(tmp.path, 'rollcall.db') })
  try {
    await store.migrate()
    const built = await buildApp({ store, config: loadConfig({}, { adminKey: ADMIN_KEY, batchSize: 1000, jobPollMs: 50 }) })
    await built.services.keys.ensureKey('default', 'ROLLCALL_ADMIN_KEY', ADMIN_KEY)
    await built.app.ready()
    const auth = { authorization: `Bearer ${ADMIN_KEY}` }
    const dir = (await built.app.inject({ method: 'POST', url: '/api/v1/directories', headers: auth, payload: { name: 'Storage' } })).json()
    const body = readFileSync(csv)
    const importOnce = async (expect: 'created' | 'unchanged') => {
      const up = await built.app.inject({
        method: 'POST',
        url: `/api/v1/directories/${dir.id}/imports`,
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: body,
      })
      const id = up.json().id as string
      for (;;) {
        const job = (await built.app.inject({ url: `/api/v1/imports/${id}`, headers: auth })).json()
        if (job.state === 'completed' && job.inputDeletedAt) {
          if (job.counts[expect] !== rows) throw new Error(`${engine}: expected ${rows} ${expect}, got ${JSON.stringify(job.counts)}`)
          // A sweep of its own, to its end: the one the job's end started may still be giving space back.
          await built.retention?.sweep()
          return
        }
        if (['failed', 'cancelled'].includes(job.state)) throw new Error(`${engine}: import ${job.state}: ${job.error}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    const before = await sizesOf(store, db?.url ?? null)
    console.log(`  ${engine}: first import of ${rows.toLocaleString('en-US')} rows`)
    await importOnce('created')
    const afterFirst = await sizesOf(store, db?.url ?? null)
    console.log(`  ${engine}: the same file again (every row unchanged)`)
    await importOnce('unchanged')
    const afterSecond = await sizesOf(store, db?.url ?? null)
    await built.app.close()
    return { engine, fileBytes: body.length, rows, before, afterFirst, afterSecond }
  } finally {
    await store.close()
    await db?.drop()
    await tmp.remove()
  }
}

const where = () => {
  const m = machine()
  return `${m.date}, Node ${m.node}, ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}`
}

function report(ms: Measure[]): string {
  const lines = [
    '# Rollcall storage benchmark',
    '',
    `${ms[0]?.rows.toLocaleString('en-US')} rows (${mb(ms[0]?.fileBytes ?? 0)} MB CSV), imported twice into one directory; ${where()}`,
    '',
    '| engine | growth, first import MB | growth, second import (unchanged) MB | second ÷ file | < 0.5 | bytes per user | per history record | per row result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const m of ms) {
    const first = m.afterFirst.database - m.before.database
    const second = m.afterSecond.database - m.afterFirst.database
    const perResult =
      (m.afterSecond.job_result_batches + m.afterSecond.job_results - m.before.job_result_batches - m.before.job_results) / (2 * m.rows)
    lines.push(
      `| ${m.engine} | ${mb(first)} | ${mb(second)} | ${(second / m.fileBytes).toFixed(2)} | ${second / m.fileBytes < 0.5 ? 'yes' : 'NO'} | ` +
        `${Math.round((m.afterFirst.users - m.before.users) / m.rows)} | ${Math.round((m.afterFirst.changes - m.before.changes) / m.rows)} | ${perResult.toFixed(1)} |`,
    )
  }
  lines.push(
    '',
    'Growth: the database (SQLite: the file after a WAL checkpoint; PostgreSQL: pg_database_size after a plain VACUUM, which autovacuum does in production) once the import has ended and retention has deleted its input. Per user: the users table with its indexes ÷ rows; per history record: `changes` with its indexes ÷ rows (one record per created user); per row result: the result tables ÷ rows of both imports. Input chunks left after both imports: ' +
      ms.map((m) => `${m.engine} ${m.afterSecond.job_chunks} bytes`).join(', ') +
      '.',
  )
  return `${lines.join('\n')}\n`
}

export async function runStoragePart(): Promise<boolean> {
  const rows = positiveInt('BENCH_STORAGE_ROWS', 300_000)
  const tmp = tempDir()
  try {
    const csv = join(tmp.path, 'storage.csv')
    await writeImportCsv(csv, rows)
    console.log(`storage: ${rows.toLocaleString('en-US')} rows, ${mb(statSync(csv).size)} MB`)
    const ms: Measure[] = []
    for (const engine of engines()) ms.push(await measure(engine, rows, csv))
    const text = report(ms)
    console.log(`\n${text}`)
    const out = join(RESULTS_DIR, 'storage-latest.md')
    writeFileSync(out, text)
    console.log(`wrote ${out}`)
    return ms.every((m) => (m.afterSecond.database - m.afterFirst.database) / m.fileBytes < 0.5)
  } finally {
    await tmp.remove()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = (await runStoragePart()) ? 0 : 1
  } finally {
    await cleanUp()
  }
}
