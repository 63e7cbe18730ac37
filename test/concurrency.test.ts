import { expect, it } from 'vitest'
import type { PostgresStore } from '../src/store/postgres/postgres-store.js'
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

/**
 * PostgreSQL runs transactions at once, so a batch reads its users without locking them and
 * lets its writes check their versions (bulk-engine.ts, planIn). SQLite's transaction holds the
 * whole database: nothing can change between a batch's read and its write there.
 */
describeEachEngine('a batch that reads its users unlocked', (engine) => {
  /** Holds `userId`'s row lock in a transaction of its own until `release` commits `then` (SQL run first, or nothing). */
  async function lockUser(userId: string) {
    const client = await (engine.store() as PostgresStore).pool.connect()
    await client.query('BEGIN')
    await client.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId])
    return {
      release: async (then?: string) => {
        if (then) await client.query(then, [userId])
        await client.query('COMMIT')
        client.release()
      },
    }
  }
  const settled = (p: Promise<unknown>, ms: number) =>
    Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

  for (const [how, opts] of [
    ['two batches in flight', {}],
    ['one batch at a time (maxErrors)', { maxErrors: 10 }],
  ] as const)
    it.skipIf(engine.name !== 'postgres')(
      `${how}: rows that change nothing do not wait for a user's lock; a row that changes it waits, and lands on top of what the lock holder wrote`,
      async () => {
        const store = engine.store()
        const dir = await freshDirectory(store)
        const rows = Array.from({ length: 20 }, (_, i) => ({ email: `u${i}@x.io`, firstName: `F${i}` }))
        const [held] = (await bulk(store, dir, rows, { batchSize: 5, ...opts })).results
        const id = held.userId as string
        const lock = await lockUser(id)
        try {
          const same = bulk(store, dir, rows, { batchSize: 5, ...opts })
          expect(await settled(same, 5000)).toBe(true)
          expect((await same).summary).toMatchObject({ unchanged: 20, updated: 0, failed: 0 })
          // Changes its first name: the write waits for the lock; the lock holder then commits a new
          // last name (and version), so the first attempt's write finds a version it did not read.
          const changing = bulk(store, dir, [{ email: 'u0@x.io', firstName: 'Changed' }, ...rows.slice(1)], { batchSize: 5, ...opts })
          expect(await settled(changing, 300)).toBe(false)
          await lock.release("UPDATE users SET last_name = 'Locker', version = version + 1 WHERE id = $1")
          const r = await changing
          expect(r.summary).toMatchObject({ updated: 1, unchanged: 19, failed: 0 })
          expect(r.results[0]).toMatchObject({ status: 'updated', changedFields: ['firstName'] })
        } finally {
          await lock.release().catch(() => {})
        }
        const u = await store.getUser(dir.id, id)
        expect(u).toMatchObject({ firstName: 'Changed', lastName: 'Locker', version: 3 })
        const history = await store.listChanges(dir.id, { userId: id, limit: 10 })
        expect(history.items.map((c) => c.action)).toEqual(['update', 'create'])
      },
    )
})
