import { randomUUID } from 'node:crypto'
import { maxHeaderSize, STATUS_CODES } from 'node:http'
import { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { RollcallError } from '../core/errors.js'
import { sendProblem, toProblem } from './problem.js'

/**
 * Connection hygiene that Fastify's routes never see: answers written straight to the socket when
 * Node's HTTP parser refuses a request, a request with two Host headers, and a body that stops
 * arriving.
 */

/**
 * Headers of the answers written to the socket directly (parser errors), where the helmet hook does
 * not run: the same intent as helmet's defaults, strict because these answers are never a page.
 */
export const RAW_ANSWER_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'cache-control': 'no-store',
}

/** Node's parser error codes (llhttp `HPE_*`) in words a client can act on. */
function parserErrorToProblem(err: NodeJS.ErrnoException): RollcallError {
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return new RollcallError(
      'header_fields_too_large',
      `The request line and header fields are over ${Math.round(maxHeaderSize / 1024)} KiB in all; send fewer or shorter headers`,
    )
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT')
    return new RollcallError('request_timeout', 'The request did not arrive in time')
  const reason = (err as { reason?: unknown }).reason
  const why = typeof reason === 'string' && reason ? reason : 'malformed HTTP'
  return new RollcallError('bad_request', `The request could not be parsed as HTTP/1.1 (${why}${err.code ? `, ${err.code}` : ''})`)
}

/**
 * Fastify's `clientErrorHandler`: Node's parser refused the request (a malformed request line,
 * header fields over the limit…) before any route or hook could run. The answer is still
 * problem+json, with the safe headers, then the connection closes.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e = parserErrorToProblem(err)
  this.log.debug({ err, code: e.code }, 'client error')
  // An answer already under way on this connection cannot be followed by another one.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const id = randomUUID()
    const body = JSON.stringify(toProblem(e, id))
    const headers: Record<string, string> = {
      ...RAW_ANSWER_HEADERS,
      'content-type': 'application/problem+json',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': id,
      connection: 'close',
    }
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    socket.end(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\n${head}\r\n${body}`)
    socket.destroySoon()
  } else socket.destroy(err)
}

/**
 * The Host header field must be there once (RFC 9112 §3.2: otherwise a server must answer 400).
 * Two make the target ambiguous: a proxy and this server could each believe another one, and Node
 * silently keeps the first. None on HTTP/1.1 is refused here rather than by Node (whose bare 400
 * has no body), so the answer is problem+json like every other one: see `requireHostHeader` in app.ts.
 */
export function registerHostGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.raw.rawHeaders
    let hosts = 0
    for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts++
    if (hosts === 1 || (hosts === 0 && request.raw.httpVersion === '1.0')) return
    reply.header('connection', 'close')
    throw new RollcallError(
      'bad_request',
      hosts === 0
        ? 'The request has no Host header field; HTTP/1.1 requires one'
        : `The request has ${hosts} Host header fields; send exactly one`,
    )
  })
}

/**
 * A body that stops arriving: after `idleMs` without a byte while the server is waiting for one,
 * the answer is 408 problem+json and the connection closes (or, when the answer was already sent,
 * the connection just closes). The clock runs only while the server waits for the client: not once
 * the body is complete (a long-running request is left alone), and not while the server holds the
 * body back itself (backpressure: the socket is paused or unread bytes are buffered), so a slow
 * upload that keeps sending, or one read slowly, is never cut. A socket idle timeout would do neither.
 */
export function registerBodyIdleTimeout(app: FastifyInstance, idleMs: number): void {
  const tickMs = Math.max(25, Math.min(1000, Math.floor(idleMs / 5)))
  app.addHook('onRequest', (request, reply, done) => {
    const req = request.raw
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0
    if (!hasBody || req.complete) return done()
    const socket = req.socket
    // Only a real connection can stall (app.inject hands a complete body over a stand-in socket).
    if (!(socket instanceof Socket)) return done()
    let lastRead = socket.bytesRead
    let quietSince = Date.now()
    const stop = () => {
      clearInterval(timer)
      socket.off('close', stop)
      req.off('end', stop)
    }
    const timer = setInterval(() => {
      if (req.complete || socket.destroyed) return stop()
      const read = socket.bytesRead
      const heldBack = socket.isPaused() || req.readableLength > 0
      if (read !== lastRead || heldBack) {
        lastRead = read
        quietSince = Date.now()
        return
      }
      if (Date.now() - quietSince < idleMs) return
      stop()
      const seconds = idleMs / 1000
      request.log.info({ idleMs, bytesRead: read }, 'request body timed out')
      if (reply.sent || reply.raw.headersSent) {
        socket.destroy()
        return
      }
      reply.raw.once('finish', () => socket.destroy())
      reply.header('connection', 'close')
      sendProblem(
        reply,
        new RollcallError(
          'request_timeout',
          `The request body stopped arriving: nothing for ${seconds} s before the length announced was read`,
        ),
      )
    }, tickMs)
    timer.unref()
    socket.once('close', stop)
    req.once('end', stop)
    done()
  })
}
