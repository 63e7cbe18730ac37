import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { definitionOf } from '../src/core/fields.js'
import { blankUser } from '../src/core/user-patch.js'
import { UniqueViolation, WriteConflict } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

describeEachEngine('Store contract: directories and fields', (engine) => {
  it('createDirectory numbers directories uniquely; a taken externalId in the tenant is a UniqueViolation', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const a = await store.createDirectory(t.id, { name: 'A', externalId: 'ext-a' })
    expect(a).toEqual({
      id: expect.any(String),
      tenantId: t.id,
      number: expect.any(Number),
      externalId: 'ext-a',
      name: 'A',
      historyRetentionDays: null,
      createdAt: expect.any(String),
      updatedAt: a.createdAt,
    })
    const b = await store.createDirectory(t.id, { name: 'B', externalId: null })
    const c = await store.createDirectory(t.id, { name: 'C', externalId: null })
    expect(b.number).toBeGreaterThan(a.number)
    expect(c.number).toBeGreaterThan(b.number)
    await expect(store.createDirectory(t.id, { name: 'A2', externalId: 'ext-a' })).rejects.toBeInstanceOf(UniqueViolation)
    expect(await store.getDirectory(t.id, a.id.toUpperCase())).toEqual(a)
    expect(await store.getDirectory(t.id, 'no-such-ref')).toBeNull()
    expect(await store.getDirectoryByNumber(t.id, 2 ** 31 - 1)).toBeNull()
  })

  it('listDirectories orders by number, keeps to the tenant and to the ids asked for', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    const a = await store.createDirectory(t.id, { name: 'A', externalId: null })
    const theirs = await store.createDirectory(other.id, { name: 'X', externalId: null })
    const b = await store.createDirectory(t.id, { name: 'B', externalId: null })
    expect(await store.listDirectories(t.id, null)).toEqual([a, b])
    expect(await store.listDirectories(t.id, [b.id, theirs.id])).toEqual([b])
    expect(await store.listDirectories(other.id, [a.id])).toEqual([])
  })

  it('updateDirectory patches name and externalId within the tenant; a taken externalId is a UniqueViolation', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    const a = await store.createDirectory(t.id, { name: 'A', externalId: 'a' })
    await store.createDirectory(t.id, { name: 'B', externalId: 'b' })
    const at = '2030-01-01T00:00:00.000Z'
    expect(await store.updateDirectory(t.id, a.id, { name: 'A!' }, at)).toEqual({ ...a, name: 'A!', updatedAt: at })
    expect(await store.updateDirectory(t.id, a.id, { externalId: null }, at)).toEqual({ ...a, name: 'A!', externalId: null, updatedAt: at })
    await expect(store.updateDirectory(t.id, a.id, { externalId: 'b' }, at)).rejects.toBeInstanceOf(UniqueViolation)
    expect(await store.updateDirectory(other.id, a.id, { name: 'stolen' }, at)).toBeNull()
    expect((await store.getDirectory(t.id, a.id))?.name).toBe('A!')
    expect(await store.updateDirectory(t.id, randomUUID(), { name: 'x' }, at)).toBeNull()
  })

  it('deleteDirectory removes it with its users, fields and groups; busy while a job is active; not_found elsewhere', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'a@x.io' }])
    await store.putField(dir.id, definitionOf({ key: 'dept', type: 'string' }, null))
    await store.createGroup(dir.id, { kind: 'group', name: 'G', externalId: null })
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    expect(await store.deleteDirectory(other.id, dir.id)).toBe('not_found')
    const jobId = randomUUID()
    await store.jobs.create({
      id: jobId,
      tenantId: dir.tenantId,
      directoryId: dir.id,
      kind: 'import',
      state: 'queued',
      format: 'csv',
      options: {} as never,
      sourceJobId: null,
      keyId: null,
      requestId: null,
    })
    expect(await store.deleteDirectory(dir.tenantId, dir.id)).toBe('busy')
    expect(await store.countUsers(dir.id)).toBe(1)
    expect(await store.jobs.transition(dir.tenantId, jobId, ['queued'], 'cancelled', true)).toBe(true)
    expect(await store.deleteDirectory(dir.tenantId, dir.id)).toBe('deleted')
    expect(await store.getDirectory(dir.tenantId, dir.id)).toBeNull()
    expect(await store.countUsers(dir.id)).toBe(0)
    expect(await store.listFields(dir.id)).toEqual([])
    expect(await store.listGroups(dir.id, { limit: 10 })).toEqual([])
    expect(await store.jobs.get(dir.tenantId, jobId)).toBeNull()
    expect(await store.deleteDirectory(dir.tenantId, dir.id)).toBe('not_found')
  })

  it('putField stores every attribute, replaces by key; listFields orders by creation then key; deleteField reports', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const tier = {
      ...definitionOf({ key: 'tier', label: 'Tier', type: 'enum', required: true, unique: false, enumValues: ['a', 'b'] }, null),
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }
    const code = {
      ...definitionOf({ key: 'code', type: 'string', unique: true, maxLength: 8, pattern: '^[A-Z]+$' }, null),
      createdAt: '2026-01-02T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    }
    const age = {
      ...definitionOf({ key: 'age', type: 'number' }, null),
      createdAt: '2026-01-02T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    }
    await store.putField(dir.id, code)
    await store.putField(dir.id, tier)
    await store.putField(dir.id, age)
    expect(await store.listFields(dir.id)).toEqual([tier, age, code])
    expect(await store.listFields(other.id)).toEqual([])
    const relabelled = {
      ...tier,
      label: 'Level',
      required: false,
      updatedAt: '2026-02-01T00:00:00.000Z',
      createdAt: '2027-01-01T00:00:00.000Z',
    }
    await store.putField(dir.id, relabelled)
    // The creation time is kept: only the definition changes.
    expect((await store.listFields(dir.id))[0]).toEqual({ ...relabelled, createdAt: tier.createdAt })
    const fresh = definitionOf({ key: 'fresh', type: 'boolean' }, null)
    await store.putField(dir.id, fresh)
    expect((await store.listFields(dir.id)).find((f) => f.key === 'fresh')).toEqual({
      ...fresh,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    })
    expect(await store.deleteField(other.id, 'age')).toBe(false)
    expect(await store.deleteField(dir.id, 'age')).toBe(true)
    expect(await store.deleteField(dir.id, 'age')).toBe(false)
    expect((await store.listFields(dir.id)).map((f) => f.key)).toEqual(['tier', 'code', 'fresh'])
  })

  it('setUniqueFieldIndex refuses duplicates among the directory’s users only, then holds writers to it; dropping it frees them', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    await store.putField(dir.id, definitionOf({ key: 'code', type: 'string' }, null))
    await store.putField(other.id, definitionOf({ key: 'code', type: 'string' }, null))
    await bulk(store, dir, [
      { email: 'a@x.io', fields: { code: 'A' } },
      { email: 'b@x.io', fields: { code: 'A' } },
    ])
    await bulk(store, other, [
      { email: 'c@x.io', fields: { code: 'B' } },
      { email: 'd@x.io', fields: { code: 'B' } },
    ])
    await expect(store.setUniqueFieldIndex(dir.id, 'code', true)).rejects.toMatchObject({ name: 'UniqueViolation', field: 'code' })
    await bulk(store, dir, [{ email: 'b@x.io', fields: { code: 'B' } }], { mode: 'update', match: ['email'] })
    await store.setUniqueFieldIndex(dir.id, 'code', true)
    await store.setUniqueFieldIndex(dir.id, 'code', true)
    const insert = () =>
      store.transaction((tx) =>
        tx.writeBatch({
          directoryId: dir.id,
          inserts: [{ ...blankUser(randomUUID(), dir.id, new Date().toISOString()), fields: { code: 'A' }, version: 1 }],
          updates: [],
          changes: [],
        }),
      )
    await expect(insert()).rejects.toBeInstanceOf(WriteConflict)
    await store.setUniqueFieldIndex(dir.id, 'code', false)
    await store.setUniqueFieldIndex(dir.id, 'code', false)
    expect((await bulk(store, dir, [{ email: 'e@x.io', fields: { code: 'A' } }])).results[0].status).toBe('created')
    await expect(store.setUniqueFieldIndex(dir.id, "x'; DROP TABLE users; --", true)).rejects.toThrow()
  })
})
