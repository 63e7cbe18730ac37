import cliProgress from 'cli-progress'
import type { JobView } from '../core/job-view.js'

/** Formatting shared by the CLI's commands. */
export const fmtInt = (n: number): string => n.toLocaleString('en-US')

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export function fmtDuration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)}s`
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * Counts the records of a CSV or NDJSON file as it streams past (newlines outside quotes, blank
 * lines skipped), so the progress bar has a total before the server has read the input to the
 * end. An estimate: the server's own count replaces it once known.
 */
export class RecordCounter {
  private records = 0
  private inQuotes = false
  private lineHasContent = false
  private readonly quote: number

  constructor(
    private readonly format: 'csv' | 'ndjson',
    quote = '"',
  ) {
    this.quote = quote.charCodeAt(0)
  }

  feed(chunk: Uint8Array): void {
    const csv = this.format === 'csv'
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]
      if (csv && b === this.quote) {
        this.inQuotes = !this.inQuotes
        this.lineHasContent = true
      } else if (b === 0x0a) {
        if (this.inQuotes) continue
        if (this.lineHasContent) this.records++
        this.lineHasContent = false
      } else if (b !== 0x0d && b !== 0x20 && b !== 0x09) this.lineHasContent = true
    }
  }

  /** Records seen, the last one included even without a final newline. */
  count(): number {
    return this.records + (this.lineHasContent ? 1 : 0)
  }
}

export interface ProgressReporter {
  /** Bytes of the file sent so far. */
  upload(sent: number, size: number): void
  /** The server stored the file: the job is queued. */
  uploaded(job: JobView, estimatedRows: number | null): void
  /** A progress event (or poll) of the job. */
  job(view: JobView): void
  /** Clears the bar (before the summary is printed). */
  stop(): void
}

interface Shown {
  stage: 'upload' | 'import'
  text: string
}

/** Rows, rate and ETA of a job view, with the client's own estimate of the total until the server knows it. */
export function describeProgress(
  view: JobView,
  estimatedRows: number | null,
): { value: number; total: number | null; rate: number | null; eta: number | null } {
  const value = view.counts.processed
  const total = view.counts.total ?? (estimatedRows === null ? null : Math.max(estimatedRows, value))
  const rate = view.rowsPerSecond
  const eta = view.etaSeconds ?? (rate && total !== null ? Math.max(0, (total - value) / rate) : null)
  return { value, total, rate, eta }
}

/**
 * A bar (cli-progress) when the output is a terminal; otherwise plain lines, at most one a
 * second, so logs of scripted runs stay readable.
 */
export function progressReporter(out: NodeJS.WriteStream, fileName: string, tty = out.isTTY === true): ProgressReporter {
  let estimate: number | null = null
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: out,
        fps: 8,
        barsize: 30,
        hideCursor: true,
        clearOnComplete: true,
        format: (options, params, payload: Shown) =>
          `${payload.stage === 'upload' ? 'Uploading' : 'Importing'} ${cliProgress.Format.BarFormat(params.progress, options)} ${payload.text}`,
      },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    const show = (value: number, total: number, payload: Shown) => {
      if (!started) {
        bar.start(total, value, payload)
        started = true
      } else {
        bar.setTotal(total)
        bar.update(value, payload)
      }
    }
    return {
      upload(sent, size) {
        show(sent, Math.max(size, 1), {
          stage: 'upload',
          text: `${Math.floor((100 * sent) / Math.max(size, 1))}% | ${fmtBytes(sent)} of ${fmtBytes(size)}`,
        })
      },
      uploaded(_job, estimatedRows) {
        estimate = estimatedRows
      },
      job(view) {
        const p = describeProgress(view, estimate)
        const pct = p.total ? `${Math.floor((100 * p.value) / Math.max(p.total, 1))}%` : '?%'
        const text = `${pct} | ${fmtInt(p.value)}/${p.total === null ? '?' : fmtInt(p.total)} rows | ${p.rate === null ? '-' : fmtInt(p.rate)} rows/s | ETA ${p.eta === null ? '-' : fmtDuration(p.eta)} | ${view.state}`
        // An unknown total (a JSON array, until the server has read it all) leaves the bar empty.
        if (p.total === null) show(0, 1, { stage: 'import', text })
        else show(p.value, Math.max(p.total, 1), { stage: 'import', text })
      },
      stop() {
        if (started) bar.stop()
        started = false
      },
    }
  }

  let lastLine = 0
  let lastState = ''
  let announced = false
  const startedAt = Date.now()
  return {
    upload(_sent, size) {
      if (announced) return
      announced = true
      out.write(`Uploading ${fileName} (${fmtBytes(size)})\n`)
    },
    uploaded(job, estimatedRows) {
      estimate = estimatedRows
      out.write(`Import ${job.id} ${job.state}${estimatedRows === null ? '' : ` (about ${fmtInt(estimatedRows)} rows)`}\n`)
      lastState = job.state
    },
    job(view) {
      const now = Date.now()
      // A line a second at first, then sparser (a tenth of the time so far, at most every 10 s).
      const every = Math.min(10_000, Math.max(1000, (now - startedAt) / 10))
      if (view.state === lastState && now - lastLine < every) return
      if (view.state === 'queued' && lastState === 'queued') return
      lastLine = now
      lastState = view.state
      const p = describeProgress(view, estimate)
      const parts = [`${fmtInt(p.value)}${p.total === null ? '' : `/${fmtInt(p.total)}`} rows`]
      if (p.total) parts[0] += ` (${Math.floor((100 * p.value) / Math.max(p.total, 1))}%)`
      if (p.rate !== null) parts.push(`${fmtInt(p.rate)} rows/s`)
      if (p.eta !== null && view.state === 'running') parts.push(`ETA ${fmtDuration(p.eta)}`)
      out.write(`${view.state}: ${parts.join(', ')}\n`)
    },
    stop() {},
  }
}
