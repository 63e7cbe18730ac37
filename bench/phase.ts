/** Runs one phase batch by batch, the same way for Rollcall and for the raw engines. */
import { addCounts, expectedCounts, makeBatch, zeroCounts, type BenchRow, type Counts, type Phase } from './rows.js'
import { nowMs, readPeakRssMb, resetPeakRss, summarize, type PhaseResult } from './stats.js'

export interface PhaseRun<P, R extends BenchRow = BenchRow> {
  label: string
  phase: Phase
  total: number
  batchSize: number
  /** The process whose peak RSS is reported. */
  pid: number | 'self'
  /** Untimed: generates rows [start, start + size) clipped to total; default makeBatch of the phase. */
  makeRows?: (start: number, size: number, total: number) => R[]
  /** Untimed: turns generated rows into what the timed step sends (e.g. a JSON body). */
  prepare: (rows: R[]) => P
  /** Timed: writes one batch and returns what the engine reports for it. */
  write: (prepared: P, rows: R[]) => Counts | Promise<Counts>
}

/**
 * Batches go strictly one after another, so each latency is one batch's alone. Rows/s is rows over
 * the summed batch latencies: row generation and body building are the client's work, not the
 * engine's, and stay outside the clock on both sides. Every batch's counts are checked against
 * the phase's expectation: a fast wrong answer is not a benchmark.
 */
export async function runPhase<P, R extends BenchRow = BenchRow>(run: PhaseRun<P, R>): Promise<PhaseResult> {
  const { phase, total, batchSize } = run
  const scope = resetPeakRss(run.pid) ? 'phase' : 'process'
  const latencies: number[] = []
  let counts = zeroCounts()
  let busy = 0
  for (let start = 0; start < total; start += batchSize) {
    const rows = run.makeRows ? run.makeRows(start, batchSize, total) : (makeBatch(start, batchSize, total, phase.number) as R[])
    const prepared = run.prepare(rows)
    const t0 = nowMs()
    const got = await run.write(prepared, rows)
    const ms = nowMs() - t0
    const want = expectedCounts(phase.number, start, start + rows.length)
    if (!sameCounts(got, want)) {
      throw new Error(
        `${run.label}, phase ${phase.number} (${phase.name}), rows ${start}..${start + rows.length - 1}: ` +
          `got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
      )
    }
    latencies.push(ms)
    busy += ms
    counts = addCounts(counts, got)
  }
  return summarize(phase, latencies, busy / 1000, counts, { mb: readPeakRssMb(run.pid), scope })
}

const sameCounts = (a: Counts, b: Counts): boolean =>
  a.created === b.created && a.updated === b.updated && a.unchanged === b.unchanged && a.failed === b.failed
