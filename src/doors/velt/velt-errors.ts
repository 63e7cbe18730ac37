import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, isRollcallError } from '../../core/errors.js'
import { fromFastifyError } from '../../http/problem.js'

/** Velt's canonical error statuses (Google RPC codes, doors.md §4(d)). */
export type VeltStatus =
  'INVALID_ARGUMENT' | 'PERMISSION_DENIED' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'ABORTED' | 'INTERNAL' | 'UNAVAILABLE'

/** An error this door raises itself, with Velt's status and the HTTP status it travels with. */
export class VeltError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: VeltStatus,
    message: string,
  ) {
    super(message)
    this.name = 'VeltError'
  }
}

export const invalidArgument = (message: string) => new VeltError(400, 'INVALID_ARGUMENT', message)
export const notFound = (message: string) => new VeltError(404, 'NOT_FOUND', message)

/** The core's error codes in Velt's vocabulary; the HTTP status stays the catalogue's. */
const STATUS_OF: Partial<Record<ErrorCode, VeltStatus>> = {
  forbidden: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  directory_not_found: 'NOT_FOUND',
  user_not_found: 'NOT_FOUND',
  field_not_found: 'NOT_FOUND',
  key_not_found: 'NOT_FOUND',
  route_not_found: 'NOT_FOUND',
  conflict: 'ALREADY_EXISTS',
  user_exists: 'ALREADY_EXISTS',
  directory_exists: 'ALREADY_EXISTS',
  field_exists: 'ALREADY_EXISTS',
  idempotency_in_progress: 'ABORTED',
  version_mismatch: 'FAILED_PRECONDITION',
  internal: 'INTERNAL',
  unavailable: 'UNAVAILABLE',
}

const send = (reply: FastifyReply, http: number, status: VeltStatus, message: string) =>
  reply.code(http).send({ error: { message, status } })

/** Every error of this door leaves as `{error: {message, status}}` (seed "Failure Response"). */
export function veltErrorHandler(err: FastifyError | VeltError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof VeltError) return send(reply, err.httpStatus, err.status, err.message)
  const e = isRollcallError(err) ? err : fromFastifyError(err)
  if (e.status >= 500) {
    request.log.error({ err }, 'velt request failed')
    return send(reply, e.status, STATUS_OF[e.code] ?? 'INTERNAL', 'Internal error.')
  }
  return send(reply, e.status, STATUS_OF[e.code] ?? 'INVALID_ARGUMENT', e.message)
}

export function veltNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return send(reply, 404, 'NOT_FOUND', `No endpoint ${request.method} ${request.url.split('?')[0]}.`)
}
