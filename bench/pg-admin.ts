/** Creates and drops the throwaway PostgreSQL database a benchmark run writes into. */
import pg from 'pg'

export interface BenchDatabase {
  name: string
  url: string
  serverVersion: string
  drop: () => Promise<void>
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * Throws (with PostgreSQL's reason) when the server does not answer or refuses. `tag` (lower-case
 * letters, digits, `_`) tells apart the databases of one run.
 */
export async function createBenchDatabase(adminUrl: string, tag = ''): Promise<BenchDatabase> {
  if (!/^[a-z0-9_]*$/.test(tag)) throw new Error(`createBenchDatabase: bad tag ${JSON.stringify(tag)}`)
  // Timestamp plus pid: unique per run, and a valid identifier with no quoting games.
  const name = `rollcall_bench_${tag ? `${tag}_` : ''}${Date.now()}_${process.pid}`
  const serverVersion = await withAdmin(adminUrl, async (c) => {
    // autovacuum decides whether the planner ever sees statistics of the freshly filled tables.
    const { v, av } = (
      await c.query<{ v: string; av: string }>("SELECT current_setting('server_version') AS v, current_setting('autovacuum') AS av")
    ).rows[0]
    await c.query(`CREATE DATABASE ${name}`)
    return `${v}, autovacuum ${av}`
  })
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    serverVersion,
    // FORCE closes any connection a crashed child left behind (PostgreSQL 13+).
    drop: () =>
      withAdmin(adminUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      }),
  }
}
