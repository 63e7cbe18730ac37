import type { FastifyError } from 'fastify'
import { isRollcallError, type RollcallError } from '../../core/errors.js'
import type { JsonObject } from '../../core/types.js'
import { fromFastifyError } from '../../http/problem.js'
import { URN } from './scim-constants.js'

/** RFC 7644 §3.12, table 9. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'

/** An error in SCIM's terms: an HTTP status, an optional scimType and a detail for humans. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
  ) {
    super(message)
    this.name = 'ScimError'
  }

  body(): JsonObject {
    return {
      schemas: [URN.error],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.message,
    }
  }
}

export const scimError = {
  invalidFilter: (detail: string) => new ScimError(400, detail, 'invalidFilter'),
  invalidPath: (detail: string) => new ScimError(400, detail, 'invalidPath'),
  invalidValue: (detail: string) => new ScimError(400, detail, 'invalidValue'),
  invalidSyntax: (detail: string) => new ScimError(400, detail, 'invalidSyntax'),
  noTarget: (detail: string) => new ScimError(400, detail, 'noTarget'),
  mutability: (detail: string) => new ScimError(400, detail, 'mutability'),
  uniqueness: (detail: string) => new ScimError(409, detail, 'uniqueness'),
  tooMany: (status: 400 | 413, detail: string) => new ScimError(status, detail, 'tooMany'),
  notFound: (detail: string) => new ScimError(404, detail),
  preconditionFailed: (detail: string) => new ScimError(412, detail),
}

/** Field error codes of the core that mean "this attribute may not be written". */
const READ_ONLY_CODES = new Set(['read_only'])

/**
 * A core error in SCIM's terms. `attributeOf` names the SCIM attribute of a core field path
 * (`firstName` → `name.givenName`), so details speak the client's language.
 */
export function fromRollcallError(e: RollcallError, attributeOf: (field: string) => string = (f) => f): ScimError {
  const detail = e.errors.length ? e.errors.map((x) => `${x.field ? attributeOf(x.field) : 'request'}: ${x.message}`).join('; ') : e.message
  switch (e.code) {
    case 'validation_failed':
      return new ScimError(400, detail, e.errors.some((x) => READ_ONLY_CODES.has(x.code)) ? 'mutability' : 'invalidValue')
    case 'bad_request':
    case 'invalid_json':
      return new ScimError(400, e.message, 'invalidSyntax')
    case 'user_exists':
    case 'conflict':
      return new ScimError(409, detail, e.code === 'user_exists' ? 'uniqueness' : undefined)
    case 'payload_too_large':
      return new ScimError(413, e.message, 'tooMany')
    default:
      return new ScimError(e.status, detail)
  }
}

/** Anything thrown inside the door, as a SCIM error. */
export function toScimError(err: unknown, attributeOf?: (field: string) => string): ScimError {
  if (err instanceof ScimError) return err
  if (isRollcallError(err)) return fromRollcallError(err, attributeOf)
  return fromRollcallError(fromFastifyError(err as FastifyError), attributeOf)
}
