import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { UniqueViolation } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

describeEachEngine('Store contract: groups and members', (engine) => {
  it('createGroup returns the group as stored; names are unique per directory and kind', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const g = await store.createGroup(dir.id, { kind: 'team', name: 'Red', externalId: 'r1' })
    expect(g).toEqual({
      id: expect.any(String),
      directoryId: dir.id,
      kind: 'team',
      name: 'Red',
      externalId: 'r1',
      createdAt: expect.any(String),
      updatedAt: g.createdAt,
    })
    expect(await store.getGroup(dir.id, g.id)).toEqual(g)
    expect(await store.getGroup(other.id, g.id)).toBeNull()
    expect(await store.getGroup(dir.id, randomUUID())).toBeNull()
    await expect(store.createGroup(dir.id, { kind: 'team', name: 'Red', externalId: null })).rejects.toBeInstanceOf(UniqueViolation)
    await expect(store.createGroup(dir.id, { kind: 'group', name: 'Red', externalId: null })).resolves.toMatchObject({ kind: 'group' })
    await expect(store.createGroup(other.id, { kind: 'team', name: 'Red', externalId: null })).resolves.toMatchObject({
      directoryId: other.id,
    })
  })

  it('listGroups orders by creation, filters by kind, name and externalId, and stops at the limit', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const a = await store.createGroup(dir.id, { kind: 'team', name: 'A', externalId: 'x' })
    await new Promise((r) => setTimeout(r, 5))
    const b = await store.createGroup(dir.id, { kind: 'group', name: 'B', externalId: null })
    await new Promise((r) => setTimeout(r, 5))
    const c = await store.createGroup(dir.id, { kind: 'team', name: 'C', externalId: null })
    await store.createGroup((await freshDirectory(store)).id, { kind: 'team', name: 'A', externalId: 'x' })
    expect(await store.listGroups(dir.id, { limit: 10 })).toEqual([a, b, c])
    expect(await store.listGroups(dir.id, { limit: 2 })).toEqual([a, b])
    expect(await store.listGroups(dir.id, { kind: 'team', limit: 10 })).toEqual([a, c])
    expect(await store.listGroups(dir.id, { name: 'B', limit: 10 })).toEqual([b])
    expect(await store.listGroups(dir.id, { externalId: 'x', limit: 10 })).toEqual([a])
    expect(await store.listGroups(dir.id, { kind: 'team', name: 'B', limit: 10 })).toEqual([])
  })

  it('renameGroup renames within the directory; a taken name is a UniqueViolation; deleteGroup reports', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const g = await store.createGroup(dir.id, { kind: 'group', name: 'Old', externalId: null })
    await store.createGroup(dir.id, { kind: 'group', name: 'Taken', externalId: null })
    const at = '2030-01-01T00:00:00.000Z'
    expect(await store.renameGroup(dir.id, g.id, 'New', at)).toEqual({ ...g, name: 'New', updatedAt: at })
    await expect(store.renameGroup(dir.id, g.id, 'Taken', at)).rejects.toMatchObject({ name: 'UniqueViolation', field: 'name' })
    expect(await store.renameGroup(other.id, g.id, 'Stolen', at)).toBeNull()
    expect((await store.getGroup(dir.id, g.id))?.name).toBe('New')
    expect(await store.deleteGroup(other.id, g.id)).toBe(false)
    expect(await store.deleteGroup(dir.id, g.id)).toBe(true)
    expect(await store.deleteGroup(dir.id, g.id)).toBe(false)
  })

  it('members: added once, listed in id order, removed by count; nothing happens through another directory or a missing group', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const ids = (await bulk(store, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }, { email: 'c@x.io' }])).results.map(
      (r) => r.userId as string,
    )
    const g = await store.createGroup(dir.id, { kind: 'group', name: 'G', externalId: null })
    const h = await store.createGroup(dir.id, { kind: 'group', name: 'A-first', externalId: null })
    expect(await store.addMembers(dir.id, g.id, [])).toEqual([])
    expect(await store.addMembers(dir.id, randomUUID(), ids)).toEqual([])
    expect(await store.addMembers(other.id, g.id, ids)).toEqual([])
    expect((await store.addMembers(dir.id, g.id, [ids[2], ids[0], randomUUID()])).sort()).toEqual([ids[0], ids[2]].sort())
    expect(await store.addMembers(dir.id, g.id, [ids[0], ids[1]])).toEqual([ids[1]])
    expect(await store.listMembers(dir.id, g.id)).toEqual([...ids].sort())
    await store.addMembers(dir.id, h.id, [ids[0]])
    expect((await store.groupsOfUser(dir.id, ids[0])).map((x) => x.name)).toEqual(['A-first', 'G'])
    expect(await store.groupsOfUser(other.id, ids[0])).toEqual([])
    expect(await store.groupsOfUser(dir.id, randomUUID())).toEqual([])
    expect(await store.removeMembers(other.id, g.id, ids)).toBe(0)
    expect(await store.removeMembers(dir.id, randomUUID(), ids)).toBe(0)
    expect(await store.removeMembers(dir.id, g.id, [])).toBe(0)
    expect(await store.removeMembers(dir.id, g.id, [ids[0], ids[1], randomUUID()])).toBe(2)
    expect(await store.listMembers(dir.id, g.id)).toEqual([ids[2]])
    expect(await store.deleteGroup(dir.id, h.id)).toBe(true)
    expect((await store.groupsOfUser(dir.id, ids[0])).map((x) => x.name)).toEqual([])
  })
})
