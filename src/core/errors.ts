import type { RowErrorCode } from './row-errors.js'
/**
 * The error catalogue: every error Rollcall reports has a stable `code`, an HTTP status and a
 * message. Doors render these in their vendor's envelope; the native API renders them as
 * RFC 9457 problem+json. Nothing ever matches on message text: match on `code`.
 */

/** One problem with one field of one row or request body. */
export interface FieldError {
  /** JSON-pointer-like dotted path of the field (`email`, `metadata.tier`, `fields.dept`); '' for the whole row. */
  field: string
  code: RowErrorCode
  message: string
}

export interface ErrorSpec {
  status: number
  title: string
}

/** code → status and title. The single list; README's error table is generated from the same source. */
export const ERROR_CATALOGUE = {
  // 400: the request itself is malformed
  bad_request: { status: 400, title: 'Bad request' },
  invalid_json: { status: 400, title: 'Malformed JSON' },
  validation_failed: { status: 400, title: 'Validation failed' },
  invalid_cursor: { status: 400, title: 'Invalid cursor' },
  // 401/403: auth
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'The API key lacks the scope for this operation' },
  // 404
  not_found: { status: 404, title: 'Not found' },
  directory_not_found: { status: 404, title: 'Directory not found' },
  user_not_found: { status: 404, title: 'User not found' },
  field_not_found: { status: 404, title: 'Field definition not found' },
  key_not_found: { status: 404, title: 'API key not found' },
  route_not_found: { status: 404, title: 'No such route' },
  // 405/406/408/415
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  // 409: conflicts with current state
  conflict: { status: 409, title: 'Conflict' },
  user_exists: { status: 409, title: 'A user with this identity already exists' },
  directory_exists: { status: 409, title: 'A directory with this externalId already exists' },
  field_exists: { status: 409, title: 'A field with this key already exists' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  version_mismatch: { status: 412, title: 'The user changed since the version given' },
  // 410
  results_expired: { status: 410, title: 'Deleted under the retention settings' },
  cursor_expired: { status: 410, title: 'The change feed no longer holds this position' },
  // 413
  payload_too_large: { status: 413, title: 'Payload too large' },
  // 422
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused with a different request' },
  batch_failed: { status: 422, title: 'The atomic batch failed; nothing was written' },
  // 431
  header_fields_too_large: { status: 431, title: 'Request header fields too large' },
  // 5xx
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

export class RollcallError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly errors: FieldError[]
  readonly extra: Record<string, unknown>

  constructor(code: ErrorCode, message?: string, opts: { errors?: FieldError[]; extra?: Record<string, unknown>; cause?: unknown } = {}) {
    const spec = ERROR_CATALOGUE[code]
    super(message ?? spec.title, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'RollcallError'
    this.code = code
    this.status = spec.status
    this.errors = opts.errors ?? []
    this.extra = opts.extra ?? {}
  }

  get title(): string {
    return ERROR_CATALOGUE[this.code].title
  }
}

export const isRollcallError = (e: unknown): e is RollcallError => e instanceof RollcallError

/** Shorthands for the errors raised most often. */
export const errors = {
  directoryNotFound: (ref: string) => new RollcallError('directory_not_found', `No directory '${ref}' in this tenant`),
  userNotFound: (ref: string) => new RollcallError('user_not_found', `No user '${ref}' in this directory`),
  fieldNotFound: (key: string) => new RollcallError('field_not_found', `No field '${key}' in this directory`),
  keyNotFound: (id: string) => new RollcallError('key_not_found', `No API key '${id}' in this tenant`),
  validation: (fieldErrors: FieldError[], message?: string) =>
    new RollcallError('validation_failed', message ?? fieldErrors.map((e) => `${e.field || '(row)'}: ${e.message}`).join('; '), {
      errors: fieldErrors,
    }),
  badRequest: (message: string, field?: string) =>
    new RollcallError('bad_request', message, field === undefined ? {} : { errors: [{ field, code: 'invalid', message }] }),
}
