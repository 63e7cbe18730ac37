import type { FieldError } from '../../core/errors.js'
import type { Directory, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { PHONE_TEXT_KEY, phoneRead } from '../phone.js'
import type { UserResponse } from './oneofnone-schemas.js'

/** The kind of group One of None calls a team (DESIGN.md, "Concepts"). */
export const TEAM_KIND = 'team'

/**
 * A Rollcall user in One of None's `User` shape. Only `avatar.url` is populated, as the vendor
 * documents; `metadata` is always an object (Rollcall has no null metadata).
 */
export function toOneOfNoneUser(u: UserRecord, app: Directory, teamId: string | null): UserResponse {
  return {
    id: u.id,
    email: u.email,
    // The validated phone, else the free-form one the door kept verbatim (../phone.ts).
    phone: phoneRead(u),
    metadata: u.metadata,
    avatar: { url: u.avatarUrl },
    app_id: app.number,
    team_id: teamId,
    last_login_at: u.lastLoginAt,
    login_count: u.loginCount,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  }
}

/**
 * `team_id` of each user: the first (by name) of its groups of kind `team`. One query per user
 * (pages are at most 100 users, batches at most the native sync limit), and none at all in an app
 * without teams.
 */
export async function teamsOf(services: Services, app: Directory, users: UserRecord[]): Promise<Map<string, string | null>> {
  const ids = [...new Set(users.map((u) => u.id))]
  if (ids.length === 0 || (await services.groups.list(app, { kind: TEAM_KIND, limit: 1 })).length === 0)
    return new Map(ids.map((id) => [id, null]))
  const teams = await Promise.all(
    ids.map(async (id) => (await services.groups.ofUser(app, id)).find((g) => g.kind === TEAM_KIND)?.id ?? null),
  )
  return new Map(ids.map((id, i) => [id, teams[i]]))
}

export async function renderUsers(services: Services, app: Directory, users: UserRecord[]): Promise<UserResponse[]> {
  const teams = await teamsOf(services, app, users)
  return users.map((u) => toOneOfNoneUser(u, app, teams.get(u.id) ?? null))
}

/** Where the vendor's `phone` lives: a rule on the free-form one is about `phone` too. */
const vendorField = (field: string) => (field === `fields.${PHONE_TEXT_KEY}` ? 'phone' : field)

/** A row's errors in one line: `users[2]: firstName: 'firstName' is required`. */
export const describeRowErrors = (where: string, errs: FieldError[]): string =>
  errs.map((e) => `${where}: ${e.field ? `${vendorField(e.field)}: ` : ''}${e.message}`).join('; ')
