import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { UserRecord } from '../src/core/types.js'
import { USER_FIELDS, USER_LOOKUPS, type UserFieldSpec } from '../src/core/user-fields.js'
import { postgresCodec, sqliteCodec, USER_COLUMNS, userColumns, userReader, type UserRow, userValues } from '../src/store/codec.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { describeEachEngine, engineSkip } from './helpers/engines.js'
import { freshDirectory } from './helpers/fixtures.js'
import { makeTempDir } from './helpers/temp-dir.js'

const ctx = { channel: 'native' as const, keyId: null, requestId: null, jobId: null }

/** A user with every built-in field set to a value of its own. */
function fullUser(directoryId: string, n: number): UserRecord {
  return {
    id: `u-${n}-${Math.random().toString(36).slice(2)}`,
    directoryId,
    externalId: `ext-${n}`,
    email: `Person${n}@Example.io`,
    emailVerifiedAt: '2026-01-02T03:04:05.678Z',
    phone: `+1 555 010${n}`,
    username: `Person${n}`,
    firstName: `First${n}`,
    lastName: `Last${n}`,
    displayName: `Person ${n}`,
    avatarUrl: `https://img.example.io/${n}.png`,
    country: 'DE',
    locale: 'de-DE',
    active: n % 2 === 0,
    createdAt: '2026-02-03T04:05:06.789Z',
    updatedAt: '2026-02-03T04:05:06.789Z',
    lastLoginAt: '2026-03-04T05:06:07.890Z',
    loginCount: 7 + n,
    version: 1,
    metadata: { plan: 'pro', n },
    fields: { dept: `d${n}` },
  }
}

async function write(store: Store, directoryId: string, inserts: UserRecord[], updates: { user: UserRecord; expectedVersion: number }[]) {
  const at = new Date().toISOString()
  await store.transaction((tx) =>
    tx.writeBatch({
      directoryId,
      inserts,
      updates,
      changes: [...inserts, ...updates.map((u) => u.user)].map((u) => ({
        ...ctx,
        userId: u.id,
        action: 'update' as const,
        at,
        changes: {},
      })),
    }),
  )
}

describeEachEngine('the users table follows the table of built-in fields', (engine) => {
  it('every built-in field survives an insert, an update that changes them all, and a lookup by each unique key', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const user = fullUser(dir.id, 1)
    await write(store, dir.id, [user], [])
    expect(await store.getUser(dir.id, user.id)).toEqual(user)

    const changed: UserRecord = {
      ...fullUser(dir.id, 2),
      id: user.id,
      createdAt: user.createdAt,
      updatedAt: '2026-05-06T07:08:09.123Z',
      version: 2,
    }
    await write(store, dir.id, [], [{ user: changed, expectedVersion: 1 }])
    expect(await store.getUser(dir.id, user.id)).toEqual(changed)

    // Each unique key finds the user; case-folded keys whatever the case asked.
    for (const l of USER_LOOKUPS) {
      const value = changed[l.key] as string
      const asked = l.folded ? value.toUpperCase() : value
      expect(await store.findUsers(dir.id, { [l.key]: [asked] }), l.key).toEqual([changed])
      if (l.folded) expect(await store.findUsers(dir.id, { [l.key]: [value.toLowerCase()] })).toEqual([changed])
    }
    // The old values find no one.
    expect(await store.findUsers(dir.id, { externalId: [user.externalId as string], email: [user.email as string] })).toEqual([])
  })

  it('a write refused by a unique index names the field whose index refused it', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const first = fullUser(dir.id, 1)
    await write(store, dir.id, [first], [])
    for (const key of ['externalId', 'email', 'username'] as const) {
      const clash = { ...fullUser(dir.id, 3), [key]: key === 'externalId' ? first[key] : (first[key] as string).toLowerCase() }
      const err = await write(store, dir.id, [clash], []).catch((e: unknown) => e)
      expect(err, key).toMatchObject({ name: 'WriteConflict', constraint: key })
    }
    expect(await store.findUsers(dir.id, { externalId: ['ext-3'] })).toEqual([])
  })
})

/** The columns of `users` as the migrations made them. */
async function migratedColumns(engine: 'sqlite' | 'postgres'): Promise<string[]> {
  if (engine === 'sqlite') {
    const dir = makeTempDir('columns')
    const store = new SqliteStore({ filename: join(dir.path, 'c.db') })
    await store.migrate()
    await store.close()
    const db = new Database(join(dir.path, 'c.db'), { readonly: true })
    const cols = (db.prepare('PRAGMA table_info(users)').all() as { name: string }[]).map((c) => c.name)
    db.close()
    dir.remove()
    return cols
  }
  const client = new pg.Client({ connectionString: process.env.ROLLCALL_TEST_PG_URL })
  await client.connect()
  try {
    const r = await client.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND table_schema = current_schema()",
    )
    return r.rows.map((c) => c.column_name)
  } finally {
    await client.end()
  }
}

describe('the users columns', () => {
  for (const engine of ['sqlite', 'postgres'] as const) {
    it.skipIf(engineSkip(engine) !== undefined)(
      `${engine}: the migrations made exactly the columns the table of built-ins names`,
      async () => {
        // migratedColumns on PostgreSQL reads the suite's database, which another test file migrates first.
        if (engine === 'postgres') {
          const { PostgresStore } = await import('../src/store/postgres/postgres-store.js')
          const store = new PostgresStore({ connectionString: process.env.ROLLCALL_TEST_PG_URL as string, max: 1 })
          await store.migrate()
          await store.close()
        }
        const columns = await migratedColumns(engine)
        expect(columns.sort()).toEqual(['seq', ...USER_COLUMNS.map((c) => c.name)].sort())
      },
    )
  }

  it('a field added to the table in memory gets its column, its value written and read back, on both engines’ codecs', () => {
    const nickname: UserFieldSpec = {
      key: 'nickname',
      column: 'nick_name',
      label: 'Nickname',
      type: 'string',
      writable: true,
      unique: false,
      matchKey: false,
      exported: true,
      maxLength: 12,
      pattern: null,
    }
    const seenAt: UserFieldSpec = { ...nickname, key: 'seenAt', column: 'seen_at', type: 'datetime' }
    const table = [...USER_FIELDS, nickname, seenAt]
    const columns = userColumns(table)
    expect(columns.find((c) => c.name === 'nick_name')?.pgType).toBe('text')
    expect(columns.find((c) => c.name === 'seen_at')?.pgType).toBe('timestamptz')
    expect(columns.map((c) => c.name)).toEqual([
      ...USER_COLUMNS.slice(0, -2).map((c) => c.name),
      'nick_name',
      'seen_at',
      'metadata',
      'fields',
    ])

    // The codec compiles its functions from the table: only identifiers may reach that code.
    expect(() => userColumns([...USER_FIELDS, { ...nickname, column: 'nick; DROP TABLE users' }])).toThrow(/not an identifier/)
    expect(() => userReader([...USER_FIELDS, { ...nickname, key: 'x: process.exit(1), y' }])).toThrow(/not an identifier/)

    const user = { ...fullUser('dir-1', 4), nickname: 'Nico', seenAt: '2026-07-08T09:10:11.000Z' } as UserRecord
    for (const codec of [sqliteCodec, postgresCodec]) {
      const values = userValues(user, codec, columns)
      const row = Object.fromEntries(columns.map((c, i) => [c.name, values[i]]))
      expect(row).toMatchObject({ nick_name: 'Nico', seen_at: '2026-07-08T09:10:11.000Z', email_norm: 'person4@example.io' })
      // What the engine hands back: JSON bags parsed on PostgreSQL, text on SQLite.
      const back = codec === postgresCodec ? { ...row, metadata: user.metadata, fields: user.fields } : row
      expect(userReader(table)(back as unknown as UserRow, codec)).toEqual(user)
    }
  })
})
