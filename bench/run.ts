/**
 * `npm run bench`: Rollcall's native bulk endpoint against the raw engine ceiling, on SQLite and
 * PostgreSQL, in three phases (create, unchanged, half changed). See bench/README.md.
 *
 * Env: BENCH_ROWS (100000), BENCH_BATCH (1000), BENCH_ENGINES (sqlite,postgres),
 * BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, platform, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { runRollcall, startServer, type ServerHandle } from './http-driver.js'
import { createBenchDatabase, type BenchDatabase } from './pg-admin.js'
import { runRaw } from './raw.js'
import { toText, writeResults, type BenchReport, type Engine, type EngineReport } from './report.js'
import type { PhaseResult } from './stats.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef'
const RAW_TIMEOUT_MS = 30 * 60_000
const READY_TIMEOUT_MS = 30_000

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw.replace(/_/g, ''))
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return n
}

function engines(): Engine[] {
  const list = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean)
  for (const e of list) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`BENCH_ENGINES: unknown engine ${JSON.stringify(e)}`)
  return [...new Set(list)] as Engine[]
}

// Cleanups still owed (server child, temp dirs, bench database), run also on Ctrl-C.
const cleanups = new Set<() => Promise<void> | void>()
async function cleanUp(): Promise<void> {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn)
    try { await fn() } catch (err) { console.error('cleanup failed:', err) }
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`)
    void cleanUp().finally(() => process.exit(130))
  })
}

function progress(engine: Engine, side: string, results: PhaseResult[]): void {
  for (const p of results) {
    console.log(`  ${engine} ${side.padEnd(8)} phase ${p.phase} ${p.name.padEnd(26)} ` +
      `${Math.round(p.rowsPerSec).toLocaleString('en-US').padStart(9)} rows/s  ` +
      `p50 ${p.p50Ms.toFixed(1)} ms  p99 ${p.p99Ms.toFixed(1)} ms  peak RSS ${p.peakRssMb?.toFixed(0) ?? '?'} MiB`)
  }
}

async function withServer(
  opts: { dataDir: string; databaseUrl?: string }, label: string, rows: number, batch: number,
): Promise<PhaseResult[]> {
  let server: ServerHandle | undefined
  const stop = async (): Promise<void> => { await server?.stop() }
  cleanups.add(stop)
  try {
    server = await startServer({ repoRoot: REPO_ROOT, adminKey: ADMIN_KEY, readyTimeoutMs: READY_TIMEOUT_MS, ...opts })
    try {
      return await runRollcall(server, ADMIN_KEY, label, rows, batch)
    } catch (err) {
      const out = server.output()
      throw new Error(`${err instanceof Error ? err.message : String(err)}${out ? `\nserver output:\n${out}` : ''}`, { cause: err })
    }
  } finally {
    cleanups.delete(stop)
    await stop()
  }
}

async function benchSqlite(rows: number, batch: number): Promise<EngineReport> {
  const mem = new Database(':memory:')
  const version = (mem.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
  mem.close()
  const report: EngineReport = { engine: 'sqlite', version, skipped: null, error: null, rollcall: [], raw: [] }
  const tmp = mkdtempSync(join(tmpdir(), 'rollcall-bench-'))
  const removeTmp = (): void => rmSync(tmp, { recursive: true, force: true })
  cleanups.add(removeTmp)
  try {
    console.log('sqlite: raw engine')
    report.raw = await runRaw('sqlite', join(tmp, 'raw.db'), rows, batch, RAW_TIMEOUT_MS)
    progress('sqlite', 'raw', report.raw)
    console.log('sqlite: Rollcall over HTTP')
    report.rollcall = await withServer({ dataDir: join(tmp, 'data') }, 'Rollcall sqlite', rows, batch)
    progress('sqlite', 'Rollcall', report.rollcall)
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
  } finally {
    cleanups.delete(removeTmp)
    removeTmp()
  }
  return report
}

async function benchPostgres(rows: number, batch: number): Promise<EngineReport> {
  const adminUrl = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
  const report: EngineReport = { engine: 'postgres', version: null, skipped: null, error: null, rollcall: [], raw: [] }
  let db: BenchDatabase
  try {
    db = await createBenchDatabase(adminUrl)
  } catch (err) {
    const safeUrl = new URL(adminUrl)
    safeUrl.password = ''
    report.skipped = `PostgreSQL at ${safeUrl.toString()} did not answer: ${err instanceof Error ? err.message : String(err)}`
    console.log(`postgres: ${report.skipped}`)
    return report
  }
  report.version = db.serverVersion
  const drop = (): Promise<void> => db.drop()
  cleanups.add(drop)
  const tmp = mkdtempSync(join(tmpdir(), 'rollcall-bench-'))
  const removeTmp = (): void => rmSync(tmp, { recursive: true, force: true })
  cleanups.add(removeTmp)
  try {
    console.log(`postgres: raw engine (database ${db.name})`)
    report.raw = await runRaw('postgres', db.url, rows, batch, RAW_TIMEOUT_MS)
    progress('postgres', 'raw', report.raw)
    console.log('postgres: Rollcall over HTTP')
    report.rollcall = await withServer({ dataDir: tmp, databaseUrl: db.url }, 'Rollcall postgres', rows, batch)
    progress('postgres', 'Rollcall', report.rollcall)
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
  } finally {
    cleanups.delete(removeTmp)
    removeTmp()
    cleanups.delete(drop)
    await drop()
  }
  return report
}

async function main(): Promise<number> {
  const rows = positiveInt('BENCH_ROWS', 100_000)
  const batch = positiveInt('BENCH_BATCH', 1_000)
  const list = engines()
  const cpu = cpus()
  console.log(`Rollcall bench: ${rows.toLocaleString('en-US')} rows, batches of ${batch.toLocaleString('en-US')}, engines ${list.join(', ')}`)
  const report: BenchReport = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: totalmem() / 2 ** 30,
    rows,
    batch,
    engines: [],
  }
  for (const engine of list) {
    report.engines.push(engine === 'sqlite' ? await benchSqlite(rows, batch) : await benchPostgres(rows, batch))
  }
  console.log(`\n${toText(report)}`)
  if (report.engines.some((e) => e.error)) {
    console.error('\nThe benchmark failed (see above); bench/results/ was left as it was.')
    return 1
  }
  for (const file of writeResults(RESULTS_DIR, report)) console.log(`wrote ${file}`)
  return 0
}

try {
  process.exitCode = await main()
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
} finally {
  await cleanUp()
}
