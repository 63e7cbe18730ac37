import { join } from 'node:path'
import type { Client as PgClient } from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { type EngineName, leftOutByFilter } from './engine-filter.js'
import { makeTempDir } from './temp-dir.js'

export interface EngineHandle {
  name: EngineName
  /** A migrated store for this file, opened before the suite and closed after. */
  store: () => Store
}

type EngineDef = {
  name: EngineName
  skip?: string
  /** `ownDatabase`: PostgreSQL in a database of its own (SQLite's file is always the block's own). */
  open: (ownDatabase?: boolean) => Promise<{ store: Store; cleanup: () => Promise<void> }>
}

/**
 * Why the engine's half of the suite is skipped in this run, or undefined when it runs: left out
 * by ENGINES (see engine-filter.ts), or, for PostgreSQL, not answering (see global-setup.ts).
 * Test files that loop over engines on their own skip by this too.
 */
export function engineSkip(name: EngineName): string | undefined {
  return leftOutByFilter(name) ?? (name === 'postgres' ? process.env.ROLLCALL_TEST_PG_SKIP : undefined)
}

export const ENGINES: EngineDef[] = [
  {
    name: 'sqlite',
    skip: engineSkip('sqlite'),
    open: async () => {
      const dir = makeTempDir('test')
      const store = new SqliteStore({ filename: join(dir.path, 'test.db') })
      await store.migrate()
      return {
        store,
        cleanup: async () => {
          await store.close()
          dir.remove()
        },
      }
    },
  },
  {
    name: 'postgres',
    skip: engineSkip('postgres'),
    open: async (ownDatabase) => {
      const own = ownDatabase ? await ownPostgresDatabase('own') : null
      const store = new PostgresStore({ connectionString: own?.url ?? (process.env.ROLLCALL_TEST_PG_URL as string), max: 4 })
      await store.migrate()
      return {
        store,
        cleanup: async () => {
          await store.close()
          await own?.drop()
        },
      }
    },
  },
]

/**
 * `describe` once per engine, with a store opened for the block. Tests stay isolated by
 * creating their own tenant (see fixtures.ts), so they can share the database. A block whose
 * tests act on the whole installation (retention sweeps every tenant's jobs) asks for
 * `ownDatabase`.
 */
export function describeEachEngine(title: string, body: (engine: EngineHandle) => void, opts: { ownDatabase?: boolean } = {}): void {
  for (const def of ENGINES) {
    const run = def.skip ? describe.skip : describe
    run(`${def.name}: ${title}`, () => {
      let opened: Awaited<ReturnType<EngineDef['open']>> | undefined
      beforeAll(async () => {
        opened = await def.open(opts.ownDatabase)
      })
      afterAll(async () => {
        await opened?.cleanup()
      })
      body({
        name: def.name,
        store: () => {
          if (!opened) throw new Error('store not opened yet')
          return opened.store
        },
      })
    })
  }
}

/**
 * A PostgreSQL database of its own, for tests that run servers as child processes: their
 * 'default' tenant and job workers must not meet those of other test files.
 */
export async function ownPostgresDatabase(tag: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: pg } = await import('pg')
  const name = `rollcall_${tag}_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: process.env.ROLLCALL_TEST_PG_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(process.env.ROLLCALL_TEST_PG_URL as string)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: process.env.ROLLCALL_TEST_PG_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

/**
 * Inside a describe: a PostgreSQL database of its own for the describe's tests (created before
 * them, dropped after), with a client connected to it as `admin` for checks a store does not offer.
 */
export function useOwnPostgres(tag: string): { readonly url: string; readonly admin: PgClient } {
  let db: Awaited<ReturnType<typeof ownPostgresDatabase>> | undefined
  let admin: PgClient | undefined
  beforeAll(async () => {
    const { default: pg } = await import('pg')
    db = await ownPostgresDatabase(tag)
    admin = new pg.Client({ connectionString: db.url })
    await admin.connect()
  })
  afterAll(async () => {
    await admin?.end()
    await db?.drop()
  })
  return {
    get url() {
      if (!db) throw new Error('useOwnPostgres: the database is made in beforeAll')
      return db.url
    },
    get admin() {
      if (!admin) throw new Error('useOwnPostgres: the client connects in beforeAll')
      return admin
    },
  }
}

/** How many times `users` has been analysed (by anyone), fresh from the statistics collector. */
export async function usersAnalyses(admin: PgClient): Promise<number> {
  await admin.query('SELECT pg_stat_clear_snapshot()')
  const r = await admin.query<{ n: string }>("SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = 'users'")
  return Number(r.rows[0].n)
}
