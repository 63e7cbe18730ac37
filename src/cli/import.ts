import { type FileHandle, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { type Client, CliError, transportError } from './client.js'
import { summaryOf, watchJob } from './jobs.js'
import { fmtInt, type ProgressReporter, RecordCounter } from './progress.js'
import type { JobView } from '../core/job-view.js'

export interface ImportFlags {
  directory: string
  format?: string
  mode?: string
  match?: string
  metadata?: string
  dryRun?: boolean
  atomic?: boolean
  maxErrors?: string
  mapping?: string
  unmapped?: string
  emptyMeans?: string
  delimiter?: string
  quote?: string
  header?: boolean
  failedOut?: string | false
  /** Mirror mode (rollcall sync, or import --absent). */
  absent?: string
  /** `key=value` equalities, each a flag of its own. */
  scope?: string[]
  maxAbsent?: string
  absentOnErrors?: boolean
  /** The caller handles a job that ends waiting for a confirmation. */
  allowPending?: boolean
}

/** `--scope metadata.source=hr --scope fields.dept=Sales` as the JSON object the server takes (values are text; true/false and numbers as such). */
export function scopeOf(pairs: readonly string[] | undefined): string | undefined {
  if (!pairs?.length) return undefined
  const scope: Record<string, string | number | boolean> = {}
  for (const p of pairs) {
    const eq = p.indexOf('=')
    if (eq <= 0) throw new CliError(`--scope takes field=value (metadata.source=hr), got '${p}'`)
    const raw = p.slice(eq + 1)
    scope[p.slice(0, eq).trim()] =
      raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : raw !== '' && /^-?\d+(\.\d+)?$/.test(raw) && !p.startsWith('metadata.')
            ? Number(raw)
            : raw
  }
  return JSON.stringify(scope)
}

const CONTENT_TYPES = { csv: 'text/csv', ndjson: 'application/x-ndjson', json: 'application/json' } as const
type Format = keyof typeof CONTENT_TYPES

function formatOf(file: string, explicit: string | undefined): Format {
  if (explicit !== undefined) {
    if (explicit in CONTENT_TYPES) return explicit as Format
    throw new CliError(`--format must be csv, ndjson or json, got '${explicit}'`)
  }
  const ext = extname(file).toLowerCase()
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv'
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson'
  if (ext === '.json') return 'json'
  throw new CliError(`cannot tell the format of ${file} from its name: pass --format csv, ndjson or json`)
}

/** `people.csv` → `people.failed.csv`, beside the input. */
export function failedPathOf(file: string): string {
  const ext = extname(file)
  return join(dirname(file), `${basename(file, ext)}.failed.csv`)
}

/** The import options as the query string of POST …/imports; the server checks them and names any problem. */
async function queryOf(f: ImportFlags): Promise<Record<string, string | undefined>> {
  let mapping = f.mapping
  if (mapping?.startsWith('@')) {
    try {
      mapping = await readFile(mapping.slice(1), 'utf8')
    } catch (e) {
      throw new CliError(`cannot read the mapping file ${mapping.slice(1)}: ${(e as Error).message}`)
    }
  }
  return {
    mode: f.mode,
    match: f.match,
    metadata: f.metadata,
    dryRun: f.dryRun ? 'true' : undefined,
    atomic: f.atomic ? 'true' : undefined,
    maxErrors: f.maxErrors,
    mapping,
    unmapped: f.unmapped,
    emptyMeans: f.emptyMeans,
    delimiter: f.delimiter === '\t' ? 'tab' : f.delimiter,
    quote: f.quote,
    header: f.header === false ? 'false' : undefined,
    absent: f.absent,
    scope: scopeOf(f.scope),
    maxAbsent: f.maxAbsent,
    absentOnErrors: f.absentOnErrors ? 'true' : undefined,
  }
}

/** Streams a response body into a file: written beside it first, renamed into place when complete. */
export async function saveBody(client: Client, body: ReadableStream<Uint8Array> | null, path: string): Promise<void> {
  const part = `${path}.part-${process.pid}`
  try {
    await pipeline(body ? Readable.fromWeb(body as NodeReadableStream<Uint8Array>) : Readable.from([]), createWriteStream(part))
    await rename(part, path)
  } catch (e) {
    await rm(part, { force: true })
    if ((e as NodeJS.ErrnoException).syscall) throw new CliError(`cannot write ${path}: ${(e as Error).message}`)
    throw transportError(client.target.url, e)
  }
}

/**
 * `rollcall import FILE`: streams the file to POST /api/v1/directories/{dir}/imports (never
 * whole in memory), follows the job with a progress bar, prints the summary and writes the failed
 * rows beside the file. Resolves with the final job; a job that did not complete is a CliError.
 */
export async function runImport(
  client: Client,
  file: string,
  flags: ImportFlags,
  io: { out: NodeJS.WritableStream; progress: ProgressReporter; signal?: AbortSignal },
): Promise<JobView> {
  const path = resolve(file)
  let size: number
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new CliError(`${file} is not a file`)
    size = st.size
  } catch (e) {
    if (e instanceof CliError) throw e
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  const format = formatOf(file, flags.format)
  const query = await queryOf(flags)
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`)
  }

  const counter = format === 'json' ? null : new RecordCounter(format, flags.quote)
  let readError: Error | undefined
  let sent = 0
  const { progress } = io
  progress.upload(0, size)
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of handle.createReadStream({ highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
        counter?.feed(chunk)
        sent += chunk.length
        progress.upload(sent, size)
        yield chunk
      }
    } catch (e) {
      readError = e as Error
      throw e
    }
  }
  const body = Readable.toWeb(Readable.from(chunks(), { objectMode: false })) as unknown as ReadableStream<Uint8Array>

  let job: JobView
  try {
    job = await client.json<JobView>('POST', `/api/v1/directories/${encodeURIComponent(flags.directory)}/imports`, {
      query,
      body,
      headers: { 'content-type': CONTENT_TYPES[format] },
      signal: io.signal,
    })
  } catch (e) {
    progress.stop()
    if (readError) throw new CliError(`cannot read ${file}: ${readError.message}`)
    if (io.signal?.aborted) throw new CliError('upload interrupted; nothing was imported')
    throw e
  } finally {
    await handle.close().catch(() => {})
  }

  let estimate: number | null = null
  if (counter) estimate = Math.max(0, counter.count() - (format === 'csv' && flags.header !== false ? 1 : 0))
  progress.uploaded(job, estimate)
  let final: JobView
  try {
    final = await watchJob(client, job.id, (v) => progress.job(v), { signal: io.signal })
  } finally {
    progress.stop()
  }

  io.out.write(`${summaryOf(final)}\n`)
  if (final.counts.failed > 0 && flags.failedOut !== false) {
    const target = flags.failedOut ?? failedPathOf(file)
    const res = await client.request('GET', `/api/v1/imports/${encodeURIComponent(final.id)}/failed.csv`, {
      headers: { accept: 'text/csv' },
    })
    await saveBody(client, res.body, target)
    io.out.write(
      `${fmtInt(final.counts.failed)} row${final.counts.failed === 1 ? '' : 's'} failed: wrote ${target} (the rows in your columns plus an error column; fix them and import that file again).\n`,
    )
  }
  if (final.state === 'needs_confirmation' && !flags.allowPending)
    throw new CliError(`import ${final.id} waits for a confirmation before it changes its absent users (see above)`)
  if (final.state !== 'completed' && final.state !== 'needs_confirmation')
    throw new CliError(`import ${final.id} ${final.state}${final.error ? `: ${final.error}` : ''}`)
  return final
}
