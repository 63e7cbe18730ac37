/** The imports part's figures: console tables, imports-latest.json/.md, and the section in bench/README.md. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Engine, Machine } from './env.js'
import type { ImportRun } from './import-driver.js'
import type { ParserResult } from './parsers.js'
import type { PhaseResult } from './stats.js'

export interface ImportsEngineReport {
  engine: Engine
  version: string | null
  skipped: string | null
  error: string | null
  /** The raw engine inserting the big file's rows. */
  raw: PhaseResult | null
  /** The raw engine then updating every one of them with the changed file's rows. */
  rawUpdate: PhaseResult | null
  small: ImportRun | null
  big: ImportRun | null
  /** The big file again, every row changed, imported into the directory the big import filled. */
  update: ImportRun | null
}

export interface ImportsReport extends Machine {
  /** tsx: the server ran from src/ under tsx; build: compiled with tsc first. */
  server: 'tsx' | 'build'
  /** 1, 5, 15 minute load averages before and after the part: the machine is shared. */
  loadBefore: number[]
  loadAfter: number[]
  rows: number
  smallRows: number
  batch: number
  columns: number
  csvBytes: number
  smallCsvBytes: number
  parsers: ParserResult[]
  engines: ImportsEngineReport[]
  error: string | null
}

/** The aims: Rollcall at half the raw engine's rate or better, peak RSS under 300 MB, flat within 20 %. */
export const AIM_RATIO = 0.5
export const AIM_PEAK_MIB = 300e6 / 2 ** 20
export const FLAT_WITHIN = 0.2
/** Updating every user of a full directory runs at least at this share of the rate into an empty one. */
export const AIM_UPDATE_SHARE = 0.9

export interface EngineFigures {
  engine: Engine
  /** Rollcall end to end (upload + job) ÷ raw, on the big file. */
  ratio: number | null
  /** The job alone (no upload) ÷ raw. */
  runRatio: number | null
  /** Peak RSS on the big file ÷ on the small one. */
  rssGrowth: number | null
  flat: boolean | null
  /** The update import's job rate (into the full directory) ÷ the big import's (into an empty one). */
  updateShare: number | null
  /** The same for the raw engine: its update of every row ÷ its insert of them. */
  rawUpdateShare: number | null
}

export function figures(e: ImportsEngineReport): EngineFigures {
  const raw = e.raw?.rowsPerSec ?? 0
  const ratio = e.big && raw > 0 ? e.big.rowsPerSec / raw : null
  const runRatio = e.big && raw > 0 ? e.big.runRowsPerSec / raw : null
  const a = e.small?.peakRssMb
  const b = e.big?.peakRssMb
  const rssGrowth = a != null && b != null && a > 0 ? b / a : null
  const updateShare = e.update && e.big ? e.update.runRowsPerSec / e.big.runRowsPerSec : null
  const rawUpdateShare = e.rawUpdate && raw > 0 ? e.rawUpdate.rowsPerSec / raw : null
  return {
    engine: e.engine,
    ratio,
    runRatio,
    rssGrowth,
    flat: rssGrowth === null ? null : rssGrowth <= 1 + FLAT_WITHIN,
    updateShare,
    rawUpdateShare,
  }
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const pct = (n: number | null): string => (n === null ? '—' : `${(n * 100).toFixed(1)} %`)
const mib = (n: number | null | undefined): string => (n == null ? '—' : n.toFixed(0))
const secs = (n: number): string => n.toFixed(1)
const yesNo = (b: boolean | null): string => (b === null ? '—' : b ? 'yes' : 'NO')

const MAIN_HEADER = [
  'engine',
  'rows',
  'Rollcall rows/s (end to end)',
  'upload s',
  'job s',
  'job rows/s',
  'server peak RSS MiB',
  'server CPU',
  'PostgreSQL CPU',
  'raw rows/s',
  'raw peak RSS MiB',
  'ratio',
  'ratio (job only)',
]

/** CPU seconds as a share of one core over the measured stretch. */
const core = (cpu: number | null, run: ImportRun): string => (cpu === null ? '—' : `${((cpu / run.measuredSeconds) * 100).toFixed(0)} %`)

function mainRows(r: ImportsReport): string[][] {
  const out: string[][] = []
  for (const e of r.engines) {
    const f = figures(e)
    for (const run of [e.small, e.big]) {
      if (!run) continue
      const isBig = run === e.big
      out.push([
        e.engine,
        int(run.rows),
        int(run.rowsPerSec),
        secs(run.uploadSeconds),
        secs(run.runSeconds),
        int(run.runRowsPerSec),
        `${mib(run.peakRssMb)}${run.peakRssScope === 'process' ? '*' : ''}`,
        core(run.serverCpuSeconds, run),
        core(run.databaseCpuSeconds, run),
        isBig && e.raw ? int(e.raw.rowsPerSec) : '—',
        isBig && e.raw ? mib(e.raw.peakRssMb) : '—',
        isBig ? pct(f.ratio) : '—',
        isBig ? pct(f.runRatio) : '—',
      ])
    }
    if (!e.big && e.raw)
      out.push([e.engine, int(e.raw.rows), '—', '—', '—', '—', '—', '—', '—', int(e.raw.rowsPerSec), mib(e.raw.peakRssMb), '—', '—'])
  }
  return out
}

const MEM_HEADER = [
  'engine',
  'peak RSS MiB, small',
  'peak RSS MiB, big',
  'big ÷ small',
  `flat (≤ ${1 + FLAT_WITHIN}×)`,
  'RSS before → after MiB, big',
  'V8 heap used max MiB, big',
  `peak < 300 MB`,
  `ratio ≥ ${AIM_RATIO}`,
]

function memRows(r: ImportsReport): string[][] {
  return r.engines
    .filter((e) => e.small || e.big)
    .map((e) => {
      const f = figures(e)
      const peak = e.big?.peakRssMb ?? null
      return [
        e.engine,
        mib(e.small?.peakRssMb),
        mib(e.big?.peakRssMb),
        f.rssGrowth === null ? '—' : `${f.rssGrowth.toFixed(2)}×`,
        yesNo(f.flat),
        e.big ? `${mib(e.big.rssBeforeMb)} → ${mib(e.big.rssAfterMb)}` : '—',
        mib(e.big?.maxHeapUsedMb),
        yesNo(peak === null ? null : peak < AIM_PEAK_MIB),
        yesNo(f.ratio === null ? null : f.ratio >= AIM_RATIO),
      ]
    })
}

const UPDATE_HEADER = [
  'engine',
  'update import rows (each updates a user of the full directory)',
  'Rollcall rows/s (end to end)',
  'job rows/s',
  'server peak RSS MiB',
  'server CPU',
  'PostgreSQL CPU',
  'job rate ÷ into an empty directory',
  `≥ ${AIM_UPDATE_SHARE}`,
  'raw engine: update ÷ insert',
]

function updateRows(r: ImportsReport): string[][] {
  return r.engines.flatMap((e) => {
    const run = e.update
    if (!run) return []
    const f = figures(e)
    return [
      [
        e.engine,
        int(run.rows),
        int(run.rowsPerSec),
        int(run.runRowsPerSec),
        `${mib(run.peakRssMb)}${run.peakRssScope === 'process' ? '*' : ''}`,
        core(run.serverCpuSeconds, run),
        core(run.databaseCpuSeconds, run),
        pct(f.updateShare),
        yesNo(f.updateShare === null ? null : f.updateShare >= AIM_UPDATE_SHARE),
        pct(f.rawUpdateShare),
      ],
    ]
  })
}

/** The bulk engine's stages, in the order a batch goes through them (src/engine/types.ts BulkStage). */
const STAGES = ['read', 'validate', 'lookup', 'plan', 'write', 'results', 'commit'] as const

/**
 * The job's seconds outside the stages: progress reads, yielding to the HTTP server, leases. None
 * where the stages add up to more than the job ran: on PostgreSQL two batches are in flight at
 * once (src/engine/pipeline.ts), so their stages overlap and each stage's seconds are its own
 * share of the work, not of the wall clock.
 */
const otherSeconds = (run: ImportRun): number | null => {
  if (!run.stages) return null
  const other = run.runSeconds - STAGES.reduce((t, k) => t + (run.stages?.[k] ?? 0), 0)
  return other < 0 ? null : other
}

/** A job's time by stage, as one line: `read 1.2 s (4 %), …`. */
export function stageNote(run: ImportRun): string {
  const share = (s: number) => `${secs(s)} s (${((s / run.runSeconds) * 100).toFixed(0)} %)`
  const parts = STAGES.map((k) => `${k} ${share(run.stages?.[k] ?? 0)}`)
  const other = otherSeconds(run)
  return [...parts, ...(other === null ? [] : [`other ${share(other)}`])].join(', ')
}

const STAGE_HEADER = ['engine', 'import', 'job s', ...STAGES.map((k) => `${k} s`), 'other s']

function stageRows(r: ImportsReport): string[][] {
  return r.engines.flatMap((e) =>
    (
      [
        ['into an empty directory', e.big],
        ['update into the full one', e.update],
      ] as const
    ).flatMap(([what, run]) => {
      if (!run?.stages) return []
      const share = (s: number | null) => (s === null ? '—' : `${secs(s)} (${((s / run.runSeconds) * 100).toFixed(0)} %)`)
      return [[e.engine, what, secs(run.runSeconds), ...STAGES.map((k) => share(run.stages?.[k] ?? 0)), share(otherSeconds(run))]]
    }),
  )
}

const PARSER_HEADER = ['parser (alone, same file)', 'rows/s', 'MB/s', 's']

const parserRows = (r: ImportsReport): string[][] =>
  r.parsers.map((p) => [p.name, int(p.rowsPerSec), p.mbPerSec.toFixed(1), secs(p.seconds)])

function preamble(r: ImportsReport): string[] {
  const versions = r.engines.map((e) => `${e.engine} ${e.version ?? '?'}`).join(', ')
  return [
    `${int(r.rows)} rows (${(r.csvBytes / 1e6).toFixed(1)} MB) and ${int(r.smallRows)} rows (${(r.smallCsvBytes / 1e6).toFixed(1)} MB), ` +
      `${r.columns} CSV columns, ROLLCALL_BATCH_SIZE ${int(r.batch)}, server ${r.server === 'tsx' ? 'under tsx' : 'compiled with tsc'}, ${r.date}, Node ${r.node}, ${r.cores} cores (${r.cpuModel}), ` +
      `${r.memoryGiB.toFixed(1)} GiB, ${r.platform}; ${versions}; load average ${r.loadBefore.join(' ')} before, ${r.loadAfter.join(' ')} after`,
  ]
}

function notes(r: ImportsReport): string[] {
  const out: string[] = []
  if (r.error) out.push(`FAILED: ${r.error}`)
  for (const e of r.engines) {
    if (e.skipped) out.push(`${e.engine}: skipped: ${e.skipped}`)
    if (e.error) out.push(`${e.engine}: FAILED: ${e.error}`)
  }
  if (r.engines.some((e) => e.small?.peakRssScope === 'process' || e.big?.peakRssScope === 'process')) {
    out.push('* peak RSS since the server started (the reset through /proc/<pid>/clear_refs was refused)')
  }
  return out
}

function textTable(header: string[], rows: string[][], textCols: number): string[] {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const fmt = (r: string[]): string => r.map((c, i) => (i < textCols ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)]
}

function mdTable(header: string[], rows: string[][], textCols: number): string[] {
  const row = (r: string[]): string => `| ${r.join(' | ')} |`
  return [row(header), row(header.map((_, i) => (i < textCols ? '---' : '---:'))), ...rows.map(row)]
}

export function toImportsText(r: ImportsReport): string {
  return [
    ...preamble(r),
    '',
    ...textTable(MAIN_HEADER, mainRows(r), 1),
    '',
    ...textTable(MEM_HEADER, memRows(r), 1),
    '',
    ...(updateRows(r).length ? [...textTable(UPDATE_HEADER, updateRows(r), 1), ''] : []),
    ...(stageRows(r).length ? [...textTable(STAGE_HEADER, stageRows(r), 2), ''] : []),
    ...textTable(PARSER_HEADER, parserRows(r), 1),
    '',
    ...notes(r),
  ].join('\n')
}

const EXPLANATION =
  'Rollcall: the CSV streamed as the body of `POST /api/v1/directories/{dir}/imports` (text/csv, default options: upsert, ' +
  'match email) into an empty directory on a fresh server and store, then `GET /api/v1/imports/{id}` polled to `completed`; ' +
  'end to end = rows ÷ (upload start → job finished), job = rows ÷ (job leased → finished). Every count is checked (all created, ' +
  'none failed), and so are the users, history records and per-row results in the database. Raw: the same rows, no HTTP, no ' +
  'parsing, no history, no results: better-sqlite3 INSERTs (SQLite) or COPY + INSERT … SELECT (PostgreSQL) into a table shaped ' +
  'like `users`, batches of ROLLCALL_BATCH_SIZE, rows/s over the summed batch times. Ratio = Rollcall rows/s ÷ raw rows/s. ' +
  "Peak RSS: VmHWM of the server process from just before the upload to the job's end (and of the raw process). " +
  'CPU: user + system time of the server process, and of the PostgreSQL backends serving the database, over the same stretch, ' +
  'as a share of one core (the machine has few; 100 % means that process was the bottleneck). ' +
  'Update import: the big file again with every first name changed, imported into the directory the big import filled, on the ' +
  'same server; every count checked (all updated), and the update history records and results in the database. ' +
  'Raw update ÷ insert: the raw engine then writes the changed rows over the table it filled (an UPDATE by email per row on ' +
  'SQLite, the same COPY + upsert on PostgreSQL), rows/s ÷ its insert rows/s: what the engine itself loses on updates. ' +
  "Stages: the job's seconds per stage of the bulk engine, from the server's `rollcall_import_stage_seconds_total` " +
  '(read: the stored input read, parsed and mapped; validate; lookup: the batch users read; plan; write: users and history; ' +
  'results: per-row results and checkpoint; commit), other = the rest of the job (progress reads, yielding to HTTP); on ' +
  'PostgreSQL two batches are in flight at once, so the stages overlap, add up to more than the job ran, and other is — . ' +
  'Parsers: one pass over the file from disk in 1 MiB chunks, every record checked. See bench/README.md.'

function markdownBody(r: ImportsReport): string[] {
  return [
    ...preamble(r),
    '',
    ...mdTable(MAIN_HEADER, mainRows(r), 1),
    '',
    ...mdTable(MEM_HEADER, memRows(r), 1),
    '',
    ...(updateRows(r).length ? [...mdTable(UPDATE_HEADER, updateRows(r), 1), ''] : []),
    ...(stageRows(r).length ? [...mdTable(STAGE_HEADER, stageRows(r), 2), ''] : []),
    ...mdTable(PARSER_HEADER, parserRows(r), 1),
    '',
    ...notes(r).map((n) => `- ${n}`),
    ...(notes(r).length ? [''] : []),
    EXPLANATION,
  ]
}

export function toImportsMarkdown(r: ImportsReport): string {
  return ['# Rollcall imports benchmark', '', ...markdownBody(r), ''].join('\n')
}

export function writeImportsResults(dir: string, r: ImportsReport, name = 'imports-latest'): string[] {
  mkdirSync(dir, { recursive: true })
  const json = join(dir, `${name}.json`)
  const md = join(dir, `${name}.md`)
  writeFileSync(json, JSON.stringify({ ...r, figures: r.engines.map(figures) }, null, 2) + '\n')
  writeFileSync(md, toImportsMarkdown(r))
  return [json, md]
}

const BEGIN = '<!-- imports-figures:begin (written by `npm run bench`, imports part, at full size) -->'
const END = '<!-- imports-figures:end -->'

/** Replaces the figures between the markers in bench/README.md (appends the section if absent). */
export function updateReadme(file: string, r: ImportsReport): void {
  const text = readFileSync(file, 'utf8')
  const block = [BEGIN, ...markdownBody(r), END].join('\n')
  const a = text.indexOf(BEGIN)
  const b = text.indexOf(END)
  const next =
    a !== -1 && b > a
      ? text.slice(0, a) + block + text.slice(b + END.length)
      : `${text.trimEnd()}\n\n## Latest imports figures\n\n${block}\n`
  writeFileSync(file, next)
}
