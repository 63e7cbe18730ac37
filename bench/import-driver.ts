/**
 * Drives one async import against a started Rollcall server: streams the CSV file as the body of
 * `POST /api/v1/directories/{dir}/imports`, polls `GET /api/v1/imports/{id}` to the end, checks
 * the counts, and reads the server's memory from /proc on the way. After the server has stopped,
 * verifyStored checks what the database holds.
 */
import { createReadStream } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { openStore } from '../src/store/index.js'
import { call, type ServerHandle } from './http-driver.js'
import { nowMs, postgresBackendCpu, readCpuSeconds, readPeakRssMb, readRssMb, resetPeakRss } from './stats.js'

export interface ImportCounts {
  total: number | null
  processed: number
  created: number
  updated: number
  unchanged: number
  failed: number
  conflicts: number
}

interface JobView {
  id: string
  state: string
  counts: ImportCounts
  rowsPerSecond: number | null
  inputBytes: number
  error: string | null
  startedAt: string | null
  finishedAt: string | null
}

export interface RssSample {
  /** Seconds since the upload started. */
  seconds: number
  processed: number
  rssMb: number
  /** From the server's /metrics (prom-client's Node metrics): V8 heap used and total, and external memory. */
  heapUsedMb: number | null
  heapTotalMb: number | null
  externalMb: number | null
}

export interface ImportRun {
  /** What every row did: created a user (a new directory) or updated one (a full directory). */
  kind: ImportKind
  rows: number
  bytes: number
  directoryId: string
  jobId: string
  /** Upload start → 202 (the input is stored). */
  uploadSeconds: number
  /** 202 → the worker leased the job (server clock). */
  queuedSeconds: number
  /** The job's run: leased → finished (server clock). */
  runSeconds: number
  /** Upload start → job finished: what a user waits for. */
  totalSeconds: number
  /** rows ÷ totalSeconds. */
  rowsPerSec: number
  /** rows ÷ runSeconds: the job alone, without the upload. */
  runRowsPerSec: number
  /** What the job itself reports as rowsPerSecond. */
  reportedRowsPerSec: number | null
  /** VmHWM of the server from just before the upload to the job's end, in MiB. */
  peakRssMb: number | null
  peakRssScope: 'import' | 'process'
  /** The largest V8 heap in use among the samples (every ~2 s), in MiB. */
  maxHeapUsedMb: number | null
  /**
   * Where the job's time went, in seconds per stage of the bulk engine (the server's
   * `rollcall_import_stage_seconds_total`, read before and after); null if unavailable.
   */
  stages: Record<string, number> | null
  /** CPU seconds the server process used from upload start to the job's end (user + system). */
  serverCpuSeconds: number | null
  /** PostgreSQL: CPU seconds of the backends serving the benchmark database over the same time. */
  databaseCpuSeconds: number | null
  /** Seconds from upload start to the last poll (the stretch the CPU seconds cover). */
  measuredSeconds: number
  /** VmRSS of the server just before the upload and once the job has finished. */
  rssBeforeMb: number | null
  rssAfterMb: number | null
  rssSamples: RssSample[]
  counts: ImportCounts
  /** What the database holds once the server has stopped (filled in by verifyStored). */
  stored: StoredCounts | null
  /** With BENCH_SQL_TIMING: the server's statements that took longest, over its whole life. */
  sqlTiming?: SqlTiming[]
}

/** One statement shape's totals, as bench/sql-timing.ts writes them. */
export interface SqlTiming {
  sql: string
  calls: number
  ms: number
  rows: number
}

export interface StoredCounts {
  users: number
  distinctEmails: number
  history: number
  results: number
}

export interface ImportOptions {
  label: string
  csvFile: string
  bytes: number
  rows: number
  /** The job must finish within this (upload included). */
  timeoutMs: number
  /** …and make progress at least this often. */
  stallMs: number
  pollMs?: number
  /** PostgreSQL: the benchmark database, whose backends' CPU time is counted. */
  postgresDatabase?: string
  /** Called with each poll, for a progress line. */
  onPoll?: (job: JobView, elapsedS: number) => void
  /** Import into this directory (a full one) instead of a new one; every row must then update its user. */
  directoryId?: string
}

/** What every row of an import must come out as: a new user, or an update of an existing one. */
export type ImportKind = 'created' | 'updated'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const END_STATES = new Set(['completed', 'failed', 'cancelled', 'reverted'])

/** Streams the file as the request body (never in memory); resolves with the answer once read. */
export function uploadFile(
  url: string,
  key: string,
  file: string,
  bytes: number,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'content-length': String(bytes) },
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`the upload got no answer within ${timeoutMs / 1000} s`)))
    req.once('error', reject)
    req.once('response', (res: IncomingMessage) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.once('error', reject)
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }))
    })
    const src = createReadStream(file, { highWaterMark: 1024 * 1024 })
    src.once('error', (err) => req.destroy(err))
    src.pipe(req)
  })
}

/** V8 heap and external memory of the server, from its Prometheus metrics; nulls if unavailable. */
async function heapOf(server: ServerHandle): Promise<Pick<RssSample, 'heapUsedMb' | 'heapTotalMb' | 'externalMb'>> {
  const none = { heapUsedMb: null, heapTotalMb: null, externalMb: null }
  try {
    const res = await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
    const text = await res.text()
    if (res.status !== 200) return none
    const metric = (name: string): number | null => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)
      return m ? Math.round(Number(m[1]) / 2 ** 20) : null
    }
    return {
      heapUsedMb: metric('nodejs_heap_size_used_bytes'),
      heapTotalMb: metric('nodejs_heap_size_total_bytes'),
      externalMb: metric('nodejs_external_memory_bytes'),
    }
  } catch {
    return none
  }
}

/** The server's import stage counters (seconds per stage since it started); null if unavailable. */
async function stagesOf(server: ServerHandle): Promise<Record<string, number> | null> {
  try {
    const res = await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
    const text = await res.text()
    if (res.status !== 200) return null
    const found = [...text.matchAll(/^rollcall_import_stage_seconds_total\{stage="(\w+)"\} (\S+)$/gm)]
    return Object.fromEntries(found.map((m) => [m[1], Number(m[2])]))
  } catch {
    return null
  }
}

export async function getJob(server: ServerHandle, key: string, id: string): Promise<JobView> {
  const res = await fetch(`${server.baseUrl}/api/v1/imports/${id}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`GET /api/v1/imports/${id} answered ${res.status}: ${text.slice(0, 1_000)}`)
  return JSON.parse(text) as JobView
}

export function countsProblem(c: ImportCounts, rows: number, kind: ImportKind): string | null {
  const want: ImportCounts = { total: rows, processed: rows, created: 0, updated: 0, unchanged: 0, failed: 0, conflicts: 0 }
  want[kind] = rows
  const wrong = (Object.keys(want) as (keyof ImportCounts)[]).filter((k) => c[k] !== want[k])
  return wrong.length ? `counts ${JSON.stringify(c)}, expected ${JSON.stringify(want)}` : null
}

/**
 * Creates a directory (or takes o.directoryId), imports the file into it and waits for the job's
 * end; throws on any wrong count.
 */
export async function runImport(server: ServerHandle, key: string, o: ImportOptions): Promise<ImportRun> {
  const kind: ImportKind = o.directoryId ? 'updated' : 'created'
  const dir = o.directoryId
    ? { id: o.directoryId }
    : ((await call(`${server.baseUrl}/api/v1/directories`, key, JSON.stringify({ name: `bench-import-${o.rows}` }), 201)) as {
        id?: string
      })
  if (typeof dir.id !== 'string') throw new Error(`POST /api/v1/directories returned no id: ${JSON.stringify(dir)}`)
  // The end time is the job's own finishedAt, so a slow poll costs no precision, and spares the
  // server (each poll is a request, a key lookup and a job read while the job runs).
  const pollMs = o.pollMs ?? 1_000

  // Let the start-up garbage go before the baseline is read.
  await sleep(1_000)
  const stagesBefore = await stagesOf(server)
  const rssBeforeMb = readRssMb(server.pid)
  const scope = resetPeakRss(server.pid) ? 'import' : 'process'
  const backends = o.postgresDatabase ? postgresBackendCpu(o.postgresDatabase) : null
  backends?.sample()
  const cpu0 = readCpuSeconds(server.pid)
  const t0Wall = Date.now()
  const t0 = nowMs()
  const up = await uploadFile(`${server.baseUrl}/api/v1/directories/${dir.id}/imports`, key, o.csvFile, o.bytes, o.timeoutMs)
  const uploadSeconds = (nowMs() - t0) / 1000
  if (up.status !== 202) throw new Error(`${o.label}: the upload answered ${up.status}, expected 202: ${up.text.slice(0, 1_000)}`)
  const accepted = JSON.parse(up.text) as JobView
  if (accepted.inputBytes !== o.bytes) throw new Error(`${o.label}: the job stored ${accepted.inputBytes} bytes of ${o.bytes}`)
  const t1Wall = Date.now()

  const samples: RssSample[] = []
  let lastSample = -Infinity
  let lastProcessed = -1
  let lastProgress = nowMs()
  let job = accepted
  for (;;) {
    const elapsed = (nowMs() - t0) / 1000
    if (job.counts.processed !== lastProcessed) {
      lastProcessed = job.counts.processed
      lastProgress = nowMs()
    }
    if (elapsed - lastSample >= 2) {
      const rss = readRssMb(server.pid)
      if (rss !== null)
        samples.push({
          seconds: Math.round(elapsed * 10) / 10,
          processed: job.counts.processed,
          rssMb: Math.round(rss),
          ...(await heapOf(server)),
        })
      backends?.sample()
      lastSample = elapsed
    }
    o.onPoll?.(job, elapsed)
    if (END_STATES.has(job.state)) break
    if (elapsed * 1000 > o.timeoutMs)
      throw new Error(
        `${o.label}: the import did not finish within ${o.timeoutMs / 1000} s (state ${job.state}, ${JSON.stringify(job.counts)})`,
      )
    if (nowMs() - lastProgress > o.stallMs)
      throw new Error(`${o.label}: no progress for ${o.stallMs / 1000} s (state ${job.state}, ${JSON.stringify(job.counts)})`)
    await sleep(pollMs)
    job = await getJob(server, key, accepted.id)
  }
  const peakRssMb = readPeakRssMb(server.pid)
  const stagesAfter = await stagesOf(server)
  const rssAfterMb = readRssMb(server.pid)
  const cpu1 = readCpuSeconds(server.pid)
  backends?.sample()
  const measuredSeconds = (nowMs() - t0) / 1000
  if (job.state !== 'completed')
    throw new Error(`${o.label}: the import ended ${job.state}: ${job.error ?? '(no error given)'}; counts ${JSON.stringify(job.counts)}`)
  const problem = countsProblem(job.counts, o.rows, kind)
  if (problem) throw new Error(`${o.label}: ${problem}`)
  if (!job.startedAt || !job.finishedAt) throw new Error(`${o.label}: a completed job without startedAt/finishedAt: ${JSON.stringify(job)}`)
  const started = Date.parse(job.startedAt)
  const finished = Date.parse(job.finishedAt)
  // Server and client share the clock (same machine): the job's own end is more exact than the poll.
  const totalSeconds = Math.max(finished - t0Wall, 1) / 1000
  const runSeconds = Math.max(finished - started, 1) / 1000
  return {
    kind,
    rows: o.rows,
    bytes: o.bytes,
    directoryId: dir.id,
    jobId: job.id,
    uploadSeconds,
    queuedSeconds: Math.max(0, started - t1Wall) / 1000,
    runSeconds,
    totalSeconds,
    rowsPerSec: o.rows / totalSeconds,
    runRowsPerSec: o.rows / runSeconds,
    reportedRowsPerSec: job.rowsPerSecond,
    peakRssMb,
    peakRssScope: scope,
    rssBeforeMb,
    rssAfterMb,
    serverCpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    databaseCpuSeconds: backends ? backends.used() : null,
    measuredSeconds,
    rssSamples: samples,
    stages:
      stagesBefore && stagesAfter ? Object.fromEntries(Object.entries(stagesAfter).map(([k, v]) => [k, v - (stagesBefore[k] ?? 0)])) : null,
    maxHeapUsedMb: samples.reduce<number | null>((m, x) => (x.heapUsedMb === null ? m : Math.max(m ?? 0, x.heapUsedMb)), null),
    counts: job.counts,
    stored: null,
  }
}

/**
 * Counts what the import left in the database: the directory's users (and distinct emails), the
 * job's history records (creates, or updates for an update import) and per-row results. Each must
 * equal the row count.
 */
export async function verifyStored(
  target: { sqliteDataDir: string } | { postgresUrl: string },
  run: Pick<ImportRun, 'kind' | 'rows' | 'directoryId' | 'jobId'>,
  label: string,
): Promise<StoredCounts> {
  const queries = {
    users: 'SELECT count(*) AS n, count(DISTINCT email_norm) AS d FROM users WHERE directory_id = $1',
    history: `SELECT count(*) AS n FROM changes WHERE job_id = $1 AND action = '${run.kind === 'created' ? 'create' : 'update'}'`,
  }
  // Per-row results as the product reads them (batch records and rows of their own together).
  const store = await openStore(
    'sqliteDataDir' in target ? { dataDir: target.sqliteDataDir } : { dataDir: '', databaseUrl: target.postgresUrl },
  )
  let results = 0
  try {
    for (let after: number | undefined; ;) {
      const page = await store.jobs.results(run.jobId, { status: run.kind, afterIndex: after, limit: 10_000 })
      results += page.length
      if (page.length < 10_000) break
      after = page[page.length - 1].index
    }
  } finally {
    await store.close()
  }
  let stored: StoredCounts
  if ('sqliteDataDir' in target) {
    const db = new Database(join(target.sqliteDataDir, 'rollcall.db'), { readonly: true })
    try {
      const q = (s: string, arg: string) => db.prepare(s.replace('$1', '?')).get(arg) as { n: number; d?: number }
      const u = q(queries.users, run.directoryId)
      stored = { users: u.n, distinctEmails: u.d ?? 0, history: q(queries.history, run.jobId).n, results }
    } finally {
      db.close()
    }
  } else {
    const client = new pg.Client({ connectionString: target.postgresUrl, connectionTimeoutMillis: 10_000 })
    await client.connect()
    try {
      const q = async (s: string, arg: string) => (await client.query<{ n: string; d?: string }>(s, [arg])).rows[0]
      const u = await q(queries.users, run.directoryId)
      stored = {
        users: Number(u.n),
        distinctEmails: Number(u.d),
        history: Number((await q(queries.history, run.jobId)).n),
        results,
      }
    } finally {
      await client.end()
    }
  }
  const wrong = (Object.keys(stored) as (keyof StoredCounts)[]).filter((k) => stored[k] !== run.rows)
  if (wrong.length) throw new Error(`${label}: the database holds ${JSON.stringify(stored)} for ${run.rows} rows`)
  return stored
}
