import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Takes the reply over as a stream of server-sent events (`text/event-stream`). The headers go
 * out at once, not with the first event: a client waits for them, and a stream may be quiet for
 * long (a change feed with nothing new).
 */
export function openEventStream(req: FastifyRequest, reply: FastifyReply): ServerResponse {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-request-id': String(req.id),
  })
  res.flushHeaders()
  return res
}
