import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Group } from '../../core/types.js'
import { groupFromRow } from '../codec.js'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import { UniqueViolation } from '../errors.js'

/** Groups of a directory and their members (users of the same directory only). */
export function groupsRepo(db: Kysely<DB>, d: StoreDialect) {
  const uniqueName = async (write: () => Promise<unknown>): Promise<void> => {
    try {
      await write()
    } catch (e) {
      if (d.isUniqueViolation(e)) throw new UniqueViolation('name')
      throw e
    }
  }

  const repo = {
    async create(directoryId: string, input: { kind: string; name: string; externalId: string | null }): Promise<Group> {
      const now = new Date().toISOString()
      const row = {
        id: randomUUID(),
        directory_id: directoryId,
        kind: input.kind,
        name: input.name,
        external_id: input.externalId,
        created_at: now,
        updated_at: now,
      }
      await uniqueName(() => db.insertInto('groups').values(row).execute())
      return groupFromRow(row)
    },

    async get(directoryId: string, id: string): Promise<Group | null> {
      const r = await db.selectFrom('groups').selectAll().where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return r ? groupFromRow(r) : null
    },

    async list(directoryId: string, q: { kind?: string; name?: string; externalId?: string; limit: number }): Promise<Group[]> {
      let query = db.selectFrom('groups').selectAll().where('directory_id', '=', directoryId)
      if (q.kind !== undefined) query = query.where('kind', '=', q.kind)
      if (q.name !== undefined) query = query.where('name', '=', q.name)
      if (q.externalId !== undefined) query = query.where('external_id', '=', q.externalId)
      const rows = await query.orderBy('created_at').orderBy('id').limit(q.limit).execute()
      return rows.map(groupFromRow)
    },

    async rename(directoryId: string, id: string, name: string, at: string): Promise<Group | null> {
      await uniqueName(() =>
        db.updateTable('groups').set({ name, updated_at: at }).where('directory_id', '=', directoryId).where('id', '=', id).execute(),
      )
      return repo.get(directoryId, id)
    },

    async delete(directoryId: string, id: string): Promise<boolean> {
      const r = await db.deleteFrom('groups').where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return Number(r.numDeletedRows) > 0
    },

    /** Returns the ids that were not members before; users of other directories are left out. */
    async addMembers(directoryId: string, groupId: string, userIds: string[]): Promise<string[]> {
      if (!(await repo.get(directoryId, groupId)) || userIds.length === 0) return []
      const valid = await db.selectFrom('users').select('id').where('directory_id', '=', directoryId).where('id', 'in', userIds).execute()
      if (valid.length === 0) return []
      const before = new Set(await repo.listMembers(directoryId, groupId))
      const added = valid.map((v) => v.id).filter((id) => !before.has(id))
      if (added.length)
        await db
          .insertInto('group_members')
          .values(added.map((user_id) => ({ group_id: groupId, user_id })))
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .execute()
      return added
    },

    async removeMembers(directoryId: string, groupId: string, userIds: string[]): Promise<number> {
      if (!(await repo.get(directoryId, groupId)) || userIds.length === 0) return 0
      const r = await db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', 'in', userIds).executeTakeFirst()
      return Number(r.numDeletedRows)
    },

    async listMembers(directoryId: string, groupId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('group_members')
        .innerJoin('groups', 'groups.id', 'group_members.group_id')
        .select('group_members.user_id')
        .where('groups.directory_id', '=', directoryId)
        .where('group_members.group_id', '=', groupId)
        .orderBy('group_members.user_id')
        .execute()
      return rows.map((r) => r.user_id)
    },

    async groupsOfUser(directoryId: string, userId: string): Promise<Group[]> {
      const rows = await db
        .selectFrom('groups')
        .innerJoin('group_members', 'group_members.group_id', 'groups.id')
        .selectAll('groups')
        .where('groups.directory_id', '=', directoryId)
        .where('group_members.user_id', '=', userId)
        .orderBy('groups.name')
        .execute()
      return rows.map(groupFromRow)
    },
  }
  return repo
}
