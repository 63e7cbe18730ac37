import { type Client, CliError } from './client.js'
import { fmtInt } from './progress.js'

export interface ChangesFlags {
  directory: string
  after?: string
  follow?: boolean
  limit?: string
}

interface FeedPage {
  data: { cursor: string }[]
  nextCursor: string | null
}

/** How long one request of `--follow` waits for a record (the server allows 60 s). */
const FOLLOW_WAIT_S = 30

/**
 * `rollcall changes`: the directory's change feed (GET …/changes) as NDJSON on stdout, one
 * record per line, each with its `cursor`. Without --follow it stops once it has read
 * everything there is and says on stderr where to resume; with it, it waits for records (long
 * polling) until interrupted. Resolves with the number of records printed and the last cursor.
 */
export async function runChanges(
  client: Client,
  flags: ChangesFlags,
  io: { out: NodeJS.WritableStream; log: NodeJS.WritableStream; signal?: AbortSignal },
): Promise<{ records: number; cursor: string | null }> {
  const limit = flags.limit === undefined ? 1000 : Number(flags.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new CliError(`--limit must be a whole number from 1 to 1000, got '${flags.limit}'`)
  const path = `/api/v1/directories/${encodeURIComponent(flags.directory)}/changes`
  let cursor = flags.after ?? null
  let records = 0
  for (;;) {
    let page: FeedPage
    try {
      page = await client.json<FeedPage>('GET', path, {
        query: { after: cursor, limit, wait: flags.follow ? FOLLOW_WAIT_S : undefined },
        signal: io.signal,
      })
    } catch (e) {
      if (io.signal?.aborted) break
      throw e
    }
    for (const item of page.data) {
      if (!io.out.write(`${JSON.stringify(item)}\n`)) await new Promise((resolve) => io.out.once('drain', resolve))
      records++
    }
    cursor = page.nextCursor
    if ((!flags.follow && page.data.length < limit) || io.signal?.aborted) break
  }
  io.log.write(`${fmtInt(records)} change records.${cursor ? ` Resume with --after ${cursor}` : ''}\n`)
  return { records, cursor }
}
