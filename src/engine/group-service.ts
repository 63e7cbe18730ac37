import { errors, RollcallError } from '../core/errors.js'
import { hasControlChar } from '../core/input-guard.js'
import type { Directory, Group } from '../core/types.js'
import type { Store } from '../store/store.js'
import { UniqueViolation } from '../store/store.js'

/** Groups of one directory and their members (SCIM Groups, Velt documents and folders, One of None teams). */
export function createGroupService(store: Store) {
  async function get(dir: Directory, id: string): Promise<Group> {
    const g = await store.getGroup(dir.id, id)
    if (!g) throw new RollcallError('not_found', `No group '${id}' in this directory`)
    return g
  }
  const taken = (name: string) => new RollcallError('conflict', `A group named '${name}' already exists`)

  return {
    get,
    list: (dir: Directory, q: { kind?: string; name?: string; externalId?: string; limit: number }) => store.listGroups(dir.id, q),

    /** The groups a user belongs to, by name. */
    ofUser: (dir: Directory, userId: string) => store.groupsOfUser(dir.id, userId),

    async create(dir: Directory, input: { name: string; kind?: string; externalId?: string | null }): Promise<Group> {
      if (input.externalId && hasControlChar(input.externalId))
        throw errors.validation([
          {
            field: 'externalId',
            code: 'invalid_character',
            message: "'externalId' may not contain a control character (U+0000–U+001F, U+007F)",
          },
        ])
      try {
        return await store.createGroup(dir.id, { name: input.name, kind: input.kind ?? 'group', externalId: input.externalId ?? null })
      } catch (e) {
        if (e instanceof UniqueViolation) throw taken(input.name)
        throw e
      }
    },

    async rename(dir: Directory, id: string, name: string): Promise<Group> {
      await get(dir, id)
      try {
        return (await store.renameGroup(dir.id, id, name, new Date().toISOString())) as Group
      } catch (e) {
        if (e instanceof UniqueViolation) throw taken(name)
        throw e
      }
    },

    async remove(dir: Directory, id: string): Promise<void> {
      if (!(await store.deleteGroup(dir.id, id))) throw new RollcallError('not_found', `No group '${id}' in this directory`)
    },

    members: async (dir: Directory, id: string) => {
      await get(dir, id)
      return store.listMembers(dir.id, id)
    },

    /** Adds users; every id must be a user of this directory, or nothing is added. */
    async addMembers(dir: Directory, id: string, userIds: string[]): Promise<string[]> {
      await get(dir, id)
      const found = new Set((await store.findUsers(dir.id, { id: userIds })).map((u) => u.id))
      const missing = userIds.filter((u) => !found.has(u))
      if (missing.length)
        throw errors.validation(
          missing.map((u) => ({ field: 'userIds', code: 'user_not_found', message: `no user '${u}' in this directory` })),
        )
      return store.addMembers(dir.id, id, userIds)
    },

    async removeMember(dir: Directory, id: string, userId: string): Promise<void> {
      await get(dir, id)
      if ((await store.removeMembers(dir.id, id, [userId])) === 0)
        throw new RollcallError('not_found', `User '${userId}' is not a member of this group`)
    },

    /** Removes users from a group; ids that are not members are skipped (SCIM's remove is not an error twice). */
    async removeMembers(dir: Directory, id: string, userIds: string[]): Promise<number> {
      await get(dir, id)
      return userIds.length ? store.removeMembers(dir.id, id, userIds) : 0
    },
  }
}

export type GroupService = ReturnType<typeof createGroupService>
