/** Per-phase figures shared by the Rollcall and raw sides, and how they are computed. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { Counts, Phase } from './rows.js'

export interface PhaseResult {
  phase: Phase['number']
  name: string
  rows: number
  batches: number
  seconds: number
  rowsPerSec: number
  p50Ms: number
  p99Ms: number
  /** VmHWM of the measured process, in MiB; null where /proc is unavailable. */
  peakRssMb: number | null
  /** 'phase' when the high-water mark was reset before the phase, 'process' when it is since start. */
  peakRssScope: 'phase' | 'process'
  counts: Counts
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

export function summarize(
  phase: Phase,
  latenciesMs: readonly number[],
  seconds: number,
  counts: Counts,
  peak: { mb: number | null; scope: 'phase' | 'process' },
): PhaseResult {
  const rows = counts.created + counts.updated + counts.unchanged + counts.failed
  return {
    phase: phase.number,
    name: phase.name,
    rows,
    batches: latenciesMs.length,
    seconds,
    rowsPerSec: seconds > 0 ? rows / seconds : 0,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    peakRssMb: peak.mb,
    peakRssScope: peak.scope,
    counts,
  }
}

/** Peak resident set (VmHWM) of a process in MiB, or null when it cannot be read. */
export function readPeakRssMb(pid: number | 'self'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

/** Current resident set (VmRSS) of a process in MiB, or null when it cannot be read. */
export function readRssMb(pid: number | 'self'): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

/**
 * Resets a process's VmHWM to its current RSS (Linux: write "5" to clear_refs), so that the
 * next reading is the peak of one phase, not of everything since start. False if not allowed.
 */
export function resetPeakRss(pid: number | 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

/** Linux clock ticks per second (USER_HZ): 100 on every common architecture. */
const CLK_TCK = 100

/** User plus system CPU seconds a process has used, or null when /proc cannot tell. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / CLK_TCK
  } catch {
    return null
  }
}

/**
 * CPU seconds of the PostgreSQL backends serving one database, over a stretch of time: sample()
 * now and then, used() at the end. Backends are told apart by their process title
 * (`postgres: user database host(port) state`); one that exits between samples loses at most the
 * time since the last sample.
 */
export function postgresBackendCpu(database: string): { sample: () => void; used: () => number } {
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  let initial = true
  const sample = (): void => {
    let pids: string[]
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
    } catch {
      return
    }
    for (const d of pids) {
      const pid = Number(d)
      let title: string
      try {
        title = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {
        continue
      }
      if (!title.startsWith('postgres:') || !title.includes(` ${database} `)) continue
      const cpu = readCpuSeconds(pid)
      if (cpu === null) continue
      // A backend seen for the first time: started during the stretch (it counts from 0) or
      // before it (the first sample is its baseline).
      if (!first.has(pid)) first.set(pid, initial ? cpu : 0)
      last.set(pid, cpu)
    }
    initial = false
  }
  return { sample, used: () => [...last].reduce((sum, [pid, cpu]) => sum + cpu - (first.get(pid) ?? 0), 0) }
}
