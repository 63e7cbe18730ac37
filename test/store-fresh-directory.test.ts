import { describe, expect, it } from 'vitest'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { engineSkip, useOwnPostgres } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

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
 * A directory that fills beside another one the statistics know (ANALYZE runs each time the
 * table doubled) is unknown to the planner: it takes it for a directory of one user. The batch
 * statements must read and write such a directory by key, not walk it once per row of the batch
 * (which took 7.7 s per 1,000-row batch in a 50,000-user directory, and crawled the concurrent
 * imports benchmark to 170 rows/s).
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

  it('reads and updates a batch of its users by key: each statement visits about one row of users per row of the batch', async () => {
    const statements: { sql: string; parameters: readonly unknown[] }[] = []
    const store = new PostgresStore({ connectionString: pgdb.url, onQuery: (sql, parameters) => statements.push({ sql, parameters }) })
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
      // Planned again as the batch planned them (its settings), and run inside a transaction rolled back.
      const settings = statements.find((s) => s.sql.includes("set_config('enable_hashjoin'"))
      expect(settings).toBeDefined()
      for (const s of [...lookups, ...updates]) {
        await pgdb.admin.query('BEGIN')
        try {
          await pgdb.admin.query(settings!.sql, [...settings!.parameters])
          const { rows: plan } = await pgdb.admin.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, [
            ...s.parameters,
          ])
          // Probing by key: about 500 (lookup: one key's probes, then the rows by seq; update: one per id).
          // Walking the directory per row: 5,000 or more.
          expect(usersRowsVisited(plan[0]['QUERY PLAN'][0].Plan), s.sql.slice(0, 80)).toBeLessThanOrEqual(1_500)
        } finally {
          await pgdb.admin.query('ROLLBACK')
        }
      }
    } finally {
      await store.close()
    }
  }, 60_000)
})
