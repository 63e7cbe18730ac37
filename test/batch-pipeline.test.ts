import { expect, it } from 'vitest'
import type { BulkOptions } from '../src/engine/types.js'
import type { Directory } from '../src/core/types.js'
import type { Store } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

/**
 * On PostgreSQL the engine keeps two batches in flight (src/engine/pipeline.ts): the next batch
 * is planned while the one before it writes and commits. Whatever the batch size, an input must
 * come out exactly as it does in one batch: the same per-row results, the same users, the same
 * history. These inputs make neighbouring batches name the same users in every way they can.
 */
describeEachEngine('batches in flight', (engine) => {
  /** What a run leaves: each row's outcome, and the directory's users and history without ids or times. */
  async function outcome(store: Store, dir: Directory, rows: unknown[], opts: Partial<BulkOptions>) {
    const r = await bulk(store, dir, rows, opts)
    const users = []
    for (let afterSeq: number | undefined; ;) {
      const page = await store.listUsers(dir.id, { limit: 1000, afterSeq })
      users.push(...page.items)
      if (page.nextSeq === null) break
      afterSeq = page.nextSeq
    }
    const name = new Map(users.map((u) => [u.id, u.externalId ?? u.email]))
    const history = []
    for (let beforeSeq: number | undefined; ;) {
      const page = await store.listChanges(dir.id, { limit: 1000, beforeSeq })
      history.push(...page.items)
      if (page.nextSeq === null) break
      beforeSeq = page.nextSeq
    }
    return {
      summary: r.summary,
      rows: r.results.map((x) => ({
        index: x.index,
        status: x.status,
        user: x.userId ? (name.get(x.userId) ?? 'gone') : null,
        changed: [...x.changedFields].sort(),
        errors: x.errors.map((e) => `${e.field}:${e.code}`),
        warnings: (x.warnings ?? []).map((w) => `${w.field}:${w.code}:${w.message}`),
      })),
      users: users
        .map((u) => ({ externalId: u.externalId, email: u.email, firstName: u.firstName, lastName: u.lastName, version: u.version }))
        .sort((a, b) => String(a.externalId ?? a.email).localeCompare(String(b.externalId ?? b.email))),
      history: history.map((c) => `${name.get(c.userId)}:${c.action}:${Object.keys(c.changes).sort().join(',')}`).sort(),
    }
  }

  /** The same input into two new directories: in batches of `size`, and in one batch. */
  async function expectSameAsOneBatch(rows: unknown[], opts: Partial<BulkOptions>, size: number, seed: unknown[] = []) {
    const store = engine.store()
    const [small, whole] = [await freshDirectory(store), await freshDirectory(store)]
    if (seed.length) for (const d of [small, whole]) await bulk(store, d, seed, { match: ['externalId', 'email'] })
    const a = await outcome(store, small, rows, { ...opts, batchSize: size })
    const b = await outcome(store, whole, rows, { ...opts, batchSize: 10_000 })
    expect(a).toEqual(b)
    return a
  }

  it('a user created by one batch is found by the next, by every key, with the duplicates flagged as in one batch', async () => {
    const rows = [
      { externalId: 'E1', email: 'one@x.io', firstName: 'One' },
      { externalId: 'E2', email: 'two@x.io' },
      // Batch 2 names E1 by external id, and two@x.io by email only.
      { externalId: 'E1', lastName: 'Later' },
      { email: 'TWO@x.io', firstName: 'Two' },
      { externalId: 'E3', email: 'three@x.io' },
      // Batch 3 takes an email batch 2 holds, and fails.
      { externalId: 'E4', email: 'three@x.io' },
      { externalId: 'E5', email: 'five@x.io' },
      { externalId: 'E1', email: 'uno@x.io' },
      // Batch 5: the old email is free again, the new one is taken.
      { externalId: 'E6', email: 'one@x.io' },
      { externalId: 'E7', email: 'uno@x.io' },
    ]
    const out = await expectSameAsOneBatch(rows, { match: ['externalId', 'email'] }, 2)
    expect(out.rows.map((r) => r.status)).toEqual([
      'created',
      'created',
      'updated',
      'updated',
      'created',
      'failed',
      'created',
      'updated',
      'created',
      'failed',
    ])
    expect(out.users.find((u) => u.externalId === 'E1')).toMatchObject({
      email: 'uno@x.io',
      firstName: 'One',
      lastName: 'Later',
      version: 3,
    })
  })

  it('a user renamed by one batch is found under its new email by the next, and not under its old one', async () => {
    // Each batch but the edges updates 400 other users: the batch before is still writing while
    // the next one reads.
    const n = 400
    const others = (from: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ externalId: `O${from + i}`, firstName: `${tag}${from + i}` }))
    const seed = [
      { externalId: 'A', email: 'a@x.io' },
      { externalId: 'B', email: 'b@x.io' },
      { externalId: 'C', email: 'c@x.io' },
      ...Array.from({ length: 3 * n }, (_, i) => ({ externalId: `O${i}`, email: `o${i}@x.io` })),
    ]
    const rows = [
      ...others(0, 'x').slice(2),
      // The end of batch 1: A and B take new emails.
      { externalId: 'A', email: 'a2@x.io' },
      { externalId: 'B', email: 'b2@x.io' },
      // The start of batch 2: A and B by their new emails only.
      { email: 'a2@x.io', firstName: 'Renamed' },
      { email: 'b2@x.io', firstName: 'Bee' },
      ...others(n, 'y').slice(2),
      // The start of batch 3: C takes A's old email, is not found by its own, and is by its new one.
      { externalId: 'C', email: 'a@x.io' },
      { email: 'c@x.io', firstName: 'Gone' },
      { email: 'a@x.io', firstName: 'Cee' },
      ...others(2 * n, 'z').slice(3),
    ]
    const out = await expectSameAsOneBatch(rows, { mode: 'update', match: ['externalId', 'email'] }, n, seed)
    const named = out.rows.filter((r) => !String(r.user).startsWith('O'))
    expect(named.map((r) => `${r.user} ${r.status}${r.errors.length ? ` ${r.errors}` : ''}`)).toEqual([
      'A updated',
      'B updated',
      'A updated',
      'B updated',
      'C updated',
      'null failed email:user_not_found',
      'C updated',
    ])
    expect(out.users.filter((u) => !u.externalId?.startsWith('O')).map((u) => [u.externalId, u.email, u.firstName, u.lastName])).toEqual([
      ['A', 'a2@x.io', 'Renamed', null],
      ['B', 'b2@x.io', 'Bee', null],
      ['C', 'a@x.io', 'Cee', null],
    ])
  })

  it('many small batches over a few users: every row applied once, in input order', async () => {
    // 120 rows over 7 users in batches of 2 and 3: nearly every batch names a user of the one before.
    const rows = Array.from({ length: 120 }, (_, i) => ({ externalId: `U${i % 7}`, email: `u${i % 7}@x.io`, firstName: `F${i}` }))
    for (const size of [2, 3]) {
      const out = await expectSameAsOneBatch(rows, { match: ['externalId'] }, size)
      expect(out.summary).toEqual({ total: 120, created: 7, updated: 113, unchanged: 0, failed: 0 })
      // The last row of each user won, and each row is one version.
      expect(out.users.map((u) => [u.externalId, u.firstName, u.version])).toEqual(
        Array.from({ length: 7 }, (_, k) => {
          const last = 119 - ((119 - k) % 7)
          return [`U${k}`, `F${last}`, rows.filter((r) => r.externalId === `U${k}`).length]
        }),
      )
    }
  })
})
