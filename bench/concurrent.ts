/**
 * `BENCH_PARTS=concurrent npm run bench`: imports into several directories at once on PostgreSQL,
 * with the roles split as a deployment splits them: one API process (`ROLLCALL_ROLE=api`, takes the
 * uploads) and BENCH_CONCURRENT_WORKERS worker processes (2; `ROLLCALL_ROLE=worker`, run the jobs,
 * one at a time each), all on one fresh database, the server compiled. First one import alone, then
 * BENCH_CONCURRENT_IMPORTS (4) uploaded at once into as many directories, each of the same
 * BENCH_CONCURRENT_ROWS-row file (1,000,000). Every job's counts and stored rows are checked.
 *
 * The aims (issue: throughput): all imports together at ≥ 1.5 × the rate of one alone, and none
 * starved: no job waits in the queue longer than the longest job ran, plus a poll interval (with 2
 * workers and 4 jobs, the third and fourth wait one turn). Writes bench/results/concurrent-latest.md.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildServer, type Build } from './build.js'
import { owe, tempDir } from './cleanup.js'
import { ADMIN_KEY, load, machine, positiveInt, postgresAdminUrl, READY_TIMEOUT_MS, REPO_ROOT, RESULTS_DIR, safeUrl } from './env.js'
import { call, startServer, startWorker, type ServerHandle, type ServerOptions } from './http-driver.js'
import { countsProblem, getJob, uploadFile, verifyStored } from './import-driver.js'
import { writeImportCsv } from './import-rows.js'
import { createBenchDatabase } from './pg-admin.js'
import { nowMs, postgresBackendCpu, readCpuSeconds } from './stats.js'

/** The issue's aim: the imports together at this multiple of one import's rate, or more. */
export const AIM_CONCURRENT = 1.5
/** Slack for "none starved": a worker looks for queued jobs every second (ROLLCALL_JOB_POLL_MS). */
const STARVE_SLACK_S = 5

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface JobFigures {
  directoryId: string
  jobId: string
  /** Seconds from the job's acceptance to a worker leasing it. */
  queuedSeconds: number
  runSeconds: number
  runRowsPerSec: number
}

interface Round {
  imports: number
  rowsEach: number
  /** First upload's start → last job's end. */
  wallSeconds: number
  rowsPerSec: number
  jobs: JobFigures[]
  /** CPU of each process (api, workers…) and of the PostgreSQL backends, as a share of one core over the wall time. */
  cpu: { name: string; share: number | null }[]
}

interface Settings {
  rows: number
  imports: number
  workers: number
  timeoutMs: number
  stallMs: number
}

/** Uploads `count` copies of the file into new directories at once and waits for every job's end. */
async function round(
  api: ServerHandle,
  procs: { name: string; pid: number }[],
  db: string,
  file: string,
  bytes: number,
  s: Settings,
  count: number,
): Promise<Round> {
  const dirs: string[] = []
  for (let i = 0; i < count; i++) {
    const d = (await call(`${api.baseUrl}/api/v1/directories`, ADMIN_KEY, JSON.stringify({ name: `concurrent-${count}-${i}` }), 201)) as {
      id?: string
    }
    if (typeof d.id !== 'string') throw new Error(`POST /api/v1/directories returned no id: ${JSON.stringify(d)}`)
    dirs.push(d.id)
  }
  const backends = postgresBackendCpu(db)
  backends.sample()
  const cpu0 = procs.map((p) => readCpuSeconds(p.pid))
  const t0Wall = Date.now()
  const t0 = nowMs()
  const accepted = await Promise.all(
    dirs.map(async (dir) => {
      const up = await uploadFile(`${api.baseUrl}/api/v1/directories/${dir}/imports`, ADMIN_KEY, file, bytes, s.timeoutMs)
      if (up.status !== 202) throw new Error(`the upload into ${dir} answered ${up.status}, expected 202: ${up.text.slice(0, 1_000)}`)
      return { dir, id: (JSON.parse(up.text) as { id: string }).id, at: Date.now() }
    }),
  )
  let lastPrint = 0
  let lastProcessed = -1
  let lastProgress = nowMs()
  for (;;) {
    const jobs = await Promise.all(accepted.map((a) => getJob(api, ADMIN_KEY, a.id)))
    const elapsed = (nowMs() - t0) / 1000
    const processed = jobs.reduce((t, j) => t + j.counts.processed, 0)
    if (processed !== lastProcessed) {
      lastProcessed = processed
      lastProgress = nowMs()
    }
    const done = jobs.every((j) => ['completed', 'failed', 'cancelled', 'reverted'].includes(j.state))
    if (done || elapsed - lastPrint >= 15) {
      lastPrint = elapsed
      console.log(`    ${elapsed.toFixed(0).padStart(5)} s  ${jobs.map((j) => `${j.state} ${int(j.counts.processed)}`).join(' | ')}`)
    }
    if (done) {
      backends.sample()
      const cpu1 = procs.map((p) => readCpuSeconds(p.pid))
      const figures = jobs.map((j, i): JobFigures => {
        if (j.state !== 'completed') throw new Error(`import ${j.id} ended ${j.state}: ${j.error ?? '(no error given)'}`)
        const problem = countsProblem(j.counts, s.rows, 'created')
        if (problem) throw new Error(`import ${j.id}: ${problem}`)
        if (!j.startedAt || !j.finishedAt) throw new Error(`a completed job without startedAt/finishedAt: ${JSON.stringify(j)}`)
        const run = Math.max(Date.parse(j.finishedAt) - Date.parse(j.startedAt), 1) / 1000
        return {
          directoryId: accepted[i].dir,
          jobId: j.id,
          queuedSeconds: Math.max(0, Date.parse(j.startedAt) - accepted[i].at) / 1000,
          runSeconds: run,
          runRowsPerSec: s.rows / run,
        }
      })
      const end = Math.max(...jobs.map((j) => Date.parse(j.finishedAt as string)))
      const wall = Math.max(end - t0Wall, 1) / 1000
      const cpu = procs.map((p, i) => {
        const a = cpu0[i]
        const b = cpu1[i]
        return { name: p.name, share: a === null || b === null ? null : (b - a) / wall }
      })
      cpu.push({ name: 'PostgreSQL', share: backends.used() / wall })
      return { imports: count, rowsEach: s.rows, wallSeconds: wall, rowsPerSec: (count * s.rows) / wall, jobs: figures, cpu }
    }
    if (elapsed * 1000 > s.timeoutMs) throw new Error(`the imports did not finish within ${s.timeoutMs / 1000} s`)
    if (nowMs() - lastProgress > s.stallMs) throw new Error(`no import made progress for ${s.stallMs / 1000} s`)
    await sleep(1_000)
  }
}

/** True when no job waited longer than the longest job ran (plus a poll's slack). */
export const noneStarved = (r: Round): boolean => {
  const longest = Math.max(...r.jobs.map((j) => j.runSeconds))
  return r.jobs.every((j) => j.queuedSeconds <= longest + STARVE_SLACK_S)
}

function toMarkdown(alone: Round, together: Round, s: Settings, header: string): string {
  const ratio = together.rowsPerSec / alone.rowsPerSec
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(0)} %`)
  const row = (r: string[]) => `| ${r.join(' | ')} |`
  return [
    '# Rollcall concurrent imports benchmark',
    '',
    header,
    '',
    row(['run', 'imports', 'rows each', 'wall s', 'rows/s, all together', ...together.cpu.map((c) => `CPU ${c.name}`)]),
    row(['---', '---:', '---:', '---:', '---:', ...together.cpu.map(() => '---:')]),
    ...(
      [
        ['one alone', alone],
        ['together', together],
      ] as const
    ).map(([what, x]) =>
      row([what, int(x.imports), int(x.rowsEach), x.wallSeconds.toFixed(1), int(x.rowsPerSec), ...x.cpu.map((c) => pct(c.share))]),
    ),
    '',
    row(['import (together)', 'queued s', 'job s', 'job rows/s']),
    row(['---', '---:', '---:', '---:']),
    ...together.jobs.map((j, i) => row([`${i + 1}`, j.queuedSeconds.toFixed(1), j.runSeconds.toFixed(1), int(j.runRowsPerSec)])),
    '',
    `Together ÷ alone: ${ratio.toFixed(2)}× (aim ≥ ${AIM_CONCURRENT}×: ${ratio >= AIM_CONCURRENT ? 'yes' : 'NO'}); none starved ` +
      `(no job queued longer than the longest job ran + ${STARVE_SLACK_S} s): ${noneStarved(together) ? 'yes' : 'NO'}.`,
    '',
    `One API process (ROLLCALL_ROLE=api) and ${s.workers} workers (ROLLCALL_ROLE=worker, one job at a time each) on one PostgreSQL ` +
      'database; rows/s = all rows ÷ (first upload start → last job end); every job checked completed with all rows created, and ' +
      'every directory checked in the database (users, history, results). CPU: user + system time over the wall time, as a share of one core. See bench/README.md.',
    '',
  ].join('\n')
}

/** The concurrent part; true when it ran (whether or not the aims were met). */
export async function runConcurrentPart(): Promise<boolean> {
  const s: Settings = {
    rows: positiveInt('BENCH_CONCURRENT_ROWS', 1_000_000),
    imports: positiveInt('BENCH_CONCURRENT_IMPORTS', 4),
    workers: positiveInt('BENCH_CONCURRENT_WORKERS', 2),
    timeoutMs: positiveInt('BENCH_IMPORT_TIMEOUT_S', 3_600) * 1000,
    stallMs: positiveInt('BENCH_IMPORT_STALL_S', 180) * 1000,
  }
  console.log(
    `Rollcall bench, concurrent imports on PostgreSQL: 1 API + ${s.workers} worker processes, one import of ${int(s.rows)} rows alone, then ${s.imports} at once`,
  )
  const adminUrl = postgresAdminUrl()
  let db
  try {
    db = await createBenchDatabase(adminUrl, 'concurrent')
  } catch (err) {
    console.log(
      `concurrent: skipped: PostgreSQL at ${safeUrl(adminUrl)} did not answer: ${err instanceof Error ? err.message : String(err)}`,
    )
    return true
  }
  const database = db
  const drop = owe(() => database.drop())
  const tmp = tempDir()
  let build: Build | null = null
  const stops: (() => Promise<void>)[] = []
  const loadBefore = load()
  try {
    console.log('compiling src/ with tsc into a temp directory')
    build = await buildServer(REPO_ROOT)
    const file = join(tmp.path, `import-${s.rows}.csv`)
    const bytes = await writeImportCsv(file, s.rows)
    const opts: ServerOptions = {
      repoRoot: REPO_ROOT,
      adminKey: ADMIN_KEY,
      readyTimeoutMs: READY_TIMEOUT_MS,
      dataDir: tmp.path,
      databaseUrl: database.url,
      env: { LOG_LEVEL: 'warn' },
      entry: build.entry,
    }
    // The API first: it migrates the database; the workers find it ready.
    const api = await startServer({ ...opts, env: { ...opts.env, ROLLCALL_ROLE: 'api' } })
    stops.push(api.stop)
    const procs = [{ name: 'api', pid: api.pid }]
    for (let i = 1; i <= s.workers; i++) {
      const w = await startWorker(opts)
      stops.push(w.stop)
      procs.push({ name: `worker ${i}`, pid: w.pid })
    }
    console.log(`concurrent: one import alone (database ${database.name})`)
    const alone = await round(api, procs, database.name, file, bytes, s, 1)
    console.log(`  ${int(alone.rowsPerSec)} rows/s`)
    console.log(`concurrent: ${s.imports} imports at once`)
    const together = await round(api, procs, database.name, file, bytes, s, s.imports)
    const ratio = together.rowsPerSec / alone.rowsPerSec
    console.log(
      `  ${int(together.rowsPerSec)} rows/s together, ${ratio.toFixed(2)}× one alone; none starved: ${noneStarved(together) ? 'yes' : 'NO'}; ` +
        `queued ${together.jobs.map((j) => j.queuedSeconds.toFixed(0)).join('/')} s, ran ${together.jobs.map((j) => j.runSeconds.toFixed(0)).join('/')} s`,
    )
    for (const r of [alone, together])
      for (const j of r.jobs) {
        // Throws unless the directory holds every user, history record and result of the job.
        await verifyStored(
          { postgresUrl: database.url },
          { kind: 'created', rows: s.rows, directoryId: j.directoryId, jobId: j.jobId },
          `import ${j.jobId}`,
        )
      }
    const m = machine()
    const header =
      `${s.imports} imports of ${int(s.rows)} rows (${(bytes / 1e6).toFixed(1)} MB each), server compiled, ${m.date}, Node ${m.node}, ` +
      `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}; postgres ${database.serverVersion}; ` +
      `load average ${loadBefore.join(' ')} before, ${load().join(' ')} after`
    const md = toMarkdown(alone, together, s, header)
    console.log(`\n${md}`)
    const out = join(RESULTS_DIR, 'concurrent-latest.md')
    writeFileSync(out, md)
    console.log(`wrote ${out}`)
    return true
  } catch (err) {
    console.error(`concurrent: FAILED: ${err instanceof Error ? err.message : String(err)}`)
    return false
  } finally {
    for (const stop of stops.reverse()) await stop()
    await tmp.remove()
    await build?.remove()
    await drop()
  }
}
