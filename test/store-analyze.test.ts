import { describe, expect, it } from 'vitest'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { engineSkip, useOwnPostgres, usersAnalyses } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'
import type { Directory } from '../src/core/types.js'

/**
 * The PostgreSQL store analyses `users` and `changes` itself as bulk writes grow them (each time
 * the table, or one directory, doubled), so queries keep fitting statistics however fast an import
 * fills a directory; and no more often, since each ANALYZE costs the database's CPU. The cases
 * build on each other: one table, analysed by the cases before.
 */
describe.skipIf(engineSkip('postgres') !== undefined)('postgres: the statistics the store keeps up to date', () => {
  const pgdb = useOwnPostgres('analyze')

  const analyses = (): Promise<number> => usersAnalyses(pgdb.admin)
  /** The count once the store's ANALYZE (run in the background) is done: waits for `n`, then a moment more for any other. */
  const settlesAt = async (n: number): Promise<number> => {
    for (let waited = 0; waited < 15_000 && (await analyses()) < n; waited += 100) await new Promise((r) => setTimeout(r, 100))
    await new Promise((r) => setTimeout(r, 1500))
    return analyses()
  }
  const users = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ email: `u${from + i}@x.io` }))

  /** The directory of the first case: 11,000 users, analysed at 5,000 and at 11,000. */
  let known: Directory

  it('analyses after the first 5,000 rows written, then each time as many again were written', async () => {
    const store = new PostgresStore({ connectionString: pgdb.url })
    try {
      await store.migrate()
      const dir = (known = await freshDirectory(store))
      expect(await analyses()).toBe(0)
      await bulk(store, dir, users(0, 4_000))
      expect(await settlesAt(0)).toBe(0)
      await bulk(store, dir, users(4_000, 2_000))
      expect(await settlesAt(1)).toBe(1)
      // Analysed at 5,000 rows: the next ANALYZE comes once 5,000 more are written (at 10,000).
      await bulk(store, dir, users(6_000, 3_000))
      expect(await settlesAt(1)).toBe(1)
      await bulk(store, dir, users(9_000, 2_000))
      expect(await settlesAt(2)).toBe(2)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('a store opened on a table with statistics counts the rows they describe: 6,000 more users in a directory they know at 11,000 analyse nothing, 12,000 do', async () => {
    const store = new PostgresStore({ connectionString: pgdb.url })
    try {
      const before = await analyses()
      await bulk(store, known, users(11_000, 6_000))
      expect(await settlesAt(before)).toBe(before)
      await bulk(store, known, users(17_000, 6_000))
      expect(await settlesAt(before + 1)).toBe(before + 1)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('a directory the statistics do not know is analysed once it holds 5,000 users, though the table grew by a quarter', async () => {
    const store = new PostgresStore({ connectionString: pgdb.url })
    try {
      const before = await analyses()
      const dir = await freshDirectory(store)
      // Beside 23,000 analysed users: the table's rule alone would wait for 23,000 more.
      await bulk(store, dir, users(100_000, 4_000))
      expect(await settlesAt(before)).toBe(before)
      await bulk(store, dir, users(104_000, 2_000))
      expect(await settlesAt(before + 1)).toBe(before + 1)
      const { rows } = await pgdb.admin.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
        'EXPLAIN (FORMAT JSON) SELECT 1 FROM users WHERE directory_id = $1',
        [dir.id],
      )
      // The planner now counts it at its size (a directory unknown to the statistics comes out at one row).
      expect(rows[0]['QUERY PLAN'][0].Plan['Plan Rows']).toBeGreaterThan(3_000)
    } finally {
      await store.close()
    }
  }, 60_000)
})
