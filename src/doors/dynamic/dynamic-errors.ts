import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type FieldError, isRollcallError, type RollcallError } from '../../core/errors.js'
import { isConflict } from '../../core/row-errors.js'
import { fromFastifyError } from '../../http/problem.js'
import { dynamicPath } from './dynamic-fields.js'

/**
 * Dynamic's error envelopes (models of `@dynamic-labs/sdk-api`): `{error}` for 400, 401 and 403
 * (`BadRequest`, `Unauthorized`, `Forbidden`), `{error, code}` for 404 (`NotFound`) and 422
 * (`UnprocessableEntity`, with an `UnprocessableEntityErrorCode`).
 */
export interface DynamicError {
  status: number
  body: { error: string; code?: string }
}

/** The vendor's code for a conflict on a field, and its message. */
function conflict(e: FieldError): { code: string; error: string } {
  if (e.field === 'email') return { code: 'email_already_exists', error: 'Email already exists' }
  if (e.field === 'username') return { code: 'username_already_exists', error: 'Username already exists' }
  if (e.field === 'id') return { code: 'duplicate_exists', error: 'A user with this id already exists' }
  return { code: 'custom_field_not_unique', error: `${dynamicPath(e.field)} already exists` }
}

/** The vendor's code for invalid input, by the first field at fault. */
function invalidCode(field: string): string {
  const top = dynamicPath(field).split('.')[0]
  if (top === 'email') return 'invalid_email'
  if (top === 'username') return 'invalid_username'
  if (top === 'phoneNumber') return 'invalid_phone'
  if (top === 'metadata') return 'invalid_metadata_value'
  if (top === 'wallets') return 'invalid_wallet_address'
  return 'invalid_user'
}

/**
 * One user's problems as Dynamic reports them: a conflict is a 422 with the vendor's code and
 * message ("Email already exists"); invalid input is a 400 naming every field, in Dynamic's names.
 */
export function userError(errors: FieldError[]): DynamicError {
  const c = errors.find(isConflict)
  if (c) return { status: 422, body: conflict(c) }
  // "the row sets no field" says nothing more once another problem is named.
  const shown = errors.length > 1 ? errors.filter((e) => e.code !== 'empty_row') : errors
  const error = shown
    .map((e) => `${dynamicPath(e.field) || 'user'}: ${e.code === 'empty_row' ? 'at least one field is required' : e.message}`)
    .join('; ')
  return { status: 400, body: { error, code: invalidCode(shown[0]?.field ?? '') } }
}

/** A core error in Dynamic's envelope. */
export function toDynamic(e: RollcallError): DynamicError {
  switch (e.code) {
    case 'validation_failed':
    case 'user_exists':
      // Fastify's own validation (query, path, body shape) is about the request, not one user.
      return e.errors.length && e.extra.in === undefined ? userError(e.errors) : { status: 400, body: { error: e.message } }
    case 'directory_not_found':
      return { status: 404, body: { error: 'Environment not found', code: 'environment_not_found' } }
    case 'user_not_found':
      return { status: 404, body: { error: 'User not found', code: 'user_not_found' } }
    case 'route_not_found':
    case 'not_found':
      return { status: 404, body: { error: e.message, code: 'not_found' } }
    case 'idempotency_key_reused':
      return { status: 422, body: { error: e.message, code: 'invalid_update' } }
    default:
      return { status: e.status, body: { error: e.message } }
  }
}

export function dynamicErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = isRollcallError(err) ? err : fromFastifyError(err)
  if (e.status >= 500) request.log.error({ err }, 'request failed')
  const { status, body } = toDynamic(e)
  if (status === 401) reply.header('www-authenticate', 'Bearer')
  return reply.code(status).type('application/json').send(body)
}

export function dynamicNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ error: `No route ${request.method} ${request.url.split('?')[0]}`, code: 'not_found' })
}
