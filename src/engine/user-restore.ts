import { errors, RollcallError } from '../core/errors.js'
import type { ChangeContext, ChangeRecord, Directory, Json, JsonObject, UserRecord } from '../core/types.js'
import { WRITABLE_FIELDS } from '../core/types.js'
import type { Store } from '../store/store.js'
import { normEmail } from '../core/normalize.js'

/** A deleted user, named by the key a client still knows it by. */
export type DeletedUserRef = { id: string } | { email: string } | { username: string }

const PAGE = 200
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const WRITABLE: ReadonlySet<string> = new Set(WRITABLE_FIELDS)

/**
 * The newest deletion record of the user `ref` names. A delete keeps the user's whole last state
 * in history (every field → [value, null]), so that record is all a restore needs; deletion
 * records are few next to all changes, and the search reads them newest first, a page at a time.
 */
async function lastDeletion(store: Pick<Store, 'listChanges'>, dir: Directory, ref: DeletedUserRef): Promise<ChangeRecord | null> {
  const [key, wanted] = Object.entries(ref)[0] as ['id' | 'email' | 'username', string]
  const norm = key === 'id' ? wanted : normEmail(wanted)
  let beforeSeq: number | undefined
  for (;;) {
    const page = await store.listChanges(dir.id, {
      action: 'delete',
      ...(key === 'id' ? { userId: wanted } : { field: key }),
      beforeSeq,
      limit: PAGE,
    })
    for (const rec of page.items) {
      if (key === 'id') return rec
      const old = rec.changes[key]?.[0]
      if (typeof old === 'string' && normEmail(old) === norm) return rec
    }
    if (page.nextSeq === null) return null
    beforeSeq = page.nextSeq
  }
}

/** The user as it stood before deletion, as a create row: same id, same values. */
export function rowFromDeletion(rec: ChangeRecord): Record<string, Json> {
  const row: Record<string, Json> = { id: rec.userId }
  const metadata: JsonObject = {}
  const fields: JsonObject = {}
  for (const [path, [before]] of Object.entries(rec.changes)) {
    if (WRITABLE.has(path)) row[path] = before
    else if (path.startsWith('metadata.')) metadata[path.slice(9)] = before
    else if (path.startsWith('fields.')) fields[path.slice(7)] = before
  }
  if (Object.keys(metadata).length) row.metadata = metadata
  if (Object.keys(fields).length) row.fields = fields
  return row
}

/**
 * Restores a deleted user by re-creating it from its deletion record, through the bulk engine
 * (so it is validated against today's schema and recorded in history as a `create` of the
 * caller's channel). The id and every value come back; `createdAt`, `loginCount` and `version`
 * are server-owned and start afresh. A user that exists is not restored (409).
 */
export async function restoreUser(
  deps: {
    store: Pick<Store, 'listChanges' | 'findUsers'>
    create: (dir: Directory, row: Record<string, Json>, context: ChangeContext) => Promise<UserRecord>
  },
  dir: Directory,
  ref: DeletedUserRef,
  context: ChangeContext,
): Promise<UserRecord> {
  const [key, value] = Object.entries(ref)[0] as [string, string]
  if (key === 'id' && !UUID_RE.test(value)) throw errors.userNotFound(value)
  const live = await deps.store.findUsers(dir.id, { [key]: [value] })
  if (live.length) throw new RollcallError('conflict', `User '${value}' exists; only a deleted user can be restored`)
  const rec = await lastDeletion(deps.store, dir, ref)
  if (!rec) throw errors.userNotFound(value)
  return deps.create(dir, rowFromDeletion(rec), context)
}
