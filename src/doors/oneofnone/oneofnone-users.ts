import { isRollcallError, RollcallError } from '../../core/errors.js'
import type { Directory, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { type FilterColumn, uf, type UserFilterExpr } from '../../core/user-filter.js'
import { badRequest } from './oneofnone-errors.js'
import { PHONE_TEXT_KEY } from '../phone.js'
import { renderUsers } from './oneofnone-mapping.js'
import { DEFAULT_LIMIT, FILTER_PARAMS, type ListQuery, type UserResponse } from './oneofnone-schemas.js'

const iso = (s: string) => new Date(Date.parse(s)).toISOString()

/** The vendor's filters as the core's filter tree; its `min_*`/`max_*` bounds are both inclusive. */
function toFilter(q: ListQuery): UserFilterExpr {
  const parts: UserFilterExpr[] = []
  const col = (column: FilterColumn) => ({ column })
  if (q.email !== undefined) parts.push({ op: 'eq', field: col('email'), value: q.email })
  // A phone is in `phone` (native form) or, verbatim, in the custom field phoneText (../phone.ts).
  if (q.phone !== undefined)
    parts.push(
      uf.or(
        { op: 'eq', field: col('phone'), value: q.phone, caseExact: true },
        { op: 'eq', field: { custom: PHONE_TEXT_KEY, kind: 'text' }, value: q.phone, caseExact: true },
      ),
    )
  if (q.min_login_count !== undefined) parts.push({ op: 'ge', field: col('loginCount'), value: q.min_login_count })
  if (q.max_login_count !== undefined) parts.push({ op: 'le', field: col('loginCount'), value: q.max_login_count })
  if (q.min_created_at !== undefined) parts.push({ op: 'ge', field: col('createdAt'), value: iso(q.min_created_at) })
  if (q.max_created_at !== undefined) parts.push({ op: 'le', field: col('createdAt'), value: iso(q.max_created_at) })
  if (q.min_last_login_at !== undefined) parts.push({ op: 'ge', field: col('lastLoginAt'), value: iso(q.min_last_login_at) })
  if (q.max_last_login_at !== undefined) parts.push({ op: 'le', field: col('lastLoginAt'), value: iso(q.max_last_login_at) })
  return uf.and(...parts)
}

/**
 * `GET /v1/users`: offset pagination with the vendor's `pagination` block. `next`/`prev` are full
 * URLs that repeat the request's filters, so following them pages through the same result.
 * An `app_id` other than the key's app matches nothing: a key sees only its own app.
 */
export async function listUsers(services: Services, app: Directory, q: ListQuery, baseUrl: string) {
  const limit = q.limit ?? DEFAULT_LIMIT
  const offset = q.offset ?? 0
  const filter = q.app_id === undefined || q.app_id === app.number ? toFilter(q) : uf.const(false)
  const { items, total } = await services.users.search(app, { filter, offset, limit })
  const url = (at: number) => {
    const params = new URLSearchParams()
    for (const k of FILTER_PARAMS) if (q[k] !== undefined) params.set(k, String(q[k]))
    params.set('limit', String(limit))
    params.set('offset', String(at))
    return `${baseUrl}?${params.toString()}`
  }
  const data: UserResponse[] = await renderUsers(services, app, items)
  return {
    data,
    pagination: {
      next: offset + limit < total ? url(offset + limit) : null,
      prev: offset > 0 ? url(Math.max(0, offset - limit)) : null,
      limit,
      offset,
      total_count: total,
      total_pages: Math.ceil(total / limit),
      current_page: Math.floor(offset / limit) + 1,
    },
  }
}

/** Good enough to refuse what cannot be an email before looking it up (the core validates stored emails). */
const EMAIL_RE = /^[^\s@]+@[^\s@]+$/

const notFound = () => new RollcallError('user_not_found', 'User not found')

/** `GET /v1/users/{id}?type=ID|EMAIL`: the bare user, by UUID or (case-insensitive) email. */
export async function getUser(services: Services, app: Directory, id: string, type: 'ID' | 'EMAIL'): Promise<UserResponse> {
  let user: UserRecord | undefined
  if (type === 'EMAIL') {
    if (!EMAIL_RE.test(id)) throw badRequest('id must be a valid email address when type=EMAIL')
    user = (await services.users.list(app, { email: id, limit: 1 })).items[0]
  } else {
    try {
      user = await services.users.get(app, id)
    } catch (e) {
      if (isRollcallError(e) && e.code === 'user_not_found') throw notFound()
      throw e
    }
  }
  if (!user) throw notFound()
  return (await renderUsers(services, app, [user]))[0]
}
