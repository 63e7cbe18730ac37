import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { RollcallError } from '../core/errors.js'
import type { IdempotencyService } from '../engine/idempotency-service.js'

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey?: string
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY_RE = /^[\x21-\x7e]{1,255}$/
/** Headers of the first answer that a replay repeats. */
const REPLAYED_HEADERS = ['location', 'etag']

/**
 * `Idempotency-Key` on every mutating route: the first request with a key is processed and its
 * answer stored; the same key with the same method, path and body replays that answer; the same
 * key with anything else is a 422. A key whose request is still running answers 409; a 5xx or 408
 * answer is not stored, so the client may retry with the same key. Records belong to the API key that
 * made the request.
 */
export function registerIdempotency(app: FastifyInstance, store: IdempotencyService): void {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key']
    if (key === undefined || !MUTATING.has(request.method) || !request.principal) return
    if (typeof key !== 'string' || !KEY_RE.test(key))
      throw new RollcallError('bad_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters')
    // A streamed upload cannot be hashed before it is read: its request line, type and length stand for it.
    const body = request.routeOptions.config.streamBody
      ? `${request.headers['content-type'] ?? ''} ${request.headers['content-length'] ?? ''}`
      : request.body === undefined
        ? ''
        : JSON.stringify(request.body)
    const fingerprint = createHash('sha256').update(`${request.method} ${request.url}\n${body}`).digest('hex')
    // Scoped by API key: another key sending the same Idempotency-Key makes a fresh request, so no
    // key ever receives an answer (a new key's secret, another directory's users) that only a
    // different key could have obtained.
    const existing = await store.claim({
      apiKeyId: request.principal.keyId,
      tenantId: request.principal.tenantId,
      key,
      fingerprint,
      state: 'pending',
      status: null,
      contentType: null,
      headers: null,
      body: null,
      createdAt: new Date().toISOString(),
    })
    if (!existing) {
      request.idempotencyKey = key
      return
    }
    if (existing.fingerprint !== fingerprint)
      throw new RollcallError('idempotency_key_reused', `Idempotency-Key '${key}' was already used with a different request`)
    if (existing.state === 'pending')
      throw new RollcallError('idempotency_in_progress', `The request with Idempotency-Key '${key}' is still running`)
    reply.code(existing.status ?? 200).header('idempotent-replayed', 'true')
    if (existing.contentType) reply.type(existing.contentType)
    for (const [name, value] of Object.entries(existing.headers ?? {})) reply.header(name, value)
    return reply.send(existing.body ?? '')
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey
    if (!key || !request.principal) return payload
    // A 5xx or a 408 (the body never arrived) is no answer to the request: the key is freed for the retry.
    if (reply.statusCode >= 500 || reply.statusCode === 408) await store.release(request.principal.keyId, key)
    else
      await store.complete(request.principal.keyId, key, {
        status: reply.statusCode,
        contentType: String(reply.getHeader('content-type') ?? 'application/json'),
        headers: Object.fromEntries(
          REPLAYED_HEADERS.flatMap((h) => {
            const v = reply.getHeader(h)
            return v === undefined ? [] : [[h, String(v)]]
          }),
        ),
        body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '',
      })
    return payload
  })
}
