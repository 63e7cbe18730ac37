import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { definitionOf } from '../src/core/fields.js'
import type { Directory } from '../src/core/types.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { engineSkip } from './helpers/engines.js'
import { bulk } from './helpers/fixtures.js'
import { makeTempDir } from './helpers/temp-dir.js'

/**
 * One tenant's size must not slow another's: every list and lookup of a small directory reads
 * only that directory's rows, by index, while another directory holds 1,000,000 users and their
 * history, memberships and jobs. Each statement the store runs is captured and its plan read
 * (EXPLAIN), before and after the planner has statistics; a sequential scan, or an index walked
 * without a condition (a primary-key scan in `seq` order), over one of those tables fails the test.
 */

const BIG_USERS = 1_000_000
const BIG_JOBS = 50_000
const BIG_GROUP = 300_000
/** The tables the big directory fills; a scan of one of them reads the big directory's rows. */
const BIG_TABLES = ['users', 'changes', 'group_members', 'jobs']

interface Captured {
  sql: string
  parameters: readonly unknown[]
}

interface PlanEngine {
  name: 'sqlite' | 'postgres'
  skip?: string
  open(onQuery: (sql: string, parameters: readonly unknown[]) => void): Promise<Store>
  /**
   * Fills directory `dirId` with `n` users and one history record each, a group holding
   * BIG_GROUP of them (group `groupId`) and BIG_JOBS finished jobs, in SQL.
   */
  seed(store: Store, dir: Directory, n: number, groupId: string): Promise<void>
  /** Gathers the planner's statistics. */
  analyze(): Promise<void>
  /**
   * What is wrong with the statement's plan (an empty list when nothing). `inBig`: the statement
   * reads the big directory, so walking that directory's rows by `directory_id` alone is wrong too.
   */
  check(store: Store, q: Captured, inBig?: boolean): Promise<string[]>
  cleanup(): Promise<void>
}

const sqliteEngine = (): PlanEngine => {
  let dir: ReturnType<typeof makeTempDir> | undefined
  let store: SqliteStore | undefined
  return {
    name: 'sqlite',
    skip: engineSkip('sqlite'),
    async open(onQuery) {
      dir = makeTempDir('plans')
      store = new SqliteStore({ filename: join(dir.path, 'plans.db'), onQuery })
      await store.migrate()
      return store
    },
    async seed(_s, dir, n, groupId) {
      const dirId = dir.id
      const raw = (store as SqliteStore).raw
      raw
        .prepare(
          `
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO users (id, directory_id, external_id, email, email_norm, username, username_norm, display_name,
          created_at, updated_at, version, metadata, fields)
        SELECT 'big-' || i, ?, 'ext-' || i, 'u' || i || '@big.io', 'u' || i || '@big.io', 'u' || i, 'u' || i, 'User ' || i,
          '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, '{"tier":"gold"}', '{"dept":"Sales","code":"C' || i || '"}'
        FROM n`,
        )
        .run(n, dirId)
      raw
        .prepare(
          `
        INSERT INTO changes (directory_id, user_id, action, at, channel, changes)
        SELECT directory_id, id, 'create', created_at, 'native', '{"email":[null,"x"]}' FROM users WHERE directory_id = ?`,
        )
        .run(dirId)
      raw
        .prepare(`INSERT INTO group_members (group_id, user_id) SELECT ?, id FROM users WHERE directory_id = ? LIMIT ?`)
        .run(groupId, dirId, BIG_GROUP)
      raw
        .prepare(
          `
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO jobs (id, tenant_id, directory_id, kind, state, format, options, created_at, updated_at)
        SELECT 'job-' || i, ?, ?, 'import', 'completed', 'csv', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n`,
        )
        .run(BIG_JOBS, dir.tenantId, dirId)
    },
    async analyze() {
      ;(store as SqliteStore).raw.exec('ANALYZE')
    },
    async check(_s, q, inBig) {
      const rows = (store as SqliteStore).raw.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[])) as {
        detail: string
      }[]
      // `SCAN t` reads the whole table (or, with USING INDEX, the whole index); `SEARCH t` uses a key.
      const whole = (d: string) =>
        BIG_TABLES.some(
          (t) => new RegExp(`^SCAN ${t}\\b`).test(d) || (inBig && new RegExp(`^SEARCH ${t} .*\\(directory_id=\\?\\)$`).test(d)),
        )
      return rows.map((r) => r.detail).filter(whole)
    },
    async cleanup() {
      await store?.close()
      dir?.remove()
    },
  }
}

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

const postgresEngine = (): PlanEngine => {
  // A database of its own: a million rows must not weigh on the other test files' database.
  const name = `rollcall_plans_${Date.now()}_${process.pid}`
  let store: PostgresStore | undefined
  const admin = async (text: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL })
    await c.connect()
    try {
      await c.query(text)
    } finally {
      await c.end()
    }
  }
  return {
    name: 'postgres',
    skip: engineSkip('postgres'),
    async open(onQuery) {
      await admin(`CREATE DATABASE ${name}`)
      const url = new URL(ADMIN_URL)
      url.pathname = `/${name}`
      store = new PostgresStore({ connectionString: url.toString(), max: 2, onQuery })
      await store.migrate()
      return store
    },
    async seed(_s, dir, n, groupId) {
      const dirId = dir.id
      const p = (store as PostgresStore).pool
      // No statistics until the test asks for them: autovacuum must not gather them meanwhile.
      for (const t of BIG_TABLES) await p.query(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`)
      await p.query(
        `INSERT INTO users (id, directory_id, external_id, email, email_norm, username, username_norm, display_name,
          created_at, updated_at, version, metadata, fields)
        SELECT 'big-' || i, $2, 'ext-' || i, 'u' || i || '@big.io', 'u' || i || '@big.io', 'u' || i, 'u' || i, 'User ' || i,
          '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1, '{"tier":"gold"}', ('{"dept":"Sales","code":"C' || i || '"}')::json
        FROM generate_series(1, $1::int) AS i`,
        [n, dirId],
      )
      await p.query(
        `INSERT INTO changes (directory_id, user_id, action, at, channel, changes)
        SELECT directory_id, id, 'create', created_at, 'native', '{"email":[null,"x"]}' FROM users WHERE directory_id = $1`,
        [dirId],
      )
      await p.query('INSERT INTO group_members (group_id, user_id) SELECT $1, id FROM users WHERE directory_id = $2 LIMIT $3', [
        groupId,
        dirId,
        BIG_GROUP,
      ])
      await p.query(
        `INSERT INTO jobs (id, tenant_id, directory_id, kind, state, format, options, created_at, updated_at)
        SELECT 'job-' || i, $2, $3, 'import', 'completed', 'csv', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
        FROM generate_series(1, $1::int) AS i`,
        [BIG_JOBS, dir.tenantId, dirId],
      )
    },
    async analyze() {
      await (store as PostgresStore).pool.query('ANALYZE')
    },
    async check(_s, q, inBig) {
      const r = await (store as PostgresStore).pool.query(`EXPLAIN (FORMAT JSON) ${q.sql}`, q.parameters as unknown[])
      const problems: string[] = []
      const walk = (node: Record<string, unknown>) => {
        const rel = node['Relation Name'] as string | undefined
        const type = node['Node Type'] as string
        if (rel && BIG_TABLES.includes(rel)) {
          if (type === 'Seq Scan') problems.push(`Seq Scan on ${rel}`)
          if ((type === 'Index Scan' || type === 'Index Only Scan') && !node['Index Cond'])
            problems.push(`${type} using ${String(node['Index Name'])} on ${rel} without a condition`)
        }
        const cond = node['Index Cond'] as string | undefined
        if (inBig && cond && /^\(directory_id = [^()]*\)$/.test(cond))
          problems.push(`${type} using ${String(node['Index Name'])} by the directory alone`)
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child)
      }
      walk((r.rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan)
      return problems
    },
    async cleanup() {
      await store?.close()
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

for (const make of [sqliteEngine, postgresEngine]) {
  const engine = make()
  const run = engine.skip ? describe.skip : describe
  run(`${engine.name}: query plans beside a directory of ${BIG_USERS.toLocaleString('en')} users`, () => {
    let store: Store
    let captured: Captured[] = []
    let small: Directory
    let userIds: string[] = []
    let groupId = ''
    let big: Directory

    beforeAll(async () => {
      store = await engine.open((sql, parameters) => captured.push({ sql, parameters }))
      const tenant = await store.ensureTenant('plans')
      big = await store.createDirectory(tenant.id, { name: 'Big', externalId: 'big' })
      small = await store.createDirectory(tenant.id, { name: 'Small', externalId: 'small' })
      for (const d of [big, small]) {
        await store.putField(d.id, definitionOf({ key: 'dept', type: 'string' }, null))
        await store.putField(d.id, definitionOf({ key: 'code', type: 'string', unique: true }, null))
      }
      const bigGroup = await store.createGroup(big.id, { kind: 'group', name: 'Everyone', externalId: null })
      await engine.seed(store, big, BIG_USERS, bigGroup.id)
      await store.setUniqueFieldIndex(big.id, 'code', true)
      await store.setUniqueFieldIndex(small.id, 'code', true)
      const rows = Array.from({ length: 50 }, (_, i) => ({
        email: `s${i}@small.io`,
        username: `s${i}`,
        externalId: `s-ext-${i}`,
        displayName: `Small ${i}`,
        fields: { dept: i % 2 ? 'Sales' : 'R&D', code: `S${i}` },
      }))
      const r = await bulk(store, small, rows)
      userIds = r.results.map((x) => x.userId as string)
      const g = await store.createGroup(small.id, { kind: 'group', name: 'Team', externalId: null })
      await store.addMembers(small.id, g.id, userIds.slice(0, 5))
      groupId = g.id
    }, 600_000)

    afterAll(async () => {
      await engine.cleanup()
    }, 120_000)

    /** Runs `fn`, then explains every SELECT it made; returns the problems found, per statement. */
    async function plansOf(fn: () => Promise<unknown>, inBig = false): Promise<{ sql: string; problems: string[] }[]> {
      captured = []
      await fn()
      const selects = captured.filter((q) => /^\s*(select|with)\b/i.test(q.sql))
      expect(selects.length, 'the call ran no SELECT').toBeGreaterThan(0)
      const out: { sql: string; problems: string[] }[] = []
      for (const q of selects) out.push({ sql: q.sql, problems: await engine.check(store, q, inBig) })
      return out.filter((p) => p.problems.length > 0)
    }

    const calls: [string, () => Promise<unknown>][] = [
      ['listUsers, first page', () => store.listUsers(small.id, { limit: 20 })],
      ['listUsers, next page', () => store.listUsers(small.id, { limit: 20, afterSeq: 1 })],
      ['listUsers by email', () => store.listUsers(small.id, { email: 'S3@small.io', limit: 20 })],
      ['listUsers by username', () => store.listUsers(small.id, { username: 's3', limit: 20 })],
      ['listUsers by externalId', () => store.listUsers(small.id, { externalId: 's-ext-3', limit: 20 })],
      ['listUsers by custom field', () => store.listUsers(small.id, { fields: { dept: 'Sales' }, limit: 20 })],
      [
        'listUsers created in a range',
        () => store.listUsers(small.id, { createdAfter: '2000-01-01T00:00:00.000Z', createdBefore: '2100-01-01T00:00:00.000Z', limit: 20 }),
      ],
      ['listUsers updated in a range', () => store.listUsers(small.id, { updatedAfter: '2000-01-01T00:00:00.000Z', limit: 20 })],
      ['countUsers', () => store.countUsers(small.id)],
      ['getUser', () => store.getUser(small.id, userIds[3])],
      [
        'findUsers by every key',
        () =>
          store.findUsers(small.id, {
            id: [userIds[1]],
            email: ['s2@small.io'],
            username: ['s3'],
            externalId: ['s-ext-4'],
            fields: { code: ['S5'] },
          }),
      ],
      [
        'searchUsers, no filter, sorted by username',
        () => store.searchUsers(small.id, { sort: { by: [{ column: 'username' }] }, offset: 10, limit: 10 }),
      ],
      [
        'searchUsers, email eq',
        () => store.searchUsers(small.id, { filter: { op: 'eq', field: { column: 'email' }, value: 's1@small.io' }, offset: 0, limit: 10 }),
      ],
      [
        'searchUsers, displayName contains',
        () =>
          store.searchUsers(small.id, { filter: { op: 'co', field: { column: 'displayName' }, value: 'mall 1' }, offset: 0, limit: 10 }),
      ],
      [
        'searchUsers, or of custom field and not',
        () =>
          store.searchUsers(small.id, {
            filter: {
              op: 'or',
              of: [
                { op: 'eq', field: { custom: 'dept', kind: 'text' }, value: 'R&D' },
                { op: 'not', of: { op: 'pr', field: { column: 'externalId' } } },
              ],
            },
            offset: 0,
            limit: 10,
          }),
      ],
      [
        'searchUsers, id in',
        () =>
          store.searchUsers(small.id, { filter: { op: 'in', field: { column: 'id' }, values: userIds.slice(0, 3) }, offset: 0, limit: 10 }),
      ],
      ['listChanges of the directory', () => store.listChanges(small.id, { limit: 20 })],
      ['listChanges of a user', () => store.listChanges(small.id, { userId: userIds[2], limit: 20 })],
      ['listChanges of a field', () => store.listChanges(small.id, { field: 'email', limit: 20 })],
      ['listChanges of deletes', () => store.listChanges(small.id, { action: 'delete', limit: 20 })],
      ['listGroups', () => store.listGroups(small.id, { limit: 20 })],
      ['groupsOfUser', () => store.groupsOfUser(small.id, userIds[0])],
      ['listMembers', () => store.listMembers(small.id, groupId)],
      ['jobs of the directory', () => store.jobs.list(small.id, { limit: 20 })],
      [
        'a batch read for the bulk engine',
        () => store.transaction((tx) => tx.lockUsers(small.id, { id: [userIds[0]], email: ['s9@small.io'], fields: { code: ['S7'] } })),
      ],
      ['client-chosen ids taken elsewhere', () => store.transaction((tx) => tx.idsTakenElsewhere(small.id, ['big-12', 'nobody']))],
    ]

    // The bulk engine's batch read in the big directory itself: by each key's own index, never
    // a walk of the directory's million rows.
    const everyKey = () => ({ id: ['big-7'], email: ['U8@big.io'], username: ['u9'], externalId: ['ext-10'], fields: { code: ['C11'] } })
    const bigCalls: [string, () => Promise<unknown>][] = [
      ['a batch read by id', () => store.transaction((tx) => tx.lockUsers(big.id, { id: ['big-7', 'big-700000'] }))],
      ['a batch read by every key', () => store.transaction((tx) => tx.lockUsers(big.id, everyKey()))],
      [
        'a batch read of 1,000 rows by email and external id',
        () =>
          store.transaction((tx) =>
            tx.lockUsers(big.id, {
              email: Array.from({ length: 1000 }, (_, i) => `u${1 + i * 997}@big.io`),
              externalId: Array.from({ length: 1000 }, (_, i) => `ext-${1 + i * 997}`),
            }),
          ),
      ],
    ]

    // Right after a bulk load the planner has no statistics (PostgreSQL guesses 0.5 % of the rows
    // for an equality, which makes a walk of the primary key in `seq` order look cheap); later it
    // has them. Both must read by index.
    for (const [what, call] of calls)
      it(`${what}: reads only the directory's rows, by index (no statistics yet)`, async () => {
        expect(await plansOf(call)).toEqual([])
      })

    for (const [what, call] of bigCalls)
      it(`${what} in the big directory: by the key's index (no statistics yet)`, async () => {
        expect(await plansOf(call, true)).toEqual([])
      })

    it('ANALYZE', async () => {
      await engine.analyze()
    }, 120_000)

    for (const [what, call] of calls)
      it(`${what}: reads only the directory's rows, by index (with statistics)`, async () => {
        expect(await plansOf(call)).toEqual([])
      })

    for (const [what, call] of bigCalls)
      it(`${what} in the big directory: by the key's index (with statistics)`, async () => {
        expect(await plansOf(call, true)).toEqual([])
      })

    it('a batch read in the big directory finds the user of each key', async () => {
      const found = await store.transaction((tx) => tx.lockUsers(big.id, everyKey()))
      expect(found.map((u) => u.id).sort()).toEqual(['big-10', 'big-11', 'big-7', 'big-8', 'big-9'])
    })

    it('the answers are the small directory’s, not the big one’s', async () => {
      const page = await store.listUsers(small.id, { limit: 100 })
      expect(page.items).toHaveLength(50)
      expect(await store.countUsers(small.id)).toBe(50)
      const taken = await store.transaction((tx) => tx.idsTakenElsewhere(small.id, ['big-12', userIds[0], 'nobody']))
      expect(taken).toEqual(['big-12'])
    })
  })
}
