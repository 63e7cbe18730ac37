/**
 * `BENCH_PARTS=memory` (flag-gated: 5,000,000 rows take a quarter of an hour per engine): the
 * server's memory as the import grows. The compiled server imports 1,000,000 and then
 * 5,000,000 generated rows, each into an empty directory on a fresh store; every count and the
 * database are checked as in the imports part. Aim: peak RSS at 5M ≤ 1.1 × at 1M (and under
 * 300 MB). Writes bench/results/memory-latest.md.
 *
 * Env: BENCH_MEMORY_ROWS (1000000,5000000), BENCH_ENGINES, BENCH_POSTGRES_URL; the imports
 * part's BENCH_IMPORT_BATCH, _TIMEOUT_S, _STALL_S.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildServer } from './build.js'
import { tempDir } from './cleanup.js'
import { engines, machine, postgresAdminUrl, REPO_ROOT, RESULTS_DIR } from './env.js'
import { type CsvFile, importOnce, settings } from './imports.js'
import { writeImportCsv } from './import-rows.js'
import { createBenchDatabase } from './pg-admin.js'

interface Point {
  engine: string
  rows: number
  peakRssMb: number | null
  heapUsedMaxMb: number | null
  jobRowsPerSec: number
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')

export async function runMemoryPart(): Promise<boolean> {
  const sizes = (process.env.BENCH_MEMORY_ROWS ?? '1000000,5000000').split(',').map((x) => Number(x.trim()))
  if (sizes.length !== 2 || sizes.some((n) => !Number.isInteger(n) || n < 1) || sizes[0] >= sizes[1])
    throw new Error('BENCH_MEMORY_ROWS must be two row counts, the smaller first (1000000,5000000)')
  const s = settings()
  const tmp = tempDir()
  const build = await buildServer(REPO_ROOT)
  s.entry = build.entry
  s.server = 'build'
  const points: Point[] = []
  try {
    for (const engine of engines()) {
      for (const rows of sizes) {
        const csv: CsvFile = { path: join(tmp.path, `memory-${rows}.csv`), rows, bytes: 0 }
        csv.bytes = await writeImportCsv(csv.path, rows)
        const db = engine === 'postgres' ? await createBenchDatabase(postgresAdminUrl(), `mem${rows}`) : null
        try {
          console.log(`memory: ${engine}, ${int(rows)} rows (${(csv.bytes / 1e6).toFixed(0)} MB)`)
          const { run } = await importOnce(engine, s, csv, {
            dataDir: join(tmp.path, `data-${engine}-${rows}`),
            databaseUrl: db?.url,
            databaseName: db?.name,
          })
          points.push({
            engine,
            rows,
            peakRssMb: run.peakRssMb,
            heapUsedMaxMb: run.maxHeapUsedMb,
            jobRowsPerSec: run.runRowsPerSec,
          })
        } finally {
          await db?.drop()
        }
      }
    }
  } finally {
    await build.remove()
    await tmp.remove()
  }
  const m = machine()
  const lines = [
    '# Rollcall memory benchmark',
    '',
    `Compiled server, one import each into an empty directory, batch ${s.batch}; ${m.date}, Node ${m.node}, ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB`,
    '',
    `| engine | rows | job rows/s | server peak RSS MiB | V8 heap used max MiB |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...points.map(
      (p) =>
        `| ${p.engine} | ${int(p.rows)} | ${int(p.jobRowsPerSec)} | ${p.peakRssMb?.toFixed(0) ?? '?'} | ${p.heapUsedMaxMb?.toFixed(0) ?? '?'} |`,
    ),
    '',
    `| engine | peak RSS ${int(sizes[1])} ÷ ${int(sizes[0])} | ≤ 1.1 | peak < 300 MB |`,
    '| --- | ---: | --- | --- |',
  ]
  let ok = true
  for (const engine of engines()) {
    const [a, b] = sizes.map((rows) => points.find((p) => p.engine === engine && p.rows === rows)?.peakRssMb ?? null)
    const ratio = a && b ? b / a : null
    ok &&= ratio !== null
    lines.push(
      `| ${engine} | ${ratio?.toFixed(2) ?? '?'}× | ${ratio !== null && ratio <= 1.1 ? 'yes' : 'NO'} | ${b !== null && b * 1.048576 < 300 ? 'yes' : 'NO'} |`,
    )
  }
  const text = `${lines.join('\n')}\n`
  console.log(`\n${text}`)
  const out = join(RESULTS_DIR, 'memory-latest.md')
  writeFileSync(out, text)
  console.log(`wrote ${out}`)
  return ok
}
