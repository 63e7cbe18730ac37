import type { Principal } from '../core/keys.js'
import type { Directory } from '../core/types.js'
import type { Services } from '../jobs/services.js'

/** The principal of a presented secret, or null: the same keys and hashing as the native API. */
export function authenticateSecret(services: Services, secret: string | undefined): Promise<Principal | null> {
  if (!secret) return Promise.resolve(null)
  return services.keys.authenticate(secret)
}

/**
 * The one directory a key is limited to: the "app", "community" or "organization" of vendors whose
 * keys belong to exactly one. Null when the key is unlimited or limited to several.
 */
export async function singleDirectoryOf(services: Services, p: Principal): Promise<Directory | null> {
  if (p.directories?.length !== 1) return null
  try {
    return await services.directories.resolve(p, p.directories[0])
  } catch {
    return null
  }
}
