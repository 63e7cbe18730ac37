import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { extname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { type Client, CliError, transportError } from './client.js'
import { fmtInt } from './progress.js'

export interface ExportFlags {
  directory: string
  format?: string
  out?: string
}

type Format = 'csv' | 'ndjson'

function formatOf(flags: ExportFlags): Format {
  if (flags.format !== undefined) {
    if (flags.format === 'csv' || flags.format === 'ndjson') return flags.format
    throw new CliError(`--format must be csv or ndjson, got '${flags.format}'`)
  }
  const ext = flags.out ? extname(flags.out).toLowerCase() : ''
  return ext === '.ndjson' || ext === '.jsonl' ? 'ndjson' : 'csv'
}

/** Counts records as they stream past: lines outside quotes, less the CSV header. */
function recordCounter(format: Format) {
  let lines = 0
  let inQuotes = false
  return {
    feed(chunk: Uint8Array) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]
        if (b === 0x22 && format === 'csv') inQuotes = !inQuotes
        else if (b === 0x0a && !inQuotes) lines++
      }
    },
    count: () => Math.max(0, lines - (format === 'csv' ? 1 : 0)),
  }
}

/**
 * `rollcall export`: streams GET /api/v1/directories/{dir}/export into a file (written beside it,
 * renamed into place when complete) or to stdout. Resolves with the number of users.
 */
export async function runExport(
  client: Client,
  flags: ExportFlags,
  io: { out: NodeJS.WritableStream; log: NodeJS.WritableStream },
): Promise<number> {
  const format = formatOf(flags)
  const res = await client.request('GET', `/api/v1/directories/${encodeURIComponent(flags.directory)}/export`, {
    query: { format },
    headers: { accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
  })
  const counter = recordCounter(format)
  const body = res.body
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (!body) return
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        counter.feed(chunk)
        yield chunk
      }
    } catch (e) {
      throw transportError(client.target.url, e)
    }
  }

  const toStdout = flags.out === undefined || flags.out === '-'
  if (toStdout) {
    try {
      await pipeline(chunks(), io.out)
    } catch (e) {
      // A closed pipe (`rollcall export … | head`) is the reader's choice, not an error.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return counter.count()
      throw e
    }
    io.log.write(`Exported ${fmtInt(counter.count())} users (${format}).\n`)
    return counter.count()
  }

  const out = flags.out as string
  const part = `${out}.part-${process.pid}`
  try {
    await pipeline(chunks(), createWriteStream(part))
    await rename(part, out)
  } catch (e) {
    await rm(part, { force: true })
    if (e instanceof CliError) throw new CliError(`${e.message}; ${out} was not written`)
    throw new CliError(`cannot write ${out}: ${(e as Error).message}`)
  }
  io.log.write(`Exported ${fmtInt(counter.count())} users to ${out} (${format}).\n`)
  return counter.count()
}
