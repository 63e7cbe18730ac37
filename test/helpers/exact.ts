import { join } from 'node:path'
import { expect } from 'vitest'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'

/** The store a server ran on: PostgreSQL at `databaseUrl`, else the SQLite file of `dataDir`. */
export const storeAt = (databaseUrl: string, dataDir: string): Store =>
  databaseUrl ? new PostgresStore({ connectionString: databaseUrl }) : new SqliteStore({ filename: join(dataDir, 'rollcall.db') })

/**
 * What an import of `rows` new users that was interrupted and resumed must have left, read from
 * the database: the job completed with exact counts, every user once, one history record each,
 * and a created result for every row in input order.
 */
export async function expectCreatedExactlyOnce(
  job: { state: string; counts: Record<string, number> },
  where: { databaseUrl: string; dataDir: string },
  ids: { directoryId: string; jobId: string },
  rows: number,
): Promise<void> {
  expect(job).toMatchObject({
    state: 'completed',
    counts: { total: rows, processed: rows, created: rows, failed: 0, updated: 0, unchanged: 0 },
  })
  const store = storeAt(where.databaseUrl, where.dataDir)
  try {
    expect(await store.countUsers(ids.directoryId)).toBe(rows)
    const history = await store.listChanges(ids.directoryId, { jobId: ids.jobId, limit: rows * 2 })
    expect(history.items).toHaveLength(rows)
    expect(new Set(history.items.map((c) => c.userId)).size).toBe(rows)
    const results = await store.jobs.results(ids.jobId, { limit: rows * 2 })
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: rows }, (_, i) => i))
    expect(results.every((r) => r.status === 'created')).toBe(true)
  } finally {
    await store.close()
  }
}
