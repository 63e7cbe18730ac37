import { describe, expect, it } from 'vitest'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { engineSkip, useOwnPostgres, usersAnalyses } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'
import { definitionOf } from '../src/core/fields.js'

interface PlanNode {
  'Relation Name'?: string
  'Actual Rows'?: number
  'Actual Loops'?: number
  'Rows Removed by Filter'?: number
  Plans?: PlanNode[]
}

/** Rows of `users` a plan's scans went through: returned and filtered out, over every loop. */
function usersRowsVisited(node: PlanNode): number {
  const own =
    node['Relation Name'] === 'users'
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      : 0
  return own + (node.Plans ?? []).reduce((n, p) => n + usersRowsVisited(p), 0)
}

/**
 * A directory that fills beside another one the statistics know is unknown to the planner until
 * the store analyses it: it takes it for a directory of one user. The batch statements must read
 * and write such a directory by key, not walk it once per row of the batch (which took 7.7 s per
 * 1,000-row batch in a 50,000-user directory, and crawled the concurrent imports benchmark to 170
 * rows/s). A unique custom field's lookup cannot hide the directory from the planner (its partial
 * index names it), so the store analyses a directory each time it doubled from 5,000 users.
 */
describe.skipIf(engineSkip('postgres') !== undefined)('postgres: a directory the statistics do not know yet', () => {
  const pgdb = useOwnPostgres('fresh_dir')

  const fill = (directoryId: string, n: number, prefix: string) =>
    pgdb.admin.query(
      `INSERT INTO users (id, directory_id, external_id, email, email_norm, first_name, created_at, updated_at, version, metadata, fields)
       SELECT gen_random_uuid()::text, $1, $2 || 'E' || i, $2 || 'u' || i || '@x.io', $2 || 'u' || i || '@x.io', 'F', now(), now(), 1, '{}', '{}'
       FROM generate_series(1, $3) i`,
      [directoryId, prefix, n],
    )

  type Statement = { sql: string; parameters: readonly unknown[] }
  /** A store on the test database that records every statement it sends. */
  const recordingStore = () => {
    const statements: Statement[] = []
    const store = new PostgresStore({ connectionString: pgdb.url, onQuery: (sql, parameters) => statements.push({ sql, parameters }) })
    return { store, statements }
  }

  /**
   * Rows of `users` statement `s` visits, planned again as the batch planned it (with the batch
   * settings found among `statements`), in a transaction rolled back.
   */
  const visits = async (statements: Statement[], s: Statement) => {
    const settings = statements.find((t) => t.sql.includes("set_config('enable_hashjoin'"))
    expect(settings).toBeDefined()
    await pgdb.admin.query('BEGIN')
    try {
      await pgdb.admin.query(settings!.sql, [...settings!.parameters])
      const { rows: plan } = await pgdb.admin.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, [
        ...s.parameters,
      ])
      return usersRowsVisited(plan[0]['QUERY PLAN'][0].Plan)
    } finally {
      await pgdb.admin.query('ROLLBACK')
    }
  }

  it('reads and updates a batch of its users by key: each statement visits about one row of users per row of the batch', async () => {
    const { store, statements } = recordingStore()
    try {
      await store.migrate()
      const known = await freshDirectory(store)
      const fresh = await freshDirectory(store)
      await fill(known.id, 20_000, 'k')
      await pgdb.admin.query('ANALYZE users')
      await fill(fresh.id, 5_000, 'f')

      statements.length = 0
      // 500 users of the fresh directory, named by email and external id, each first name changed.
      const rows = Array.from({ length: 500 }, (_, i) => ({
        email: `fu${i * 7 + 1}@x.io`,
        externalId: `fE${i * 7 + 1}`,
        firstName: `G${i}`,
      }))
      const r = await bulk(store, fresh, rows, { batchSize: 500 })
      expect(r.summary).toMatchObject({ total: 500, updated: 500, failed: 0 })
      const { rows: check } = await pgdb.admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM users WHERE directory_id = $1 AND first_name LIKE 'G%'`,
        [fresh.id],
      )
      expect(Number(check[0].n)).toBe(500)

      const lookups = statements.filter((s) => s.sql.includes('CROSS JOIN LATERAL'))
      const updates = statements.filter((s) => s.sql.trimStart().startsWith('UPDATE users'))
      expect(lookups.length).toBeGreaterThan(0)
      expect(updates.length).toBeGreaterThan(0)
      for (const s of [...lookups, ...updates]) {
        // Probing by key: about 500 (lookup: one key's probes, then the rows by seq; update: one per id).
        // Walking the directory per row: 5,000 or more.
        expect(await visits(statements, s), s.sql.slice(0, 80)).toBeLessThanOrEqual(1_500)
      }
    } finally {
      await store.close()
    }
  }, 60_000)

  it('looks a unique custom field up by its index once the store has written 5,000 users into the directory: no walk of the directory per batch', async () => {
    const { store, statements } = recordingStore()
    const analyses = (): Promise<number> => usersAnalyses(pgdb.admin)
    try {
      await store.migrate()
      const known = await freshDirectory(store)
      const fresh = await freshDirectory(store)
      await fill(known.id, 20_000, 'c')
      await pgdb.admin.query('ANALYZE users')
      const analysed = await analyses()
      await store.putField(fresh.id, definitionOf({ key: 'badge', type: 'string', unique: true }, null))
      await store.setUniqueFieldIndex(fresh.id, 'badge', true)
      // Written through the store, as an import writes them: the store counts what it created there.
      const r = await bulk(
        store,
        fresh,
        Array.from({ length: 6_000 }, (_, i) => ({ email: `b${i}@x.io`, fields: { badge: `B${i}` } })),
      )
      expect(r.summary).toMatchObject({ created: 6_000, failed: 0 })
      // Its ANALYZE runs in the background once the directory doubled past 5,000.
      for (let waited = 0; waited < 10_000 && (await analyses()) === analysed; waited += 100)
        await new Promise((res) => setTimeout(res, 100))

      statements.length = 0
      // 500 users named by email, each given a new badge: the batch looks the new values up to check they are free.
      const rows = Array.from({ length: 500 }, (_, i) => ({ email: `b${i * 11}@x.io`, fields: { badge: `N${i}` } }))
      const u = await bulk(store, fresh, rows, { batchSize: 500 })
      expect(u.summary).toMatchObject({ total: 500, updated: 500, failed: 0 })
      const custom = statements.filter((s) => s.sql.includes('(fields ->> $'))
      expect(custom.length).toBeGreaterThan(0)
      // Through the field's partial index: about 1,000 (500 by email, then the rows by seq; no badge is taken).
      // Walking the directory: 6,000 and more, growing with it.
      for (const s of custom) expect(await visits(statements, s)).toBeLessThanOrEqual(1_500)
    } finally {
      await store.close()
    }
  }, 60_000)
})
