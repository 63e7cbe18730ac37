import { RollcallError } from '../../core/errors.js'
import type { ChangeContext, Directory, JsonObject, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { tooManyUsers } from '../batch-limit.js'
import { findMany } from '../find-many.js'
import { PHONE_TEXT_FIELD, PHONE_TEXT_KEY, phoneWrite } from '../phone.js'
import { parseUsersCsv } from './oneofnone-csv.js'
import { badRequest } from './oneofnone-errors.js'
import { describeRowErrors, renderUsers } from './oneofnone-mapping.js'
import type { BatchUpdateBody, UserResponse } from './oneofnone-schemas.js'

/** The vendor's success message (doors.md §1(c), S2). */
export const BATCH_MESSAGE = 'Users updated successfully'

/** Problems listed in one 400 message; the rest are counted. */
const MAX_LISTED = 20
/** Re-runs when a matched user disappears between the lookup and the write. */
const MAX_ATTEMPTS = 3

interface Item {
  where: string
  email: string
  phone?: string
  metadata?: JsonObject
}

function fail(problems: string[]): never {
  const listed = problems.slice(0, MAX_LISTED).join('; ')
  throw badRequest(problems.length > MAX_LISTED ? `${listed}; and ${problems.length - MAX_LISTED} more` : listed)
}

/** An item as an engine row: `phone` is free-form here, so it is split into `phone` and `fields.phoneText` (../phone.ts). */
function rowData(email: string | null, item: Item): Record<string, unknown> {
  const data: Record<string, unknown> = { email }
  if (item.phone !== undefined) {
    const { phone, phoneText } = phoneWrite(item.phone)
    data.phone = phone
    data.fields = { [PHONE_TEXT_KEY]: phoneText }
  }
  if (item.metadata !== undefined) data.metadata = item.metadata
  return data
}

/**
 * `POST /v1/users/batch-update`: users from `users[]` and the `csv` string are matched by email
 * (case-insensitively) in the key's app and updated; unknown emails are skipped, never created
 * (doors.md §1(e) [A]). The request is all or nothing: any invalid row answers 400 and writes
 * nothing, because the vendor's response has no per-row errors to report a partial result in.
 * What the vendor accepts (any `phone` string, any metadata object) never fails a row; what is
 * left to fail one is a directory rule the app added (a required field, a stricter custom field).
 * At most `maxRows` users per request (the native sync limit).
 */
export async function batchUpdate(services: Services, app: Directory, body: BatchUpdateBody, context: ChangeContext, maxRows: number) {
  if (body.users === undefined && body.csv === undefined) throw badRequest("'users' is required (or send the rows as 'csv')")
  const items: Item[] = (body.users ?? []).map((u, i) => {
    const item: Item = { where: `users[${i}]`, email: u.email }
    if (u.phone !== undefined) item.phone = u.phone
    if (u.metadata !== undefined) item.metadata = u.metadata as JsonObject
    return item
  })
  if (body.csv !== undefined && body.csv.trim() !== '') {
    const parsed = parseUsersCsv(body.csv)
    if (parsed.problems.length) fail(parsed.problems)
    items.push(...parsed.users)
  }
  if (items.length > maxRows)
    throw badRequest(tooManyUsers({ max: maxRows, got: items.length, directory: app.id, what: 'users[] and csv rows together' }))

  const found = await findMany(
    services,
    app,
    'email',
    items.map((i) => i.email),
  )
  const byEmail = new Map(found.map((u) => [(u.email as string).toLowerCase(), u]))
  // The stored spelling of the email is the match key, so matching never rewrites its case.
  let pending = items.filter((i) => byEmail.has(i.email.toLowerCase()))
  const needsFields = pending.some((i) => i.phone !== undefined) ? [PHONE_TEXT_FIELD] : undefined

  for (let attempt = 1; ; attempt++) {
    if (pending.length === 0) return { message: BATCH_MESSAGE, count: 0, users: [] as UserResponse[] }
    const rows = pending.map((item) => ({ data: rowData((byEmail.get(item.email.toLowerCase()) as UserRecord).email, item) }))
    const result = await services.users.bulk(
      app,
      rows,
      { mode: 'update', match: ['email'], atomic: true, returnUsers: true, needsFields },
      context,
    )
    if (!result.rolledBack) {
      const users = latestByUser(result.results.map((r) => r.user as UserRecord))
      const rendered = await renderUsers(services, app, users)
      return { message: BATCH_MESSAGE, count: rendered.length, users: rendered }
    }
    const failed = result.results.filter((r) => r.status === 'failed' && !r.errors.some((e) => e.code === 'rolled_back'))
    const vanished = new Set(failed.filter((r) => r.errors.every((e) => e.code === 'user_not_found')).map((r) => r.index))
    const invalid = failed.filter((r) => !vanished.has(r.index))
    if (invalid.length) fail(invalid.map((r) => describeRowErrors(pending[r.index].where, r.errors)))
    if (attempt >= MAX_ATTEMPTS) throw new RollcallError('conflict', 'Users of this app kept being deleted during the request; retry it')
    // Only users deleted since the lookup failed: they are unknown emails now, skipped like any other.
    pending = pending.filter((_, i) => !vanished.has(i))
  }
}

/** Each user once, where it first appears, in its state after its last row. */
function latestByUser(users: UserRecord[]): UserRecord[] {
  const latest = new Map<string, UserRecord>()
  for (const u of users) latest.set(u.id, u)
  return [...new Set(users.map((u) => u.id))].map((id) => latest.get(id) as UserRecord)
}
