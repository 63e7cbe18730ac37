import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isRollcallError, RollcallError } from '../../core/errors.js'
import { fromFastifyError } from '../../http/problem.js'

/**
 * One of None documents only its 200 answers; its errors are `{"message": "…"}` with the HTTP
 * status saying what kind (doors.md §1(d)). Every error of this door leaves in that envelope:
 * the catalogue's status, the core's precise message.
 */
export function oneOfNoneErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = isRollcallError(err) ? err : fromFastifyError(err)
  if (e.status >= 500) {
    request.log.error({ err }, 'oneofnone request failed')
    return reply.code(e.status).send({ message: 'Internal server error' })
  }
  return reply.code(e.status).send({ message: e.message })
}

export function oneOfNoneNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ message: `Cannot ${request.method} ${request.url.split('?')[0]}` })
}

/** A 400 in this door's words (one message for the whole request). */
export const badRequest = (message: string) => new RollcallError('bad_request', message)
