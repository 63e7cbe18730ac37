import { own } from '../../core/merge.js'
import { createHash } from 'node:crypto'
import type { FieldError } from '../../core/errors.js'
import type { Directory, JsonObject, UserRecord } from '../../core/types.js'
import type { ItemResult, VeltUser, VeltUserOut } from './velt-schemas.js'

/**
 * Velt user properties Rollcall has no column for. They live in `metadata` under their Velt
 * names: they are presentation hints Velt's SDK owns (avatar colours, an initial, a plan label),
 * not directory attributes worth a typed custom field in every organization; metadata keeps them
 * exact (booleans stay booleans), merges per key on update, and records each key's history.
 */
export const META_KEYS = [
  'plan',
  'color',
  'textColor',
  'type',
  'initial',
  'groupId',
  'clientGroupId',
  'isReadOnly',
  'isAnonymous',
  'isGuest',
  'isAdmin',
] as const
const BOOLEAN_KEYS: ReadonlySet<string> = new Set(['isReadOnly', 'isAnonymous', 'isGuest', 'isAdmin'])

/** Velt `User` → a core row: `userId` is the externalId (the match key), `name` the displayName, `photoUrl` the avatarUrl. */
export function userRow(u: VeltUser): Record<string, unknown> {
  const row: Record<string, unknown> = { externalId: u.userId }
  if (u.name !== undefined) row.displayName = u.name
  if (u.email !== undefined) row.email = u.email
  if (u.photoUrl !== undefined) row.avatarUrl = u.photoUrl
  const metadata: JsonObject = {}
  for (const k of META_KEYS) if (u[k] !== undefined) metadata[k] = u[k]
  if (Object.keys(metadata).length) row.metadata = metadata
  return row
}

/** A core user as Velt's `User`, in the order of Velt's examples; absent values are left out, as Velt does. */
export function toVeltUser(u: UserRecord): VeltUserOut {
  const out: Record<string, unknown> = {}
  if (u.email !== null) out.email = u.email
  if (u.displayName !== null) out.name = u.displayName
  // A user made elsewhere without an externalId is shown under its Rollcall id.
  out.userId = u.externalId ?? u.id
  if (u.avatarUrl !== null) out.photoUrl = u.avatarUrl
  for (const k of META_KEYS) {
    const v = u.metadata[k]
    if (BOOLEAN_KEYS.has(k) ? typeof v === 'boolean' : typeof v === 'string') out[k] = v
  }
  return out as VeltUserOut
}

const md5 = (...parts: string[]) => createHash('md5').update(parts.join('\u0000')).digest('hex')

/**
 * The 32-hex `id` Velt returns for a user: a digest of the organization's directory and the
 * caller's `userId`, so the same user always gets the same id, whether it exists yet or not.
 */
export const userResultId = (dir: Directory, userId: string) => md5(dir.id, 'user', userId)
export const orgResultId = (tenantId: string, organizationId: string) => md5(tenantId, 'organization', organizationId)
export const documentResultId = (dir: Directory, documentId: string) => md5(dir.id, 'document', documentId)

const VELT_NAMES: Record<string, string> = { externalId: 'userId', displayName: 'name', avatarUrl: 'photoUrl' }

/** A row's errors in Velt's field names: `name: must be at most 255 characters`. */
export function describeErrors(errs: FieldError[]): string {
  return errs
    .map((e) => {
      const field = e.field.startsWith('metadata.') ? e.field.slice(9) : (own(VELT_NAMES, e.field) ?? e.field)
      return field ? `${field}: ${e.message}` : e.message
    })
    .join('; ')
}

export const ok = <T>(message: string, data: T) => ({ result: { status: 'success', message, data } })

/** Per-item results keyed by the caller's ids; a repeated id keeps its first place and its last result. */
export type ItemMap = Record<string, ItemResult>
