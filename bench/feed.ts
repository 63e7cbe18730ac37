/**
 * `BENCH_PARTS=feed npm run bench`: the change feed (GET …/changes) read by a consumer while a
 * large import writes, on each engine (BENCH_ENGINES), the server compiled. Per engine, on one
 * fresh store: an import of BENCH_FEED_ROWS rows (1,000,000) alone, then the same file into another
 * directory while a consumer follows that directory's feed (pages of 1,000, `wait` when caught up).
 * The consumer checks that it saw every record once (no seq twice, the count equal to the rows).
 *
 * Figures: the consumer's rate while the import ran (records read ÷ the job's run), how long after
 * the job's end it caught up, and the job's rate with the consumer ÷ without it (what reading the
 * feed costs the writer). Writes bench/results/feed-latest.md.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildServer, type Build } from './build.js'
import { tempDir } from './cleanup.js'
import { ADMIN_KEY, engines, load, machine, positiveInt, REPO_ROOT, RESULTS_DIR, type Engine } from './env.js'
import type { ServerHandle } from './http-driver.js'
import { countsProblem, getJob, uploadFile } from './import-driver.js'
import { writeImportCsv } from './import-rows.js'
import { newDirectory, withFreshServer } from './fresh-server.js'

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface ImportFigures {
  runSeconds: number
  rowsPerSec: number
  startedAt: number
  finishedAt: number
}

interface FeedFigures {
  engine: Engine
  rows: number
  alone: ImportFigures
  followed: ImportFigures
  /** Records the consumer read between the job's start and its end. */
  readDuringJob: number
  /** Seconds from the job's end until the consumer had every record. */
  catchUpSeconds: number
  /** All records ÷ (job start → consumer caught up). */
  consumerPerSec: number
  requests: number
}

/** Uploads the file into `dir` and waits for the job's end (checked: every row created). */
async function importInto(server: ServerHandle, dir: string, file: string, bytes: number, rows: number): Promise<ImportFigures> {
  const up = await uploadFile(`${server.baseUrl}/api/v1/directories/${dir}/imports`, ADMIN_KEY, file, bytes, 3_600_000)
  if (up.status !== 202) throw new Error(`the upload answered ${up.status}, expected 202: ${up.text.slice(0, 1_000)}`)
  const id = (JSON.parse(up.text) as { id: string }).id
  for (;;) {
    const j = await getJob(server, ADMIN_KEY, id)
    if (['completed', 'failed', 'cancelled'].includes(j.state)) {
      if (j.state !== 'completed') throw new Error(`import ${id} ended ${j.state}: ${j.error ?? ''}`)
      const problem = countsProblem(j.counts, rows, 'created')
      if (problem) throw new Error(`import ${id}: ${problem}`)
      const startedAt = Date.parse(j.startedAt as string)
      const finishedAt = Date.parse(j.finishedAt as string)
      const runSeconds = Math.max(finishedAt - startedAt, 1) / 1000
      return { runSeconds, rowsPerSec: rows / runSeconds, startedAt, finishedAt }
    }
    await sleep(1_000)
  }
}

/** Follows `dir`'s feed until it has `rows` records; every record checked seen once. */
async function follow(server: ServerHandle, dir: string, rows: number, stop: AbortSignal) {
  const seen = new Set<number>()
  const times: number[] = []
  let cursor: string | null = null
  let requests = 0
  while (seen.size < rows) {
    if (stop.aborted) throw new Error(`the consumer stopped with ${seen.size} of ${rows} records`)
    const url = `${server.baseUrl}/api/v1/directories/${dir}/changes?limit=1000&wait=5${cursor ? `&after=${cursor}` : ''}`
    const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(60_000) })
    requests++
    if (res.status !== 200) throw new Error(`GET …/changes answered ${res.status}: ${(await res.text()).slice(0, 500)}`)
    const page = (await res.json()) as { data: { seq: number }[]; nextCursor: string | null }
    const now = Date.now()
    for (const r of page.data) {
      if (seen.has(r.seq)) throw new Error(`the feed gave record ${r.seq} twice`)
      seen.add(r.seq)
      times.push(now)
    }
    cursor = page.nextCursor
  }
  if (seen.size !== rows) throw new Error(`the feed gave ${seen.size} records for ${rows} rows`)
  return { times, requests, caughtUpAt: times[times.length - 1] }
}

async function benchEngine(engine: Engine, build: Build, file: string, bytes: number, rows: number): Promise<FeedFigures | string> {
  return withFreshServer(engine, build, 'feed', async (server) => {
    console.log(`feed ${engine}: import of ${int(rows)} rows alone`)
    const alone = await importInto(server, await newDirectory(server, 'feed-alone'), file, bytes, rows)
    console.log(`  ${int(alone.rowsPerSec)} rows/s`)
    console.log(`feed ${engine}: the same import, its feed followed`)
    const dir = await newDirectory(server, 'feed-followed')
    const stop = new AbortController()
    const consumer = follow(server, dir, rows, stop.signal)
    let followed: ImportFigures
    try {
      followed = await importInto(server, dir, file, bytes, rows)
    } catch (e) {
      stop.abort()
      await consumer.catch(() => {})
      throw e
    }
    const read = await consumer
    const readDuringJob = read.times.filter((t) => t <= followed.finishedAt).length
    const figures: FeedFigures = {
      engine,
      rows,
      alone,
      followed,
      readDuringJob,
      catchUpSeconds: Math.max(0, read.caughtUpAt - followed.finishedAt) / 1000,
      consumerPerSec: rows / (Math.max(read.caughtUpAt - followed.startedAt, 1) / 1000),
      requests: read.requests,
    }
    console.log(
      `  job ${int(followed.rowsPerSec)} rows/s (${((followed.rowsPerSec / alone.rowsPerSec) * 100).toFixed(0)} % of alone); consumer ${int(figures.consumerPerSec)} records/s, ` +
        `${int(readDuringJob)} read while the job ran, caught up ${figures.catchUpSeconds.toFixed(1)} s after its end`,
    )
    return figures
  })
}

function toMarkdown(results: (FeedFigures | { engine: Engine; skipped: string })[], header: string): string {
  const row = (r: string[]) => `| ${r.join(' | ')} |`
  return [
    '# Rollcall change feed benchmark',
    '',
    header,
    '',
    row([
      'engine',
      'rows',
      'job rows/s alone',
      'job rows/s, feed followed',
      'followed ÷ alone',
      'consumer records/s',
      'read while the job ran',
      'caught up after the job, s',
      'requests',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...results.map((r) =>
      'skipped' in r
        ? row([r.engine, `skipped: ${r.skipped}`, '', '', '', '', '', '', ''])
        : row([
            r.engine,
            int(r.rows),
            int(r.alone.rowsPerSec),
            int(r.followed.rowsPerSec),
            `${((r.followed.rowsPerSec / r.alone.rowsPerSec) * 100).toFixed(1)} %`,
            int(r.consumerPerSec),
            `${int(r.readDuringJob)} (${((r.readDuringJob / r.rows) * 100).toFixed(0)} %)`,
            r.catchUpSeconds.toFixed(1),
            int(r.requests),
          ]),
    ),
    '',
    'Per engine, one compiled server on a fresh store: the CSV imported into a new directory alone, then into another while one ' +
      'consumer follows that directory’s feed (`GET …/changes?limit=1000&wait=5`, each page as soon as the last came). The consumer ' +
      'checks every record is new to it and stops once it has one per row. Consumer records/s = rows ÷ (job start → the consumer ' +
      'had every record). On PostgreSQL the feed hands out a batch’s records once its transaction and every older one have ended. ' +
      'See bench/README.md.',
    '',
  ].join('\n')
}

/** The feed part; true when it ran. */
export async function runFeedPart(): Promise<boolean> {
  const rows = positiveInt('BENCH_FEED_ROWS', 1_000_000)
  const list = engines()
  console.log(
    `Rollcall bench, change feed: an import of ${int(rows)} rows with and without a consumer of its feed, engines ${list.join(', ')}`,
  )
  const tmp = tempDir()
  const loadBefore = load()
  try {
    console.log('compiling src/ with tsc into a temp directory')
    const build = await buildServer(REPO_ROOT)
    const file = join(tmp.path, `feed-${rows}.csv`)
    const bytes = await writeImportCsv(file, rows)
    const results: (FeedFigures | { engine: Engine; skipped: string })[] = []
    for (const engine of list) {
      const r = await benchEngine(engine, build, file, bytes, rows)
      results.push(typeof r === 'string' ? { engine, skipped: r } : r)
    }
    const m = machine()
    const header =
      `${int(rows)} rows (${(bytes / 1e6).toFixed(1)} MB), server compiled with tsc, ${m.date}, Node ${m.node}, ` +
      `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}; ` +
      `load average ${loadBefore.join(' ')} before, ${load().join(' ')} after`
    const out = join(RESULTS_DIR, 'feed-latest.md')
    writeFileSync(out, toMarkdown(results, header))
    console.log(`wrote ${out}`)
    return true
  } catch (err) {
    console.error(`feed: ${err instanceof Error ? err.message : String(err)}`)
    return false
  } finally {
    await tmp.remove()
  }
}
