import type { FastifyRequest } from 'fastify'
import { RollcallError } from '../../core/errors.js'
import { hasScope } from '../../core/keys.js'
import type { ChangeContext, Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { authenticateSecret, singleDirectoryOf } from '../door-auth.js'

/** The app (directory) each authenticated request works in; a WeakMap keeps it off the shared request type. */
const apps = new WeakMap<FastifyRequest, Directory>()

/**
 * `x-api-key: <Rollcall key secret>`. One of None keys belong to one app, so the key must be
 * limited to exactly one directory: that directory is the app, its `number` the `app_id`.
 * GET needs the `read` scope, everything else `write`.
 */
export function oneOfNoneAuth(services: Services) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers['x-api-key']
    const principal = await authenticateSecret(services, typeof header === 'string' ? header : undefined)
    if (!principal) throw new RollcallError('unauthorized', 'Unauthorized')
    const needed = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write'
    if (!hasScope(principal, needed)) throw new RollcallError('forbidden', `This API key lacks the '${needed}' scope`)
    const app = await singleDirectoryOf(services, principal)
    if (!app)
      throw new RollcallError('forbidden', 'This API key is not limited to exactly one app: use a Rollcall key limited to one directory')
    request.principal = principal
    apps.set(request, app)
  }
}

export function appOf(request: FastifyRequest): Directory {
  const app = apps.get(request)
  if (!app) throw new RollcallError('unauthorized', 'Unauthorized')
  return app
}

/** History names this door as the channel, with the key and request that wrote. */
export function oneOfNoneContext(request: FastifyRequest): ChangeContext {
  return { channel: 'oneofnone', keyId: request.principal?.keyId ?? null, requestId: String(request.id), jobId: null }
}
