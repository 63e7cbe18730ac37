import type { Directory, UserRecord } from '../core/types.js'
import type { Services } from '../jobs/services.js'

/** Values per lookup query: far below PostgreSQL's 65,535 bind parameters, whatever the batch limit is set to. */
const CHUNK = 1000

/**
 * The users holding any of `values` under one key, for a door's whole batch (which may be as
 * large as ROLLCALL_BULK_MAX_ROWS allows): one query per 1,000 distinct values.
 */
export async function findMany(
  services: Services,
  dir: Directory,
  key: 'email' | 'externalId',
  values: readonly string[],
): Promise<UserRecord[]> {
  const distinct = [...new Set(values)]
  const byId = new Map<string, UserRecord>()
  for (let i = 0; i < distinct.length; i += CHUNK)
    for (const u of await services.users.find(dir, { [key]: distinct.slice(i, i + CHUNK) })) byId.set(u.id, u)
  return [...byId.values()]
}
