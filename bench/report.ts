/** Turns the figures into a console table, a JSON file and a markdown table. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PhaseResult } from './stats.js'

export type Engine = 'sqlite' | 'postgres'

export interface EngineReport {
  engine: Engine
  /** Engine version (SQLite library / PostgreSQL server). */
  version: string | null
  /** Why the engine was not measured (e.g. PostgreSQL did not answer). */
  skipped: string | null
  /** Why a side failed part-way; a failed run is printed but not written to results/. */
  error: string | null
  rollcall: PhaseResult[]
  raw: PhaseResult[]
}

export interface BenchReport {
  date: string
  node: string
  platform: string
  cpuModel: string
  cores: number
  memoryGiB: number
  rows: number
  batch: number
  /** How the Rollcall server ran: compiled (`build`) or src/ under tsx. */
  server?: 'build' | 'tsx'
  engines: EngineReport[]
}

export interface Line {
  engine: Engine
  phase: number
  name: string
  rollcall: PhaseResult | undefined
  raw: PhaseResult | undefined
  /** Rollcall rows/s ÷ raw rows/s: the share of the engine's ceiling that Rollcall reaches. */
  ratio: number | null
}

export function lines(report: BenchReport): Line[] {
  const out: Line[] = []
  for (const e of report.engines) {
    const phases = new Map<number, string>()
    for (const p of [...e.raw, ...e.rollcall]) phases.set(p.phase, p.name)
    for (const [phase, name] of [...phases].sort((a, b) => a[0] - b[0])) {
      const rollcall = e.rollcall.find((p) => p.phase === phase)
      const raw = e.raw.find((p) => p.phase === phase)
      const ratio = rollcall && raw && raw.rowsPerSec > 0 ? rollcall.rowsPerSec / raw.rowsPerSec : null
      out.push({ engine: e.engine, phase, name, rollcall, raw, ratio })
    }
  }
  return out
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1))
const mib = (p: PhaseResult | undefined): string =>
  p?.peakRssMb == null ? '—' : `${p.peakRssMb.toFixed(0)}${p.peakRssScope === 'process' ? '*' : ''}`

const HEADER = [
  'engine',
  'phase',
  'Rollcall rows/s',
  'p50 ms',
  'p99 ms',
  'peak RSS MiB',
  'raw rows/s',
  'raw p50 ms',
  'raw p99 ms',
  'raw peak RSS MiB',
  'ratio',
]

function cells(l: Line): string[] {
  const r = l.rollcall
  const w = l.raw
  return [
    l.engine,
    `${l.phase} ${l.name}`,
    r ? int(r.rowsPerSec) : '—',
    r ? ms(r.p50Ms) : '—',
    r ? ms(r.p99Ms) : '—',
    mib(r),
    w ? int(w.rowsPerSec) : '—',
    w ? ms(w.p50Ms) : '—',
    w ? ms(w.p99Ms) : '—',
    mib(w),
    l.ratio == null ? '—' : `${(l.ratio * 100).toFixed(1)} %`,
  ]
}

function preamble(report: BenchReport): string[] {
  const versions = report.engines.map((e) => `${e.engine} ${e.version ?? '?'}`).join(', ')
  return [
    `${report.rows.toLocaleString('en-US')} rows in batches of ${report.batch.toLocaleString('en-US')}, ` +
      `${report.date}, Node ${report.node}, ${report.cores} cores (${report.cpuModel}), ` +
      `${report.memoryGiB.toFixed(1)} GiB, ${report.platform}; ${versions}; ` +
      (report.server === 'tsx' ? 'server src/ under tsx' : 'server compiled'),
  ]
}

function notes(report: BenchReport): string[] {
  const out: string[] = []
  for (const e of report.engines) {
    if (e.skipped) out.push(`${e.engine}: skipped: ${e.skipped}`)
    if (e.error) out.push(`${e.engine}: FAILED: ${e.error}`)
  }
  if (lines(report).some((l) => l.rollcall?.peakRssScope === 'process' || l.raw?.peakRssScope === 'process')) {
    out.push('* peak RSS since process start (the per-phase reset through /proc/<pid>/clear_refs was refused)')
  }
  return out
}

export function toText(report: BenchReport): string {
  const rows = [HEADER, ...lines(report).map(cells)]
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  // Text left-aligned, figures right-aligned.
  const fmt = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [...preamble(report), '', fmt(HEADER), rule, ...rows.slice(1).map(fmt), '', ...notes(report)].join('\n')
}

export function toMarkdown(report: BenchReport): string {
  const row = (r: string[]): string => `| ${r.join(' | ')} |`
  return [
    '# Rollcall bulk benchmark',
    '',
    ...preamble(report),
    '',
    row(HEADER),
    row(HEADER.map((_, i) => (i < 2 ? '---' : '---:'))),
    ...lines(report).map((l) => row(cells(l))),
    '',
    ...notes(report).map((n) => `- ${n}`),
    'Rollcall: native `POST /api/v1/directories/{dir}/users/bulk` (upsert, match email) over HTTP on 127.0.0.1, ' +
      'one batch at a time. Raw: bare better-sqlite3 prepared statements (SQLite) or COPY + INSERT … ON CONFLICT ' +
      '(PostgreSQL) into a table shaped like `users`. Rows/s = rows ÷ summed batch latency; ratio = Rollcall rows/s ÷ raw rows/s. ' +
      'Peak RSS is VmHWM of the server process and of the raw process, reset before each phase. See bench/README.md.',
    '',
  ].join('\n')
}

export function writeResults(dir: string, report: BenchReport): string[] {
  mkdirSync(dir, { recursive: true })
  const json = join(dir, 'latest.json')
  const md = join(dir, 'latest.md')
  const ratios = lines(report).map((l) => ({ engine: l.engine, phase: l.phase, name: l.name, ratio: l.ratio }))
  writeFileSync(json, JSON.stringify({ ...report, ratios }, null, 2) + '\n')
  writeFileSync(md, toMarkdown(report))
  return [json, md]
}
