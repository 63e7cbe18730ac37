/**
 * `npm run bench`, in parts (BENCH_PARTS, default sync,imports,concurrent,feed,mirror):
 * - sync: Rollcall's native bulk endpoint against the raw engine ceiling, on SQLite and
 *   PostgreSQL, in three phases (create, unchanged, half changed);
 * - imports: a generated CSV imported over HTTP as an async job, against the raw engine on the
 *   same rows and the CSV parsers alone on the same file; 100k vs 1M rows for memory.
 * See bench/README.md.
 *
 * Env: BENCH_PARTS (sync,imports,concurrent,feed,mirror; explain on request), BENCH_ENGINES (sqlite,postgres),
 * BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres);
 * sync: BENCH_ROWS (100000), BENCH_BATCH (1000);
 * imports: see imports.ts (BENCH_IMPORT_ROWS, BENCH_IMPORT_SMALL_ROWS, BENCH_IMPORT_BATCH, …);
 * concurrent (PostgreSQL only): see concurrent.ts (BENCH_CONCURRENT_ROWS, _IMPORTS, _WORKERS);
 * feed: the change feed followed during an import, see feed.ts (BENCH_FEED_ROWS);
 * mirror: a directory mirrored from its source (0.5 % absent, 1 % changed), see mirror.ts (BENCH_MIRROR_ROWS);
 * explain (only when named in BENCH_PARTS): see explain.ts (BENCH_EXPLAIN_USERS, BENCH_EXPLAIN_BATCH);
 * storage (only when named): see storage.ts (BENCH_STORAGE_ROWS);
 * memory (only when named; 5,000,000 rows): see memory.ts (BENCH_MEMORY_ROWS).
 */
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { cleanUp, owe, tempDir } from './cleanup.js'
import {
  ADMIN_KEY,
  engines,
  listOf,
  machine,
  positiveInt,
  postgresAdminUrl,
  RAW_TIMEOUT_MS,
  READY_TIMEOUT_MS,
  REPO_ROOT,
  RESULTS_DIR,
  safeUrl,
} from './env.js'
import { buildServer } from './build.js'
import { runRollcall, withServer } from './http-driver.js'
import { runConcurrentPart } from './concurrent.js'
import { runExplainPart } from './explain.js'
import { runFeedPart } from './feed.js'
import { runMirrorPart } from './mirror.js'
import { runImportsPart } from './imports.js'
import { runMemoryPart } from './memory.js'
import { runStoragePart } from './storage.js'
import { createBenchDatabase, type BenchDatabase } from './pg-admin.js'
import { runRaw } from './raw.js'
import { toText, writeResults, type BenchReport, type Engine, type EngineReport } from './report.js'
import type { PhaseResult } from './stats.js'

/**
 * How the sync part starts its servers: compiled or not, with a CPU profile (BENCH_CPU_PROF), with
 * every SQL statement timed (BENCH_SQL_TIMING, see sql-timing.ts).
 */
interface SyncServer {
  options(engine: Engine): { entry?: string; nodeArgs?: string[]; env?: Record<string, string> }
}

function progress(engine: Engine, side: string, results: PhaseResult[]): void {
  for (const p of results) {
    console.log(
      `  ${engine} ${side.padEnd(8)} phase ${p.phase} ${p.name.padEnd(26)} ` +
        `${Math.round(p.rowsPerSec).toLocaleString('en-US').padStart(9)} rows/s  ` +
        `p50 ${p.p50Ms.toFixed(1)} ms  p99 ${p.p99Ms.toFixed(1)} ms  peak RSS ${p.peakRssMb?.toFixed(0) ?? '?'} MiB`,
    )
  }
}

async function benchSqlite(rows: number, batch: number, server: SyncServer): Promise<EngineReport> {
  const mem = new Database(':memory:')
  const version = (mem.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
  mem.close()
  const report: EngineReport = { engine: 'sqlite', version, skipped: null, error: null, rollcall: [], raw: [] }
  const tmp = tempDir()
  try {
    console.log('sqlite: raw engine')
    report.raw = await runRaw('sqlite', join(tmp.path, 'raw.db'), rows, batch, RAW_TIMEOUT_MS)
    progress('sqlite', 'raw', report.raw)
    console.log('sqlite: Rollcall over HTTP')
    report.rollcall = await withServer(
      {
        repoRoot: REPO_ROOT,
        adminKey: ADMIN_KEY,
        readyTimeoutMs: READY_TIMEOUT_MS,
        dataDir: join(tmp.path, 'data'),
        ...server.options('sqlite'),
      },
      (server) => runRollcall(server, ADMIN_KEY, 'Rollcall sqlite', rows, batch),
    )
    progress('sqlite', 'Rollcall', report.rollcall)
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
  } finally {
    await tmp.remove()
  }
  return report
}

async function benchPostgres(rows: number, batch: number, server: SyncServer): Promise<EngineReport> {
  const adminUrl = postgresAdminUrl()
  const report: EngineReport = { engine: 'postgres', version: null, skipped: null, error: null, rollcall: [], raw: [] }
  let db: BenchDatabase
  try {
    db = await createBenchDatabase(adminUrl)
  } catch (err) {
    report.skipped = `PostgreSQL at ${safeUrl(adminUrl)} did not answer: ${err instanceof Error ? err.message : String(err)}`
    console.log(`postgres: ${report.skipped}`)
    return report
  }
  report.version = db.serverVersion
  const drop = owe(() => db.drop())
  const tmp = tempDir()
  try {
    console.log(`postgres: raw engine (database ${db.name})`)
    report.raw = await runRaw('postgres', db.url, rows, batch, RAW_TIMEOUT_MS)
    progress('postgres', 'raw', report.raw)
    console.log('postgres: Rollcall over HTTP')
    report.rollcall = await withServer(
      {
        repoRoot: REPO_ROOT,
        adminKey: ADMIN_KEY,
        readyTimeoutMs: READY_TIMEOUT_MS,
        dataDir: tmp.path,
        databaseUrl: db.url,
        ...server.options('postgres'),
      },
      (server) => runRollcall(server, ADMIN_KEY, 'Rollcall postgres', rows, batch),
    )
    progress('postgres', 'Rollcall', report.rollcall)
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
  } finally {
    await tmp.remove()
    await drop()
  }
  return report
}

/** The sync part; true when it succeeded (and wrote bench/results/latest.*). */
async function runSyncPart(): Promise<boolean> {
  const rows = positiveInt('BENCH_ROWS', 100_000)
  const batch = positiveInt('BENCH_BATCH', 1_000)
  const list = engines()
  console.log(
    `Rollcall bench, sync bulk: ${rows.toLocaleString('en-US')} rows, batches of ${batch.toLocaleString('en-US')}, engines ${list.join(', ')}`,
  )
  const server = listOf('BENCH_SERVER', ['tsx', 'build'] as const, ['build'])[0]
  const report: BenchReport = { ...machine(), rows, batch, server, engines: [] }
  // The server as production runs it (compiled), unless BENCH_SERVER=tsx.
  if (server === 'build') console.log('compiling src/ with tsc into a temp directory (BENCH_SERVER=build)')
  const build = server === 'build' ? await buildServer(REPO_ROOT) : null
  const prof = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : null
  if (prof) console.log(`CPU profiles of the servers go to ${prof}`)
  const sqlTiming = process.env.BENCH_SQL_TIMING ? resolve(process.env.BENCH_SQL_TIMING) : null
  if (sqlTiming) console.log(`SQL timings of the servers go to ${sqlTiming}`)
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  if (nodeArgs.length) console.log(`the servers run with node ${nodeArgs.join(' ')} (BENCH_NODE_ARGS)`)
  const servers: SyncServer = {
    options: (engine) => {
      const stamp = `sync-${engine}-${Date.now()}`
      return {
        entry: build?.entry,
        nodeArgs: [
          ...nodeArgs,
          ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${stamp}.cpuprofile`] : []),
          ...(sqlTiming ? ['--import', join(REPO_ROOT, 'bench', 'sql-timing.ts')] : []),
        ],
        env: sqlTiming ? { BENCH_SQL_TIMING_FILE: join(sqlTiming, `sql-${stamp}.json`) } : undefined,
      }
    },
  }
  try {
    for (const engine of list) {
      report.engines.push(engine === 'sqlite' ? await benchSqlite(rows, batch, servers) : await benchPostgres(rows, batch, servers))
    }
  } finally {
    await build?.remove()
  }
  console.log(`\n${toText(report)}`)
  if (report.engines.some((e) => e.error)) {
    console.error('\nThe sync benchmark failed (see above); bench/results/latest.* were left as they were.')
    return false
  }
  if (prof || sqlTiming || nodeArgs.length) {
    console.log(
      '\nbench/results/latest.* left as they were: the servers were instrumented or flagged (BENCH_CPU_PROF, BENCH_SQL_TIMING, BENCH_NODE_ARGS)',
    )
    return true
  }
  for (const file of writeResults(RESULTS_DIR, report)) console.log(`wrote ${file}`)
  return true
}

async function main(): Promise<number> {
  // `explain`, `storage` and `memory` run only when asked for: plans, bytes, and 5,000,000 rows.
  const parts = listOf('BENCH_PARTS', ['sync', 'imports', 'concurrent', 'feed', 'mirror', 'explain', 'storage', 'memory'] as const, [
    'sync',
    'imports',
    'concurrent',
    'feed',
    'mirror',
  ])
  let ok = true
  if (parts.includes('sync')) ok = (await runSyncPart()) && ok
  if (parts.includes('sync') && parts.includes('imports')) console.log('')
  if (parts.includes('imports')) ok = (await runImportsPart()) && ok
  if (parts.includes('concurrent') && engines().includes('postgres')) ok = (await runConcurrentPart()) && ok
  if (parts.includes('feed')) ok = (await runFeedPart()) && ok
  if (parts.includes('mirror')) ok = (await runMirrorPart()) && ok
  if (parts.includes('explain')) ok = (await runExplainPart()) && ok
  if (parts.includes('storage')) ok = (await runStoragePart()) && ok
  if (parts.includes('memory')) ok = (await runMemoryPart()) && ok
  return ok ? 0 : 1
}

try {
  process.exitCode = await main()
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
} finally {
  await cleanUp()
}
