import { Type } from 'typebox'
import type { Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'

const Timestamp = Type.String({ format: 'date-time' })

/** The filters of a users list, shared by `GET …/users` and `GET …/export`: exact keys, ranges, custom field values. */
export const UserFilterProperties = {
  email: Type.Optional(Type.String({ description: 'Exact match, case-insensitive' })),
  username: Type.Optional(Type.String({ description: 'Exact match, case-insensitive' })),
  externalId: Type.Optional(Type.String()),
  active: Type.Optional(Type.Boolean({ description: 'true: only active users; false: only deactivated ones' })),
  createdAfter: Type.Optional(Timestamp),
  createdBefore: Type.Optional(Timestamp),
  updatedAfter: Type.Optional(Timestamp),
  updatedBefore: Type.Optional(Timestamp),
}

/** `fields.<key>=<value>` and `metadata.<key>=<value>` query parameters: custom field and metadata equality. */
export const FieldFilterPatterns = {
  '^fields\\.[A-Za-z][A-Za-z0-9_-]{0,63}$': Type.String({ description: 'Custom field equality: fields.<key>=<value>' }),
  '^metadata\\.[^\\s]{1,200}$': Type.String({
    description: 'Metadata equality: metadata.<key>=<value> keeps users whose metadata key holds this text (exactly, case included)',
  }),
}

export type UserFilter = Omit<Parameters<Services['users']['list']>[1], 'afterSeq' | 'limit'>

/** A request's filters as the store takes them; custom field values are typed by the directory's definitions. */
export async function userFilterOf(s: Services, dir: Directory, query: Record<string, unknown>): Promise<UserFilter> {
  const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined)
  const rawFields: Record<string, string> = {}
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(query)) {
    if (k.startsWith('fields.') && typeof v === 'string') rawFields[k.slice(7)] = v
    if (k.startsWith('metadata.') && typeof v === 'string') metadata[k.slice(9)] = v
  }
  return {
    email: str('email'),
    username: str('username'),
    externalId: str('externalId'),
    active: typeof query.active === 'boolean' ? query.active : undefined,
    createdAfter: str('createdAfter'),
    createdBefore: str('createdBefore'),
    updatedAfter: str('updatedAfter'),
    updatedBefore: str('updatedBefore'),
    fields: await s.users.fieldFilters(dir, rawFields),
    ...(Object.keys(metadata).length ? { metadata } : {}),
  }
}
