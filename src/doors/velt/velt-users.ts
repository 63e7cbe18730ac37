import { isRollcallError } from '../../core/errors.js'
import type { Principal } from '../../core/keys.js'
import type { ChangeContext, Directory, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import type { RowResult } from '../../engine/types.js'
import { decodeCursor, encodeCursor } from '../../http/cursor.js'
import { tooManyUsers } from '../batch-limit.js'
import { findMany } from '../find-many.js'
import { invalidArgument } from './velt-errors.js'
import { describeErrors, type ItemMap, ok, toVeltUser, userResultId, userRow } from './velt-mapping.js'
import { ensureGroup, ensureOrganization, requireGroup, requireOrganization, scopeOf } from './velt-scope.js'
import {
  MAX_PAGE,
  type RemovedResult,
  type UsersDeleteBody,
  type UsersGetBody,
  type UsersWriteBody,
  type VeltUser,
} from './velt-schemas.js'

type WriteData = UsersWriteBody['data']

/** Caller ids as map keys: a null-prototype object, so a userId like `__proto__` is just a key. */
const itemMap = (): ItemMap => Object.create(null) as ItemMap

/**
 * Users per add/update/delete request: up to the native sync limit (`ROLLCALL_BULK_MAX_ROWS`;
 * Velt documents none), checked before anything is looked up or created.
 */
function checkCount(organizationId: string, got: number, maxRows: number, what: string): void {
  if (got > maxRows) throw invalidArgument(`${tooManyUsers({ max: maxRows, got, directory: organizationId, what })}.`)
}

/** The User model repeats `organizationId`; it may only name the organization of the request. */
function checkUserOrganizations(data: WriteData): void {
  data.users.forEach((u, i) => {
    if (u.organizationId !== undefined && u.organizationId !== data.organizationId)
      throw invalidArgument(`users[${i}].organizationId '${u.organizationId}' differs from data.organizationId '${data.organizationId}'.`)
  })
}

/** One engine row's outcome in Velt's words. */
function itemOf(dir: Directory, userId: string, r: RowResult, success: string) {
  const id = userResultId(dir, userId)
  if (r.status !== 'failed') return { success: true, id, message: success }
  if (r.errors.some((e) => e.code === 'user_not_found')) return { success: false, id, message: 'User does not exist.' }
  return { success: false, id, message: describeErrors(r.errors) }
}

/**
 * `/v1/users/update`: updates users that exist at the requested level (organization, or one of
 * its documents or folders) by `userId`; any other user is `User does not exist.` and nothing is
 * created. Each user stands alone (Velt v1 reports per user with 200).
 */
export async function updateUsers(s: Services, p: Principal, context: ChangeContext, data: WriteData, maxRows: number) {
  checkCount(data.organizationId, data.users.length, maxRows, 'data.users')
  const scope = scopeOf(data)
  checkUserOrganizations(data)
  const dir = await requireOrganization(s, p, data.organizationId)
  const group = scope ? await requireGroup(s, dir, scope) : null
  const existing = await findMany(
    s,
    dir,
    'externalId',
    data.users.map((u) => u.userId),
  )
  const members = group ? new Set(await s.groups.members(dir, group.id)) : null
  const present = new Set(existing.filter((u) => !members || members.has(u.id)).map((u) => u.externalId as string))

  const out = itemMap()
  const rows: VeltUser[] = []
  for (const u of data.users) {
    out[u.userId] ??= { success: false, id: userResultId(dir, u.userId), message: 'User does not exist.' }
    if (present.has(u.userId)) rows.push(u)
  }
  if (rows.length) {
    const result = await s.users.bulk(
      dir,
      rows.map((u) => ({ data: userRow(u) })),
      { mode: 'update', match: ['externalId'] },
      context,
    )
    for (const r of result.results) out[rows[r.index].userId] = itemOf(dir, rows[r.index].userId, r, 'User updated.')
  }
  return ok('User(s) processed successfully.', out)
}

/**
 * `/v1/users/add`: creates or updates users by `userId` in the organization, which is created
 * when missing; with `documentId`/`folderId` the users also join that document or folder
 * (created when missing).
 */
export async function addUsers(s: Services, p: Principal, context: ChangeContext, data: WriteData, maxRows: number) {
  checkCount(data.organizationId, data.users.length, maxRows, 'data.users')
  const scope = scopeOf(data)
  checkUserOrganizations(data)
  const { dir } = await ensureOrganization(s, p, data.organizationId)
  const group = scope ? (await ensureGroup(s, dir, scope)).group : null
  const out = itemMap()
  if (data.users.length === 0) return ok('User(s) processed successfully.', out)
  for (const u of data.users) out[u.userId] ??= { success: false, id: userResultId(dir, u.userId), message: '' }
  const result = await s.users.bulk(
    dir,
    data.users.map((u) => ({ data: userRow(u) })),
    { mode: 'upsert', match: ['externalId'] },
    context,
  )
  for (const r of result.results) out[data.users[r.index].userId] = itemOf(dir, data.users[r.index].userId, r, 'User added.')
  if (group) {
    const ids = [...new Set(result.results.filter((r) => r.status !== 'failed').map((r) => r.userId as string))]
    if (ids.length) await s.groups.addMembers(dir, group.id, ids)
  }
  return ok('User(s) processed successfully.', out)
}

/** Users in the order the caller named them, each once. */
function inOrder(users: UserRecord[], keys: string[], keyOf: (u: UserRecord) => string | null): UserRecord[] {
  const by = new Map(users.map((u) => [keyOf(u), u]))
  return [...new Set(keys)].flatMap((k) => by.get(k) ?? [])
}

/**
 * `/v1/users/get`: the users of the organization, or of one document, optionally only the given
 * `userIds`. Answers hold at most `pageSize` users (default and most 1,000); a longer answer
 * ends with `nextPageToken`, which `pageToken` continues from (Velt's v2 paging, here on v1).
 */
export async function getUsers(s: Services, p: Principal, data: UsersGetBody['data']) {
  if (data.organizationUserGroupIds?.length)
    throw invalidArgument('organizationUserGroupIds is not supported: Rollcall keeps no organization user groups.')
  const scope = scopeOf(data)
  const dir = await requireOrganization(s, p, data.organizationId)
  const limit = data.pageSize ?? MAX_PAGE
  let users: UserRecord[]
  let next: string | null = null
  if (scope) {
    const group = await requireGroup(s, dir, scope)
    const memberIds = await s.groups.members(dir, group.id)
    if (data.userIds) {
      const members = new Set(memberIds)
      users = inOrder(
        (await s.users.find(dir, { externalId: data.userIds })).filter((u) => members.has(u.id)),
        data.userIds,
        (u) => u.externalId,
      )
    } else {
      const offset = decodeCursor(data.pageToken) ?? 0
      const pageIds = memberIds.slice(offset, offset + limit)
      users = pageIds.length ? inOrder(await s.users.find(dir, { id: pageIds }), pageIds, (u) => u.id) : []
      if (offset + limit < memberIds.length) next = encodeCursor(offset + limit)
    }
  } else if (data.userIds) {
    users = inOrder(await s.users.find(dir, { externalId: data.userIds }), data.userIds, (u) => u.externalId)
  } else {
    const page = await s.users.list(dir, { limit, afterSeq: decodeCursor(data.pageToken) })
    users = page.items
    next = encodeCursor(page.nextSeq)
  }
  const result = ok('User(s) retrieved successfully.', users.map(toVeltUser))
  return next ? { result: { ...result.result, nextPageToken: next } } : result
}

/**
 * `/v1/users/delete`: at the organization level a user is deleted (its history stays); at a
 * document or folder it only leaves that group. A user not at that level is `User does not exist.`
 */
export async function deleteUsers(s: Services, p: Principal, context: ChangeContext, data: UsersDeleteBody['data'], maxRows: number) {
  checkCount(data.organizationId, data.userIds.length, maxRows, 'data.userIds')
  const scope = scopeOf(data)
  const dir = await requireOrganization(s, p, data.organizationId)
  const group = scope ? await requireGroup(s, dir, scope) : null
  const ids = [...new Set(data.userIds)]
  const byId = new Map((await findMany(s, dir, 'externalId', ids)).map((u) => [u.externalId as string, u]))
  const members = group ? new Set(await s.groups.members(dir, group.id)) : null
  const out = Object.create(null) as Record<string, RemovedResult>
  for (const userId of ids) {
    const user = byId.get(userId)
    let removed = false
    if (user && (!members || members.has(user.id))) {
      try {
        if (group) await s.groups.removeMember(dir, group.id, user.id)
        else await s.users.remove(dir, user.id, context)
        removed = true
      } catch (e) {
        // Removed by a concurrent request meanwhile: from here it does not exist.
        if (!(isRollcallError(e) && (e.code === 'user_not_found' || e.code === 'not_found'))) throw e
      }
    }
    out[userId] = removed ? { success: true, message: 'User removed.' } : { success: false, message: 'User does not exist.' }
  }
  return ok('User(s) deleted successfully.', out)
}
