import type { FastifyRequest } from 'fastify'
import { hasScope, type Principal } from '../../core/keys.js'
import type { ChangeContext, Scope } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { authenticateSecret } from '../door-auth.js'
import { invalidArgument, VeltError } from './velt-errors.js'

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name]
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * Velt sends two headers: `x-velt-api-key` names the key (Rollcall: the key's id) and
 * `x-velt-auth-token` carries its secret. Both are required; a token that no key has is Velt's
 * "Auth token not found." (INVALID_ARGUMENT), and a token of another key PERMISSION_DENIED.
 */
export function veltAuth(services: Services) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const keyId = header(request, 'x-velt-api-key')
    if (!keyId) throw invalidArgument('API key is required: send it in the x-velt-api-key header.')
    const token = header(request, 'x-velt-auth-token')
    if (!token) throw invalidArgument('Auth token is required: send it in the x-velt-auth-token header.')
    const principal = await authenticateSecret(services, token)
    if (!principal) throw invalidArgument('Auth token not found.')
    if (principal.keyId !== keyId) throw new VeltError(403, 'PERMISSION_DENIED', 'Auth token is not registered for this API key.')
    request.principal = principal
  }
}

/** The authenticated principal, if it has `scope`. */
export function principalWith(request: FastifyRequest, scope: Scope): Principal {
  const p = request.principal
  if (!p) throw invalidArgument('Auth token not found.')
  if (!hasScope(p, scope)) throw new VeltError(403, 'PERMISSION_DENIED', `This API key lacks the '${scope}' scope.`)
  return p
}

/** History names this door as the channel. */
export const veltContext = (request: FastifyRequest): ChangeContext => ({
  channel: 'velt',
  keyId: request.principal?.keyId ?? null,
  requestId: String(request.id),
  jobId: null,
})
