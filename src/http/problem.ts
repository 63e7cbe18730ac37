import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CATALOGUE, type ErrorCode, type FieldError, isRollcallError, RollcallError } from '../core/errors.js'
import { toFieldError } from '../core/schema.js'

/** Problem types are URNs: absolute URIs that name the code without pretending to be a web page. */
export const PROBLEM_TYPE_BASE = 'urn:rollcall:problem:'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  instance?: string
  errors?: FieldError[]
  [extension: string]: unknown
}

export function toProblem(e: RollcallError, requestId: string): Problem {
  return {
    type: PROBLEM_TYPE_BASE + e.code,
    title: e.title,
    status: e.status,
    detail: e.message,
    code: e.code,
    instance: requestId,
    ...(e.errors.length ? { errors: e.errors } : {}),
    ...e.extra,
  }
}

/** Fastify's own errors (parsing, validation, limits) in the catalogue's terms. */
export function fromFastifyError(err: FastifyError): RollcallError {
  if (err.validation) {
    const where = err.validationContext ?? 'body'
    const fieldErrors = err.validation.map((v) => {
      const fe = toFieldError(v as Parameters<typeof toFieldError>[0])
      if (v.keyword === 'required') {
        const missing = String((v.params as { missingProperty?: string }).missingProperty)
        const field = fe.field ? `${fe.field}.${missing}` : missing
        return { field, code: 'required' as const, message: `'${field}' is required` }
      }
      return fe
    })
    const named = fieldErrors.map((f) => `${where}${f.field ? `.${f.field}` : ''}: ${f.message}`).join('; ')
    return new RollcallError('validation_failed', named, {
      errors: fieldErrors.map((f) => ({ ...f, field: f.field })),
      extra: { in: where },
    })
  }
  const byCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
    FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
    FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  }
  const code = err.code ? byCode[err.code] : undefined
  if (code === 'invalid_json') return new RollcallError(code, `The body is not valid JSON: ${err.message}`)
  if (code === 'unsupported_media_type')
    return new RollcallError(code, 'Send the body as application/json (PATCH also accepts application/merge-patch+json)')
  if (code) return new RollcallError(code, err.message)
  if (err instanceof SyntaxError) return new RollcallError('invalid_json', `The body is not valid JSON: ${err.message}`)
  const status = err.statusCode ?? 500
  if (status === 413) return new RollcallError('payload_too_large', err.message)
  if (status >= 400 && status < 500) return new RollcallError('bad_request', err.message)
  return new RollcallError('internal', 'An unexpected error occurred; the request id identifies it in the server log')
}

export function sendProblem(reply: FastifyReply, e: RollcallError): FastifyReply {
  // RFC 9110 §11.6.1: a 401 names the scheme the client should use.
  if (e.status === 401) reply.header('www-authenticate', 'Bearer realm="rollcall"')
  return reply
    .code(e.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(e, String(reply.request.id))))
}

/** The one error handler: everything leaves as problem+json; internals are logged, never shown. */
export function errorHandler(this: unknown, err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let e = isRollcallError(err) ? err : fromFastifyError(err)
  const hint = request.routeOptions.config?.tooLargeHint
  if (e.code === 'payload_too_large' && hint && !isRollcallError(err)) {
    const dir = (request.params as { dir?: string } | undefined)?.dir ?? '{dir}'
    e = new RollcallError('payload_too_large', `The body is over the limit. ${hint.replace('{dir}', encodeURIComponent(dir))}`)
  }
  if (e.status >= 500) request.log.error({ err }, 'request failed')
  return sendProblem(reply, e)
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, new RollcallError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`))
}

export { ERROR_CATALOGUE }
