/**
 * `BENCH_PARTS=mirror npm run bench`: a directory of BENCH_MIRROR_ROWS users (1,000,000) mirrored
 * from its source of truth, on each engine (BENCH_ENGINES), the server compiled. Per engine, on
 * one fresh store, two directories are filled by the same import; then the source file (0.5 % of
 * the users gone, 1 % changed) is imported into the first as a plain update import, and into the
 * second as a mirror (`absent=deactivate`, `maxAbsent=1%`), which also deactivates the users that
 * left. Every count is checked.
 *
 * Figures: each run's rows/s end to end (input rows ÷ the job's run), the mirror's ÷ the plain
 * import's (what keeping the matched set costs, with the absent phase), and the absent phase's
 * time (from the input's end, seen by polling every 100 ms, to the job's end). Writes
 * bench/results/mirror-latest.md.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildServer, type Build } from './build.js'
import { tempDir } from './cleanup.js'
import { ADMIN_KEY, engines, load, machine, positiveInt, REPO_ROOT, RESULTS_DIR, type Engine } from './env.js'
import type { ServerHandle } from './http-driver.js'
import { uploadFile } from './import-driver.js'
import { writeImportCsv, writeMirrorCsv } from './import-rows.js'
import { newDirectory, withFreshServer } from './fresh-server.js'

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
/** One user in ABSENT_EVERY has left the source; one in CHANGED_EVERY changed. */
const ABSENT_EVERY = 200
const CHANGED_EVERY = 100

interface Job {
  state: string
  error: string | null
  counts: Record<string, number | null>
  absent: { phase: string; absent: number; deactivated: number } | null
  startedAt: string | null
  finishedAt: string | null
}

interface Run {
  seconds: number
  rowsPerSec: number
  /** Mirror runs: seconds from the input's end to the job's end. */
  absentSeconds: number | null
  job: Job
}

interface MirrorFigures {
  engine: Engine
  users: number
  fileRows: number
  seed: Run
  plain: Run
  mirror: Run
}

async function job(server: ServerHandle, id: string): Promise<Job> {
  const res = await fetch(`${server.baseUrl}/api/v1/imports/${id}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    signal: AbortSignal.timeout(30_000),
  })
  if (res.status !== 200) throw new Error(`GET /api/v1/imports/${id} answered ${res.status}`)
  return (await res.json()) as Job
}

/** Uploads the file into `dir` with `query`, waits for the job's end, and notes when its input was in (its `absent` appeared). */
async function run(server: ServerHandle, dir: string, file: string, bytes: number, rows: number, query = ''): Promise<Run> {
  const up = await uploadFile(`${server.baseUrl}/api/v1/directories/${dir}/imports${query}`, ADMIN_KEY, file, bytes, 3_600_000)
  if (up.status !== 202) throw new Error(`the upload answered ${up.status}, expected 202: ${up.text.slice(0, 1_000)}`)
  const id = (JSON.parse(up.text) as { id: string }).id
  let inputEnd: number | null = null
  for (;;) {
    const j = await job(server, id)
    if (inputEnd === null && j.absent) inputEnd = Date.now()
    if (['completed', 'failed', 'cancelled', 'needs_confirmation'].includes(j.state)) {
      if (j.state !== 'completed') throw new Error(`import ${id} ended ${j.state}: ${j.error ?? ''}`)
      if (j.counts.processed !== rows || j.counts.failed !== 0)
        throw new Error(`import ${id}: counts ${JSON.stringify(j.counts)} for ${rows} rows`)
      const started = Date.parse(j.startedAt as string)
      const finished = Date.parse(j.finishedAt as string)
      const seconds = Math.max(finished - started, 1) / 1000
      return {
        seconds,
        rowsPerSec: rows / seconds,
        absentSeconds: inputEnd === null ? null : Math.max(0, finished - inputEnd) / 1000,
        job: j,
      }
    }
    await sleep(100)
  }
}

async function benchEngine(
  engine: Engine,
  build: Build,
  seedFile: { path: string; bytes: number },
  source: { path: string; bytes: number; rows: number },
  users: number,
): Promise<MirrorFigures | string> {
  return withFreshServer(engine, build, 'mirror', async (server) => {
    const plainDir = await newDirectory(server, 'mirror-plain')
    const mirrorDir = await newDirectory(server, 'mirror')
    console.log(`mirror ${engine}: two directories of ${int(users)} users`)
    const seed = await run(server, plainDir, seedFile.path, seedFile.bytes, users)
    await run(server, mirrorDir, seedFile.path, seedFile.bytes, users)
    console.log(`  ${int(seed.rowsPerSec)} rows/s`)
    console.log(`mirror ${engine}: the source (${int(source.rows)} rows), a plain import`)
    const plain = await run(server, plainDir, source.path, source.bytes, source.rows)
    console.log(`  ${int(plain.rowsPerSec)} rows/s`)
    console.log(`mirror ${engine}: the source as a mirror (absent=deactivate)`)
    const mirror = await run(server, mirrorDir, source.path, source.bytes, source.rows, '?absent=deactivate&maxAbsent=1%25')
    const gone = users - source.rows
    if (mirror.job.absent?.deactivated !== gone || mirror.job.absent.absent !== gone)
      throw new Error(`the mirror deactivated ${JSON.stringify(mirror.job.absent)}, expected ${gone}`)
    console.log(`  ${int(mirror.rowsPerSec)} rows/s, absent phase ${mirror.absentSeconds?.toFixed(1)} s for ${int(gone)} users`)
    return { engine, users, fileRows: source.rows, seed, plain, mirror }
  })
}

function toMarkdown(results: (MirrorFigures | { engine: Engine; skipped: string })[], header: string): string {
  const row = (r: string[]) => `| ${r.join(' | ')} |`
  return [
    '# Rollcall mirror benchmark',
    '',
    header,
    '',
    row([
      'engine',
      'users',
      'source rows',
      'fill rows/s',
      'plain import rows/s',
      'mirror rows/s',
      'mirror ÷ plain',
      'absent users',
      'absent phase, s',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...results.map((r) =>
      'skipped' in r
        ? row([r.engine, `skipped: ${r.skipped}`, '', '', '', '', '', '', ''])
        : row([
            r.engine,
            int(r.users),
            int(r.fileRows),
            int(r.seed.rowsPerSec),
            int(r.plain.rowsPerSec),
            int(r.mirror.rowsPerSec),
            `${((r.mirror.rowsPerSec / r.plain.rowsPerSec) * 100).toFixed(1)} %`,
            int(r.users - r.fileRows),
            r.mirror.absentSeconds === null ? '?' : r.mirror.absentSeconds.toFixed(1),
          ]),
    ),
    '',
    `Per engine, one compiled server on a fresh store: two directories filled by the same import; the source (every user but one in ${ABSENT_EVERY}, ` +
      `one in ${CHANGED_EVERY} with a new first name) imported into one as a plain import and into the other as a mirror ` +
      '(`absent=deactivate&maxAbsent=1%`). Rows/s = source rows ÷ the job’s run (start to end, the absent phase included for the mirror). ' +
      'The absent phase runs from the input’s end (the job’s `absent` appearing, polled every 100 ms) to the job’s end. See bench/README.md.',
    '',
  ].join('\n')
}

/** The mirror part; true when it ran. */
export async function runMirrorPart(): Promise<boolean> {
  const users = positiveInt('BENCH_MIRROR_ROWS', 1_000_000)
  const list = engines()
  console.log(`Rollcall bench, mirror: a directory of ${int(users)} users mirrored from its source, engines ${list.join(', ')}`)
  const tmp = tempDir()
  const loadBefore = load()
  try {
    console.log('compiling src/ with tsc into a temp directory')
    const build = await buildServer(REPO_ROOT)
    const seedPath = join(tmp.path, `mirror-seed-${users}.csv`)
    const seedBytes = await writeImportCsv(seedPath, users)
    const sourcePath = join(tmp.path, `mirror-source-${users}.csv`)
    const source = await writeMirrorCsv(sourcePath, users, ABSENT_EVERY, CHANGED_EVERY)
    const results: (MirrorFigures | { engine: Engine; skipped: string })[] = []
    for (const engine of list) {
      const r = await benchEngine(engine, build, { path: seedPath, bytes: seedBytes }, { path: sourcePath, ...source }, users)
      results.push(typeof r === 'string' ? { engine, skipped: r } : r)
    }
    const m = machine()
    const header =
      `${int(users)} users, server compiled with tsc, ${m.date}, Node ${m.node}, ${m.cores} cores (${m.cpuModel}), ` +
      `${m.memoryGiB.toFixed(1)} GiB, ${m.platform}; load average ${loadBefore.join(' ')} before, ${load().join(' ')} after`
    const out = join(RESULTS_DIR, 'mirror-latest.md')
    writeFileSync(out, toMarkdown(results, header))
    console.log(`wrote ${out}`)
    return true
  } catch (err) {
    console.error(`mirror: ${err instanceof Error ? err.message : String(err)}`)
    return false
  } finally {
    await tmp.remove()
  }
}
