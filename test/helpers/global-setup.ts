import pg from 'pg'
import { enginesToRun, leftOutByFilter } from './engine-filter.js'

/**
 * One PostgreSQL database per test run, created here and dropped after. Where PostgreSQL does
 * not answer, the PostgreSQL half of the suite is skipped with the reason printed, unless
 * REQUIRE_POSTGRES=1, which makes its absence a failure. ENGINES=sqlite leaves PostgreSQL out (no
 * database is made), and an unknown name in ENGINES stops the run here, before any test.
 */
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export default async function setup(): Promise<() => Promise<void>> {
  enginesToRun()
  const leftOut = leftOutByFilter('postgres')
  if (leftOut) {
    process.env.ROLLCALL_TEST_PG_SKIP = leftOut
    return async () => {}
  }
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
