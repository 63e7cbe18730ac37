import type { FastifyReply, FastifyRequest } from 'fastify'
import { RollcallError } from '../core/errors.js'
import { hasScope, type Principal } from '../core/keys.js'
import type { ChangeContext, Scope } from '../core/types.js'
import type { KeyService } from '../engine/key-service.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without it are public (health, docs). */
    scope?: Scope
    /** A GET that also takes a signed link (`keyId`, `expires`, `signature` in its query) instead of the header. */
    signedLinks?: boolean
  }
}

/** `Authorization: Bearer <key>` → request.principal. */
export function bearerAuth(keys: KeyService) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const scope = request.routeOptions.config.scope
    if (!scope) return
    const header = request.headers.authorization
    let principal: Principal | null
    const q = request.url.indexOf('?')
    const params = new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1))
    if (!header && request.routeOptions.config.signedLinks && params.has('signature')) {
      principal = await keys.authenticateLink(q < 0 ? request.url : request.url.slice(0, q), params)
    } else {
      const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
      if (!m) throw new RollcallError('unauthorized', 'Send the API key as "Authorization: Bearer <key>"')
      principal = await keys.authenticate(m[1])
      if (!principal) throw new RollcallError('unauthorized', 'The API key is unknown or revoked')
    }
    if (!hasScope(principal, scope)) throw new RollcallError('forbidden', `This operation needs the '${scope}' scope`)
    request.principal = principal
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new RollcallError('unauthorized')
  return request.principal
}

const CLIENT_CHANNELS = new Set(['console', 'cli'])

/** Who is writing, for history: the native API, or the console/CLI that say so in `Rollcall-Channel`. */
export function nativeContext(request: FastifyRequest): ChangeContext {
  const claimed = request.headers['rollcall-channel']
  const channel = typeof claimed === 'string' && CLIENT_CHANNELS.has(claimed) ? (claimed as 'console' | 'cli') : 'native'
  return { channel, keyId: principalOf(request).keyId, requestId: String(request.id), jobId: null }
}
