import pg from 'pg'

/**
 * One PostgreSQL database per test run, created here and dropped after. Where PostgreSQL does
 * not answer, the PostgreSQL half of the suite is skipped with the reason printed, unless
 * REQUIRE_POSTGRES=1, which makes its absence a failure.
 */
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export default async function setup(): Promise<() => Promise<void>> {
  const name = `rollcall_test_${Date.now()}_${process.pid}`
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (e) {
    const reason = `PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} did not answer (${(e as Error).message})`
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`${reason}; REQUIRE_POSTGRES=1 makes this a failure`, { cause: e })
    console.warn(`\n[rollcall tests] SKIPPING the PostgreSQL half of the suite: ${reason}\n`)
    process.env.ROLLCALL_TEST_PG_SKIP = reason
    return async () => {}
  }
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  process.env.ROLLCALL_TEST_PG_URL = url.toString()
  return async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL })
    await c.connect()
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await c.end()
  }
}
