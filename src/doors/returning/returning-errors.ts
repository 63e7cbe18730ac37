import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isRollcallError, type RollcallError } from '../../core/errors.js'
import { fromFastifyError } from '../../http/problem.js'
import { returningPath } from './returning-map.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Returning.AI has two API families with two envelopes: `integration` (`{status, message, data}`,
     * the users endpoints) and `application` (`{meta: {status, statusCode}, message, data}`, user
     * fields and their histories). A route names its family; errors leave in the same one.
     */
    returningEnvelope?: 'integration' | 'application'
  }
}

/** Core messages name canonical paths (`fields.vip`, `firstName`); a Returning.AI client knows `vip`, `firstname`. */
function messageOf(e: RollcallError): string {
  const perField = (e.code === 'validation_failed' || e.code === 'user_exists') && e.extra.in === undefined
  if (!perField || !e.errors.length) return e.message
  return e.errors.map((f) => `${f.field ? returningPath(f.field) : 'user'}: ${f.message}`).join('; ')
}

export function returningErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = isRollcallError(err) ? err : fromFastifyError(err)
  if (e.status >= 500) request.log.error({ err }, 'request failed')
  if (e.status === 401) reply.header('www-authenticate', 'Bearer')
  const message = messageOf(e)
  const body =
    request.routeOptions.config?.returningEnvelope === 'application'
      ? { meta: { status: 'error', statusCode: e.status }, message }
      : { status: 'error', message }
  return reply.code(e.status).type('application/json').send(body)
}

export function returningNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ status: 'error', message: `No route ${request.method} ${request.url.split('?')[0]}` })
}
