import type { Kysely } from 'kysely'
import { normEmail } from '../../core/normalize.js'
import type { UserRecord } from '../../core/types.js'
import type { UserSearch, UserSearchResult } from '../../core/user-filter.js'
import { int, userFromRow } from '../codec.js'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import type { Page, UserListQuery } from '../store.js'
import { compileUserFilter, searchUsers } from '../user-filter.js'

/** Users of a directory: reads. Writes go through the engine's writeBatch (the bulk hot path). */
export function usersRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec
  return {
    async get(directoryId: string, id: string): Promise<UserRecord | null> {
      const r = await db.selectFrom('users').selectAll().where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return r ? userFromRow(r, c) : null
    },

    /** Which of `ids` belong to users of other directories: user ids are unique across the service. */
    async idsTakenElsewhere(directoryId: string, ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return []
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('id', 'in', [...ids])
        .where('directory_id', '<>', directoryId)
        .execute()
      return rows.map((r) => r.id)
    },

    async list(directoryId: string, q: UserListQuery): Promise<Page<UserRecord>> {
      let query = db.selectFrom('users').selectAll().where('directory_id', '=', directoryId)
      if (q.email !== undefined) query = query.where('email_norm', '=', normEmail(q.email))
      if (q.username !== undefined) query = query.where('username_norm', '=', normEmail(q.username))
      if (q.externalId !== undefined) query = query.where('external_id', '=', q.externalId)
      if (q.active !== undefined) query = query.where('active', '=', c.writeBool(q.active))
      if (q.createdAfter) query = query.where('created_at', '>=', q.createdAfter)
      if (q.createdBefore) query = query.where('created_at', '<', q.createdBefore)
      if (q.updatedAfter) query = query.where('updated_at', '>=', q.updatedAfter)
      if (q.updatedBefore) query = query.where('updated_at', '<', q.updatedBefore)
      for (const [k, v] of Object.entries(q.fields ?? {})) query = query.where(d.customFieldEquals(k, v))
      for (const [k, v] of Object.entries(q.metadata ?? {}))
        query = query.where(compileUserFilter({ op: 'eq', field: { metadata: k, kind: 'text' }, value: v, caseExact: true }, d.userFilter))
      if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq)
      const rows = await query
        .orderBy('seq')
        .limit(q.limit + 1)
        .execute()
      const more = rows.length > q.limit
      const page = more ? rows.slice(0, q.limit) : rows
      return { items: page.map((r) => userFromRow(r, c)), nextSeq: more ? int(page[page.length - 1].seq) : null }
    },

    async count(directoryId: string): Promise<number> {
      const r = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('directory_id', '=', directoryId)
        .executeTakeFirstOrThrow()
      return Number(r.n)
    },

    search(directoryId: string, q: UserSearch): Promise<UserSearchResult> {
      return searchUsers(db, c, d.userFilter, directoryId, q)
    },
  }
}
