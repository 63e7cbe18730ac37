/**
 * The imports part of `npm run bench`: a generated CSV imported over HTTP as an async job on
 * SQLite and PostgreSQL, to completion, beside the raw engine on the same rows and the CSV parsers
 * alone on the same file; and the server's peak memory at two sizes. See bench/README.md.
 *
 * Env: BENCH_IMPORT_ROWS (1000000), BENCH_IMPORT_SMALL_ROWS (a tenth of it: the size the memory
 * is compared with), BENCH_IMPORT_BATCH (1000: the server's ROLLCALL_BATCH_SIZE and the raw
 * batch), BENCH_IMPORT_TIMEOUT_S (3600 per import), BENCH_IMPORT_STALL_S (180 without progress),
 * BENCH_CPU_PROF (a directory: the servers run with --cpu-prof and write their profiles there),
 * BENCH_SQL_TIMING (a directory: the servers time every SQL statement, see sql-timing.ts, and
 * write the totals there), BENCH_ALLOC_PROFILE (a directory: the servers sample every allocation,
 * freed ones included, see alloc-profile.ts and alloc-summary.ts), BENCH_NODE_ARGS (extra node
 * flags for the servers, space-separated, e.g. `--max-old-space-size=128`), BENCH_SERVER (build,
 * the default: src/ compiled with tsc into a temp dir, as production runs it; tsx: src/ under tsx,
 * as the sync part), BENCH_ENGINES, BENCH_POSTGRES_URL.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { owe, tempDir } from './cleanup.js'
import {
  ADMIN_KEY,
  engines,
  listOf,
  load,
  machine,
  positiveInt,
  postgresAdminUrl,
  RAW_TIMEOUT_MS,
  READY_TIMEOUT_MS,
  REPO_ROOT,
  README,
  RESULTS_DIR,
  safeUrl,
  type Engine,
} from './env.js'
import { buildServer, type Build } from './build.js'
import { type ServerHandle, withServer, type ServerOptions } from './http-driver.js'
import { runImport, verifyStored, type ImportRun, type SqlTiming } from './import-driver.js'
import { IMPORT_HEADER, writeImportCsv } from './import-rows.js'
import {
  stageNote,
  toImportsText,
  updateReadme,
  writeImportsResults,
  type ImportsEngineReport,
  type ImportsReport,
} from './imports-report.js'
import { benchParsers } from './parsers.js'
import { createBenchDatabase } from './pg-admin.js'
import { runRaw } from './raw.js'
import { nowMs, type PhaseResult } from './stats.js'

export interface Settings {
  rows: number
  smallRows: number
  batch: number
  timeoutMs: number
  stallMs: number
  cpuProfDir: string | null
  sqlTimingDir: string | null
  allocProfileDir: string | null
  nodeArgs: string[]
  server: 'tsx' | 'build'
  /** The compiled CLI when server is build. */
  entry?: string
}

/** The sizes the issue asks for; only a run at these sizes goes into bench/README.md. */
const FULL_ROWS = 1_000_000
const FULL_SMALL_ROWS = 100_000

export function settings(): Settings {
  const rows = positiveInt('BENCH_IMPORT_ROWS', FULL_ROWS)
  const smallRows = positiveInt('BENCH_IMPORT_SMALL_ROWS', Math.max(1, Math.round(rows / 10)))
  if (smallRows >= rows) throw new Error(`BENCH_IMPORT_SMALL_ROWS (${smallRows}) must be below BENCH_IMPORT_ROWS (${rows})`)
  const prof = process.env.BENCH_CPU_PROF
  const sqlTiming = process.env.BENCH_SQL_TIMING
  const alloc = process.env.BENCH_ALLOC_PROFILE
  return {
    rows,
    smallRows,
    batch: positiveInt('BENCH_IMPORT_BATCH', 1_000),
    timeoutMs: positiveInt('BENCH_IMPORT_TIMEOUT_S', 3_600) * 1000,
    stallMs: positiveInt('BENCH_IMPORT_STALL_S', 180) * 1000,
    cpuProfDir: prof ? resolve(prof) : null,
    sqlTimingDir: sqlTiming ? resolve(sqlTiming) : null,
    allocProfileDir: alloc ? resolve(alloc) : null,
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    server: listOf('BENCH_SERVER', ['tsx', 'build'] as const, ['build'])[0],
  }
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US')

/** Where the CPU went while the import ran: the server's share of one core, and PostgreSQL's. */
export function cpuNote(run: ImportRun): string {
  const share = (cpu: number | null): string =>
    cpu === null
      ? '?'
      : `${cpu.toFixed(1)} s (${((cpu / run.measuredSeconds) * 100).toFixed(0)} % of a core, ${((cpu * 1e6) / run.rows).toFixed(0)} µs a row)`
  return `server CPU ${share(run.serverCpuSeconds)}${run.databaseCpuSeconds === null ? '' : `, PostgreSQL backends CPU ${share(run.databaseCpuSeconds)}`}`
}

/** The statements that took longest in the server's life (start-up is a few ms of it), printed and kept. */
function sqlTimingOf(file: string, run: ImportRun): SqlTiming[] {
  if (!existsSync(file)) {
    console.log(`    (no SQL timings: ${file} was not written)`)
    return []
  }
  const all = JSON.parse(readFileSync(file, 'utf8')) as SqlTiming[]
  const sum = all.reduce((t, x) => t + x.ms, 0)
  console.log(
    `    SQL time ${(sum / 1000).toFixed(1)} s over upload + job ${run.totalSeconds.toFixed(1)} s (${((sum / 1000 / run.totalSeconds) * 100).toFixed(0)} %); by statement:`,
  )
  for (const x of all.slice(0, 12)) {
    console.log(
      `    ${(x.ms / 1000).toFixed(1).padStart(7)} s ${((x.ms / 1000 / run.totalSeconds) * 100).toFixed(1).padStart(5)} %  ${int(x.calls).padStart(9)} calls  ${x.sql}`,
    )
  }
  return all.slice(0, 25)
}

export interface CsvFile {
  path: string
  rows: number
  bytes: number
}

/**
 * One server, one import into a fresh directory (and with `update`, a second import into that
 * directory, now full, that updates every user), then the database checked with the server stopped.
 */
export async function importOnce(
  engine: Engine,
  s: Settings,
  csv: CsvFile,
  target: { dataDir: string; databaseUrl?: string; databaseName?: string },
  update?: CsvFile,
): Promise<{ run: ImportRun; updated: ImportRun | null }> {
  const label = `Rollcall ${engine} import of ${int(csv.rows)} rows`
  const stamp = `${engine}-${csv.rows}-${Date.now()}`
  const timingFile = s.sqlTimingDir ? join(s.sqlTimingDir, `sql-${stamp}.json`) : null
  const allocFile = s.allocProfileDir ? join(s.allocProfileDir, `server-${stamp}.heapprofile`) : null
  const opts: ServerOptions = {
    repoRoot: REPO_ROOT,
    adminKey: ADMIN_KEY,
    readyTimeoutMs: READY_TIMEOUT_MS,
    dataDir: target.dataDir,
    databaseUrl: target.databaseUrl,
    env: {
      ROLLCALL_BATCH_SIZE: String(s.batch),
      LOG_LEVEL: 'warn',
      ...(timingFile ? { BENCH_SQL_TIMING_FILE: timingFile } : {}),
      ...(allocFile ? { BENCH_ALLOC_PROFILE_FILE: allocFile } : {}),
    },
    nodeArgs: [
      ...s.nodeArgs,
      // A directory per server: its threads (the import planner's) write profiles of their own, by Node's default names.
      ...(s.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(s.cpuProfDir, `server-${stamp}`)}`] : []),
      ...(timingFile ? ['--import', join(REPO_ROOT, 'bench', 'sql-timing.ts')] : []),
      ...(allocFile ? ['--import', join(REPO_ROOT, 'bench', 'alloc-profile.ts')] : []),
    ],
    entry: s.entry,
  }
  let lastPrint = 0
  const importInto = (server: ServerHandle, file: CsvFile, what: string, directoryId?: string) =>
    runImport(server, ADMIN_KEY, {
      label: what,
      csvFile: file.path,
      bytes: file.bytes,
      rows: file.rows,
      timeoutMs: s.timeoutMs,
      stallMs: s.stallMs,
      postgresDatabase: target.databaseName,
      directoryId,
      onPoll: (job, elapsed) => {
        if (elapsed - lastPrint < 15 && job.state !== 'completed') return
        lastPrint = elapsed
        console.log(
          `    ${elapsed.toFixed(0).padStart(5)} s  ${job.state.padEnd(9)} ${int(job.counts.processed).padStart(9)} / ${int(file.rows)} rows` +
            `${job.rowsPerSecond ? `, job ${int(job.rowsPerSecond)} rows/s` : ''}`,
        )
      },
    })
  const updateLabel = `Rollcall ${engine} update import of ${int(update?.rows ?? 0)} rows into the full directory`
  const [run, updated] = await withServer(opts, async (server) => {
    const first = await importInto(server, csv, label)
    if (!update) return [first, null] as const
    console.log(`${engine}: ${updateLabel}`)
    lastPrint = 0
    return [first, await importInto(server, update, updateLabel, first.directoryId)] as const
  })
  if (timingFile) {
    if (updated) console.log("    (SQL timings below cover the server's life: both imports)")
    run.sqlTiming = sqlTimingOf(timingFile, run)
  }
  const where = target.databaseUrl ? { postgresUrl: target.databaseUrl } : { sqliteDataDir: target.dataDir }
  for (const [r, what] of [[run, label], ...(updated ? [[updated, updateLabel] as const] : [])] as const) {
    r.stored = await verifyStored(where, r, what)
    console.log(
      `  ${engine} Rollcall ${int(r.rows).padStart(9)} rows${r.kind === 'updated' ? ', each an update' : ''}: ${int(r.rowsPerSec)} rows/s end to end ` +
        `(upload ${r.uploadSeconds.toFixed(1)} s, job ${r.runSeconds.toFixed(1)} s = ${int(r.runRowsPerSec)} rows/s), ` +
        `peak RSS ${r.peakRssMb?.toFixed(0) ?? '?'} MiB, ${cpuNote(r)}; stored ${int(r.stored.users)} users, ${int(r.stored.history)} history, ${int(r.stored.results)} results`,
    )
    if (r.stages) console.log(`    job stages: ${stageNote(r)}`)
  }
  return { run, updated }
}

function rawNote(engine: Engine, rows: number, r: ImportsEngineReport): void {
  const rate = (p: PhaseResult | null) => `${int(p?.rowsPerSec ?? 0)} rows/s, peak RSS ${p?.peakRssMb?.toFixed(0) ?? '?'} MiB`
  console.log(`  ${engine} raw      ${int(rows).padStart(9)} rows: ${rate(r.raw)}; each an update: ${rate(r.rawUpdate)}`)
}

async function benchEngine(engine: Engine, s: Settings, big: CsvFile, small: CsvFile, changed: CsvFile): Promise<ImportsEngineReport> {
  const report: ImportsEngineReport = {
    engine,
    version: null,
    skipped: null,
    error: null,
    raw: null,
    rawUpdate: null,
    small: null,
    big: null,
    update: null,
  }
  const tmp = tempDir()
  try {
    if (engine === 'sqlite') {
      const mem = new Database(':memory:')
      report.version = (mem.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
      mem.close()
      console.log('sqlite: raw engine, same rows')
      ;[report.raw, report.rawUpdate] = await runRaw('sqlite', join(tmp.path, 'raw.db'), big.rows, s.batch, RAW_TIMEOUT_MS, 'import')
      rawNote('sqlite', big.rows, report)
      for (const [key, csv] of [
        ['small', small],
        ['big', big],
      ] as const) {
        console.log(`sqlite: Rollcall import of ${int(csv.rows)} rows over HTTP`)
        const r = await importOnce('sqlite', s, csv, { dataDir: join(tmp.path, `data-${key}`) }, key === 'big' ? changed : undefined)
        report[key] = r.run
        if (key === 'big') report.update = r.updated
      }
      return report
    }
    const adminUrl = postgresAdminUrl()
    // One fresh database per measurement: every import starts from empty tables.
    const fresh = async (tag: string) => {
      const db = await createBenchDatabase(adminUrl, tag)
      report.version = db.serverVersion
      return { db, drop: owe(() => db.drop()) }
    }
    let first
    try {
      first = await fresh('raw')
    } catch (err) {
      report.skipped = `PostgreSQL at ${safeUrl(adminUrl)} did not answer: ${err instanceof Error ? err.message : String(err)}`
      console.log(`postgres: ${report.skipped}`)
      return report
    }
    try {
      console.log(`postgres: raw engine, same rows (database ${first.db.name})`)
      ;[report.raw, report.rawUpdate] = await runRaw('postgres', first.db.url, big.rows, s.batch, RAW_TIMEOUT_MS, 'import')
      rawNote('postgres', big.rows, report)
    } finally {
      await first.drop()
    }
    for (const [key, csv] of [
      ['small', small],
      ['big', big],
    ] as const) {
      const { db, drop } = await fresh(key)
      try {
        console.log(`postgres: Rollcall import of ${int(csv.rows)} rows over HTTP (database ${db.name})`)
        const r = await importOnce(
          'postgres',
          s,
          csv,
          { dataDir: tmp.path, databaseUrl: db.url, databaseName: db.name },
          key === 'big' ? changed : undefined,
        )
        report[key] = r.run
        if (key === 'big') report.update = r.updated
      } finally {
        await drop()
      }
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
    console.log(`${engine}: FAILED: ${report.error}`)
  } finally {
    await tmp.remove()
  }
  return report
}

/** The imports part; true when it succeeded (and wrote bench/results/imports-latest.*). */
export async function runImportsPart(): Promise<boolean> {
  const s = settings()
  const list = engines()
  const report: ImportsReport = {
    ...machine(),
    loadBefore: load(),
    loadAfter: [],
    server: s.server,
    rows: s.rows,
    smallRows: s.smallRows,
    batch: s.batch,
    columns: IMPORT_HEADER.length,
    csvBytes: 0,
    smallCsvBytes: 0,
    parsers: [],
    engines: [],
    error: null,
  }
  console.log(
    `Rollcall bench, imports: ${int(s.rows)} and ${int(s.smallRows)} rows of ${IMPORT_HEADER.length} columns, ` +
      `ROLLCALL_BATCH_SIZE ${int(s.batch)}, engines ${list.join(', ')}, server ${s.server}; load average ${report.loadBefore.join(' ')}`,
  )
  if (s.cpuProfDir) {
    mkdirSync(s.cpuProfDir, { recursive: true })
    console.log(`CPU profiles of the servers go to ${s.cpuProfDir}`)
  }
  if (s.sqlTimingDir) {
    mkdirSync(s.sqlTimingDir, { recursive: true })
    console.log(`SQL timings of the servers go to ${s.sqlTimingDir}`)
  }
  if (s.allocProfileDir) {
    mkdirSync(s.allocProfileDir, { recursive: true })
    console.log(`allocation profiles of the servers go to ${s.allocProfileDir}`)
  }
  if (s.nodeArgs.length) console.log(`servers run with ${s.nodeArgs.join(' ')} (BENCH_NODE_ARGS)`)
  const tmp = tempDir()
  let build: Build | null = null
  try {
    if (s.server === 'build') {
      console.log('compiling src/ with tsc into a temp directory (BENCH_SERVER=build)')
      build = await buildServer(REPO_ROOT)
      s.entry = build.entry
    }
    const t0 = nowMs()
    const big: CsvFile = {
      path: join(tmp.path, `import-${s.rows}.csv`),
      rows: s.rows,
      bytes: await writeImportCsv(join(tmp.path, `import-${s.rows}.csv`), s.rows),
    }
    const small: CsvFile = {
      path: join(tmp.path, `import-${s.smallRows}.csv`),
      rows: s.smallRows,
      bytes: await writeImportCsv(join(tmp.path, `import-${s.smallRows}.csv`), s.smallRows),
    }
    const changed: CsvFile = {
      path: join(tmp.path, `import-${s.rows}-changed.csv`),
      rows: s.rows,
      bytes: await writeImportCsv(join(tmp.path, `import-${s.rows}-changed.csv`), s.rows, true),
    }
    report.csvBytes = big.bytes
    report.smallCsvBytes = small.bytes
    console.log(
      `wrote the CSV files (${(big.bytes / 1e6).toFixed(1)} MB and ${(small.bytes / 1e6).toFixed(1)} MB) in ${((nowMs() - t0) / 1000).toFixed(1)} s`,
    )

    console.log(`CSV parsers alone over the ${(big.bytes / 1e6).toFixed(1)} MB file`)
    report.parsers = await benchParsers(big.path, big.bytes, big.rows)
    for (const p of report.parsers)
      console.log(`  ${p.name.padEnd(40)} ${int(p.rowsPerSec).padStart(10)} rows/s  ${p.mbPerSec.toFixed(1)} MB/s`)

    for (const engine of list) report.engines.push(await benchEngine(engine, s, big, small, changed))
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err)
  } finally {
    await tmp.remove()
    await build?.remove()
  }
  report.loadAfter = load()
  console.log(`\n${toImportsText(report)}`)
  if (report.error || report.engines.some((e) => e.error)) {
    console.error('\nThe imports benchmark failed (see above); bench/results/imports-latest.* were left as they were.')
    return false
  }
  // Instrumented servers run slower: their figures are for reading, not for results/ or the README.
  if (s.cpuProfDir || s.sqlTimingDir || s.allocProfileDir || s.nodeArgs.length) {
    console.log(
      'bench/results/ and bench/README.md left as they were: the servers were instrumented or flagged (BENCH_CPU_PROF, BENCH_SQL_TIMING, BENCH_ALLOC_PROFILE, BENCH_NODE_ARGS)',
    )
    return true
  }
  for (const file of writeImportsResults(RESULTS_DIR, report, s.server === 'build' ? 'imports-latest' : 'imports-tsx-latest'))
    console.log(`wrote ${file}`)
  const full =
    s.server === 'build' &&
    s.rows === FULL_ROWS &&
    s.smallRows === FULL_SMALL_ROWS &&
    report.engines.length === 2 &&
    report.engines.every((e) => !e.skipped)
  if (full) {
    updateReadme(README, report)
    console.log(`wrote the figures into ${README}`)
  } else {
    console.log(
      `bench/README.md keeps its figures: only a run of ${int(FULL_ROWS)} and ${int(FULL_SMALL_ROWS)} rows on both engines, server compiled, goes there`,
    )
  }
  return true
}
