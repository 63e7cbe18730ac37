import { expect, it } from 'vitest'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

describeEachEngine('concurrent writers', (engine) => {
  it('two bulk runs creating the same users at once: no duplicate, no lost row, no error', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const rows = Array.from({ length: 300 }, (_, i) => ({ email: `c${i}@x.io`, firstName: `F${i}` }))
    const reversed = [...rows].reverse().map((r) => ({ ...r, lastName: 'L' }))
    const [a, b] = await Promise.all([bulk(store, dir, rows, { batchSize: 50 }), bulk(store, dir, reversed, { batchSize: 50 })])
    expect(a.summary.failed + b.summary.failed).toBe(0)
    expect(a.summary.created + b.summary.created).toBe(300)
    expect(await store.countUsers(dir.id)).toBe(300)
    const all = await store.listUsers(dir.id, { limit: 1000 })
    expect(all.items.every((u) => u.lastName === 'L' || u.version === 1)).toBe(true)
    // Every write is in history exactly once: one create per user, plus the other run's updates.
    const changes = await store.listChanges(dir.id, { limit: 2000 })
    expect(changes.items.filter((c) => c.action === 'create')).toHaveLength(300)
    expect(changes.items.length).toBe(a.summary.created + a.summary.updated + b.summary.created + b.summary.updated)
  })

  it('concurrent single-field updates of one user all land, each on top of the last', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const [c] = (await bulk(store, dir, [{ email: 'one@x.io' }])).results
    await Promise.all(Array.from({ length: 10 }, (_, i) => bulk(store, dir, [{ email: 'one@x.io', metadata: { [`k${i}`]: i } }])))
    const u = await store.getUser(dir.id, c.userId as string)
    expect(Object.keys(u?.metadata ?? {}).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort())
    expect(u?.version).toBe(11)
  })
})
