/**
 * The CLI's HTTP client for a running Rollcall server: `--server URL --key K` (or ROLLCALL_URL and
 * ROLLCALL_KEY), every request marked `Rollcall-Channel: cli`, and errors a person can act on.
 */

/** An error the CLI prints as `rollcall: <message>` and exits non-zero on; no stack trace. */
export class CliError extends Error {
  override name = 'CliError'
}

/** The server answered with an error: its problem+json `detail` is the message. */
export class ApiError extends CliError {
  override name = 'ApiError'
  constructor(
    message: string,
    readonly status: number,
    /** The problem's stable `code` (`route_not_found`, `validation_failed`, …), or `http_<status>` without one. */
    readonly code: string,
    readonly problem: Record<string, unknown> | null,
  ) {
    super(message)
  }
}

export interface Target {
  /** The server's base URL, without a trailing slash. */
  url: string
  key: string
}

/** Where to send requests: flags win over ROLLCALL_URL and ROLLCALL_KEY. */
export function targetOf(opts: { server?: string; key?: string }, env: NodeJS.ProcessEnv = process.env): Target {
  const url = opts.server ?? (env.ROLLCALL_URL || undefined)
  if (!url) throw new CliError('no server given: pass --server URL or set ROLLCALL_URL (like http://127.0.0.1:3000)')
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new CliError(`'${url}' is not a URL (like http://127.0.0.1:3000)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliError(`the server URL must start with http:// or https://, got '${url}'`)
  const key = opts.key ?? (env.ROLLCALL_KEY || undefined)
  if (!key) throw new CliError('no API key given: pass --key KEY or set ROLLCALL_KEY')
  return { url: parsed.href.replace(/\/+$/, ''), key }
}

type Query = Record<string, string | number | boolean | undefined | null>

export interface RequestOptions {
  query?: Query
  headers?: Record<string, string>
  /** A body to stream: sent with `duplex: 'half'`, never buffered. */
  body?: ReadableStream<Uint8Array> | string
  signal?: AbortSignal
}

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
}

/** The first `code` on an error or its causes (fetch wraps socket errors, sometimes in an AggregateError). */
function errorCode(e: unknown): { code?: string; message: string } {
  let cur: unknown = e
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: unknown; cause?: unknown; errors?: unknown[]; message?: string }
    if (typeof c.code === 'string') return { code: c.code, message: c.message ?? String(cur) }
    cur = c.cause ?? (Array.isArray(c.errors) ? c.errors[0] : undefined)
  }
  const root = (e as { cause?: { message?: string } }).cause
  return { message: root?.message ?? (e as Error).message ?? String(e) }
}

/**
 * A failed fetch, as a sentence that names the server. `connect`: no answer came (the request may
 * not have left); `read`: the answer broke off while it was being read.
 */
export function transportError(url: string, e: unknown, phase: 'connect' | 'read' = 'read'): CliError {
  if (e instanceof CliError) return e
  if ((e as Error)?.name === 'AbortError') return new CliError('interrupted')
  const { code, message } = errorCode(e)
  if (code && CONNECT_ERRORS[code]) return new CliError(`cannot reach the server at ${url} (${CONNECT_ERRORS[code]})`)
  if (code && /CERT|SSL|TLS/.test(code)) return new CliError(`cannot reach the server at ${url}: TLS error ${code} (${message})`)
  if (phase === 'connect') return new CliError(`no answer from the server at ${url}${code ? ` (${code})` : ''}: ${message}`)
  return new CliError(`lost the connection to the server at ${url}${code ? ` (${code})` : ''}: ${message}`)
}

/** A non-2xx answer as an ApiError: problem+json's detail, or the start of whatever came instead. */
export async function problemOf(res: Response): Promise<ApiError> {
  const type = res.headers.get('content-type') ?? ''
  const text = await res.text().catch(() => '')
  if (/json/i.test(type)) {
    try {
      const p = JSON.parse(text) as Record<string, unknown>
      const detail = typeof p.detail === 'string' && p.detail ? p.detail : typeof p.title === 'string' ? p.title : `HTTP ${res.status}`
      const code = typeof p.code === 'string' ? p.code : `http_${res.status}`
      return new ApiError(detail, res.status, code, p)
    } catch {
      // not JSON after all: fall through
    }
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  return new ApiError(
    `the server answered ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`,
    res.status,
    `http_${res.status}`,
    null,
  )
}

export class Client {
  constructor(readonly target: Target) {}

  url(path: string, query: Query = {}): string {
    const u = new URL(this.target.url + path)
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) u.searchParams.set(k, String(v))
    return u.href
  }

  /** Sends a request; a 2xx answer comes back unread, anything else is thrown as an ApiError. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    // Our own abort as well as the caller's: a refused upload must stop sending the rest of the file.
    const own = new AbortController()
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${this.target.key}`, 'rollcall-channel': 'cli', accept: 'application/json', ...opts.headers },
      signal: opts.signal ? AbortSignal.any([opts.signal, own.signal]) : own.signal,
    }
    const streaming = opts.body !== undefined && typeof opts.body !== 'string'
    if (opts.body !== undefined) {
      init.body = opts.body
      if (streaming) init.duplex = 'half'
    }
    let res: Response
    try {
      res = await fetch(this.url(path, opts.query), init)
    } catch (e) {
      throw transportError(this.target.url, e, 'connect')
    }
    if (!res.ok) {
      const problem = await problemOf(res)
      // The server may answer before it has read the whole body (a bad option, an unknown directory).
      if (streaming) own.abort()
      throw problem
    }
    return res
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts)
    try {
      return (await res.json()) as T
    } catch (e) {
      throw transportError(this.target.url, e)
    }
  }
}

/** One server-sent event. */
export interface ServerEvent {
  event: string
  data: string
}

/** Parses a text/event-stream body (the `event:` and `data:` lines; comments and ids skipped). */
export async function* serverEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder()
  let buf = ''
  let event = 'message'
  let data: string[] = []
  const reader = body.getReader()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      buf += done ? decoder.decode() : decoder.decode(value, { stream: true })
      let nl: number
      while ((nl = buf.search(/\r\n|\r|\n/)) !== -1) {
        // A CR that ends the buffer may be the first half of a CRLF: wait for the next chunk.
        if (!done && nl === buf.length - 1 && buf[nl] === '\r') break
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1))
        if (line === '') {
          if (data.length) yield { event, data: data.join('\n') }
          event = 'message'
          data = []
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':')
          const field = colon === -1 ? line : line.slice(0, colon)
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event = value
          else if (field === 'data') data.push(value)
        }
      }
      if (done) return
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}
