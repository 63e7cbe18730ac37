import type { FastifyRequest } from 'fastify'
import { RollcallError } from '../../core/errors.js'
import type { ChangeContext, Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../../http/auth.js'
import { singleDirectoryOf } from '../door-auth.js'
import { communityIdOf, PLATFORM_FIELDS } from './returning-map.js'

/**
 * A Returning.AI API key belongs to one community. Here that is a Rollcall key limited to exactly
 * one directory (checked by the shared bearer hook, then here); a `communityId` in the path or
 * body must name that directory, by its 24-hex community id, its UUID or its externalId.
 */
export function communities(s: Services) {
  async function community(req: FastifyRequest, ref?: string): Promise<Directory> {
    const dir = await singleDirectoryOf(s, principalOf(req))
    if (!dir)
      throw new RollcallError('forbidden', 'This API key is not limited to one community: create a key limited to exactly one directory')
    if (ref !== undefined && ref !== communityIdOf(dir) && ref !== dir.id && ref !== dir.externalId)
      throw new RollcallError('not_found', `No community '${ref}' for this API key`)
    return dir
  }

  return {
    community,
    /**
     * The community's user fields as this door sees them: the platform's `xp` and `coins` are
     * always there; the directory stores them with the first write that sets a user (the door's
     * writes pass PLATFORM_FIELDS as `needsFields`), so a read or a failed request defines nothing.
     */
    fieldsOf: (dir: Directory) => s.directories.fields(dir, PLATFORM_FIELDS),
  }
}

export const contextOf = (req: FastifyRequest): ChangeContext => ({
  channel: 'returning',
  keyId: principalOf(req).keyId,
  requestId: String(req.id),
  jobId: null,
})
