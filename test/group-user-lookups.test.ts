import { expect, it } from 'vitest'
import { createServices } from '../src/jobs/services.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

/** Service reads the vendor doors rely on: groups by externalId, a user's groups, users by their keys. */
describeEachEngine('group and user lookups', (engine) => {
  it('lists groups by kind and externalId; a user’s groups; users found by externalId, email or id in one call', async () => {
    const store = engine.store()
    const s = createServices(store, { batchSize: 100, maxImportBytes: 1024 ** 3 })
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const doc = await s.groups.create(dir, { name: 'Spec', kind: 'document', externalId: 'doc-1' })
    await s.groups.create(dir, { name: 'Spec', kind: 'folder', externalId: 'doc-1' })
    await s.groups.create(other, { name: 'Spec', kind: 'document', externalId: 'doc-1' })
    expect(await s.groups.list(dir, { kind: 'document', externalId: 'doc-1', limit: 10 })).toEqual([doc])
    expect(await s.groups.list(dir, { kind: 'document', externalId: 'doc-2', limit: 10 })).toEqual([])

    const r = await bulk(store, dir, [
      { email: 'a@x.io', externalId: 'A' },
      { email: 'b@x.io', externalId: 'B' },
    ])
    const [a, b] = r.results.map((x) => x.userId as string)
    await bulk(store, other, [{ email: 'a@x.io', externalId: 'A' }])
    await s.groups.addMembers(dir, doc.id, [a])
    expect((await s.groups.ofUser(dir, a)).map((g) => g.id)).toEqual([doc.id])
    expect(await s.groups.ofUser(dir, b)).toEqual([])

    const found = await s.users.find(dir, { externalId: ['A', 'Z'], email: ['B@X.IO'] })
    expect(found.map((u) => u.id).sort()).toEqual([a, b].sort())
    expect((await s.users.find(dir, { id: [b] })).map((u) => u.email)).toEqual(['b@x.io'])
    expect(await s.users.find(dir, {})).toEqual([])
  })
})
