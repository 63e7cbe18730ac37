import { ApiError, apiFetch, enc, type ImportJob } from '../api'

/**
 * Watches an import through its server-sent events (`GET /imports/{id}/events`). EventSource
 * cannot send the Authorization header, so the stream is read with fetch and parsed here. A
 * dropped stream reconnects; the returned promise settles once the `end` event came (or on abort).
 */
export async function watchImport(id: string, onView: (view: ImportJob) => void, signal: AbortSignal): Promise<void> {
  let delay = 500
  while (!signal.aborted) {
    try {
      const res = await apiFetch(`/imports/${enc(id)}/events`, { accept: 'text/event-stream', signal })
      if (await readEvents(res, onView)) return
      delay = 500
    } catch (e) {
      if (signal.aborted) return
      // A refusal (no such import, a revoked key) is final; a dropped connection is retried.
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e
    }
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 10_000)
  }
}

/** Reads one event stream; true when its `end` event came. */
async function readEvents(res: Response, onView: (view: ImportJob) => void): Promise<boolean> {
  if (!res.body) return false
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return false
    buffer += value
    const blocks = buffer.split(/\r\n\r\n|\n\n|\r\r/)
    buffer = blocks.pop() ?? ''
    for (const block of blocks) {
      const event = parseEvent(block)
      if (!event || (event.name !== 'progress' && event.name !== 'end')) continue
      onView(JSON.parse(event.data) as ImportJob)
      if (event.name === 'end') {
        await reader.cancel()
        return true
      }
    }
  }
}

/** One SSE block: `event:` and `data:` lines (data lines joined by newlines); comments ignored. */
export function parseEvent(block: string): { name: string; data: string } | null {
  let name = 'message'
  const data: string[] = []
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') name = value
    else if (field === 'data') data.push(value)
  }
  return data.length ? { name, data: data.join('\n') } : null
}
