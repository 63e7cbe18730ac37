import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { definitionOf } from '../src/core/fields.js'
import { INDEXED_SET_COLUMNS, USER_SET_COLUMNS } from '../src/store/codec.js'
import type { UserRecord } from '../src/core/types.js'
import { blankUser } from '../src/core/user-patch.js'
import { RollcallError } from '../src/core/errors.js'
import type { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

const ctx = { channel: 'native' as const, keyId: null, requestId: null, jobId: null }

/** Users written straight through writeBatch, as given. */
async function insert(store: Store, directoryId: string, users: Partial<UserRecord>[]): Promise<UserRecord[]> {
  const now = new Date().toISOString()
  const rows = users.map((u) => ({ ...blankUser(randomUUID(), directoryId, now), version: 1, ...u }))
  await store.transaction((tx) =>
    tx.writeBatch({
      directoryId,
      inserts: rows,
      updates: [],
      changes: rows.map((u) => ({ ...ctx, userId: u.id, action: 'create' as const, at: now, changes: { email: [null, u.email] } })),
    }),
  )
  return rows
}

/** The change-sets of a directory's history as stored (JSON text on SQLite, parsed on PostgreSQL), oldest first. */
async function storedChangeSets(store: Store, directoryId: string): Promise<unknown[]> {
  if (store instanceof SqliteStore)
    return store.raw
      .prepare('SELECT changes FROM changes WHERE directory_id = ? ORDER BY seq')
      .pluck()
      .all(directoryId)
      .map((t) => JSON.parse(t as string))
  const r = await (store as PostgresStore).pool.query('SELECT changes FROM changes WHERE directory_id = $1 ORDER BY seq', [directoryId])
  return r.rows.map((x: { changes: unknown }) => x.changes)
}

describeEachEngine('Store contract: users, transactions, history', (engine) => {
  it('getUser and findUsers keep to the directory; findUsers matches every key, emails and usernames without case', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    await store.putField(dir.id, definitionOf({ key: 'code', type: 'string' }, null))
    const [a, b, c] = await insert(store, dir.id, [
      { email: 'Ann@X.io', externalId: 'ext-a' },
      { username: 'Bob', fields: { code: 'B1' } },
      { email: 'c@x.io', fields: { code: 7 } },
    ])
    const [theirs] = await insert(store, other.id, [{ email: 'ann@x.io', externalId: 'ext-a' }])
    expect(await store.getUser(dir.id, a.id)).toEqual(a)
    expect(await store.getUser(other.id, a.id)).toBeNull()
    expect(await store.getUser(dir.id, randomUUID())).toBeNull()
    const ids = (us: UserRecord[]) => us.map((u) => u.id).sort()
    expect(await store.findUsers(dir.id, {})).toEqual([])
    expect(ids(await store.findUsers(dir.id, { email: ['ANN@x.IO'] }))).toEqual([a.id])
    expect(ids(await store.findUsers(dir.id, { username: ['bob'] }))).toEqual([b.id])
    expect(ids(await store.findUsers(dir.id, { externalId: ['ext-a'] }))).toEqual([a.id])
    expect(ids(await store.findUsers(dir.id, { id: [c.id, theirs.id] }))).toEqual([c.id])
    expect(ids(await store.findUsers(dir.id, { fields: { code: ['B1', 7] } }))).toEqual([b.id, c.id].sort())
    // One user found by several keys comes back once.
    expect(
      ids(await store.findUsers(dir.id, { id: [a.id], email: ['ann@x.io'], externalId: ['ext-a'], fields: { code: ['B1'] } })),
    ).toEqual([a.id, b.id].sort())
    expect(await store.findUsers(dir.id, { id: [], email: [], fields: { code: [] } })).toEqual([])
  })

  it('findUsers finds the holder of every value when one key names more users than another, whichever key a user is found by', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const [a, b, c, d] = await insert(store, dir.id, [
      { email: 'a@x.io', externalId: 'ext-a', username: 'ua' },
      { email: 'b@x.io', externalId: 'ext-b' },
      { email: 'c@x.io' },
      { externalId: 'ext-d', username: 'ud' },
    ])
    const ids = (us: UserRecord[]) => us.map((u) => u.id).sort()
    // The key with the most values finds a, b and c; ext-a is theirs, ext-d and ud another's.
    expect(ids(await store.findUsers(dir.id, { email: ['a@x.io', 'B@x.io', 'c@x.io'], externalId: ['ext-a', 'ext-d'] }))).toEqual(
      ids([a, b, c, d]),
    )
    expect(ids(await store.findUsers(dir.id, { email: ['a@x.io', 'b@x.io', 'c@x.io'], username: ['UA', 'ud'] }))).toEqual(ids([a, b, c, d]))
    // The other way round: external ids name more users; an email held by none of them is looked up too.
    expect(ids(await store.findUsers(dir.id, { externalId: ['ext-a', 'ext-b', 'ext-d'], email: ['C@X.IO'] }))).toEqual(ids([a, b, c, d]))
    // Values nobody holds find nothing more.
    expect(ids(await store.findUsers(dir.id, { externalId: ['ext-a', 'ext-b', 'none'], email: ['none@x.io', 'a@x.io'] }))).toEqual(
      ids([a, b]),
    )
    const read = await store.transaction((tx) => tx.readUsers(dir.id, { email: ['a@x.io', 'b@x.io'], externalId: ['ext-d'] }))
    expect(ids(read)).toEqual(ids([a, b, d]))
  })

  it('listUsers pages in insertion order and filters by each key, custom field and time window', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await store.putField(dir.id, definitionOf({ key: 'dept', type: 'string' }, null))
    const users = await insert(store, dir.id, [
      {
        email: 'a@x.io',
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-05T00:00:00.000Z',
        fields: { dept: 'Sales', vip: true },
      },
      {
        email: 'b@x.io',
        username: 'Bee',
        createdAt: '2026-01-02T00:00:00.000Z',
        updatedAt: '2026-01-02T00:00:00.000Z',
        fields: { dept: 'Ops', vip: false },
      },
      {
        email: 'c@x.io',
        externalId: 'c',
        createdAt: '2026-01-03T00:00:00.000Z',
        updatedAt: '2026-01-03T00:00:00.000Z',
        fields: { dept: 'Sales', n: 3 },
      },
    ])
    await insert(store, (await freshDirectory(store)).id, [{ email: 'a@x.io' }])
    const p1 = await store.listUsers(dir.id, { limit: 2 })
    expect(p1.items).toEqual(users.slice(0, 2))
    expect(p1.nextSeq).toEqual(expect.any(Number))
    const p2 = await store.listUsers(dir.id, { limit: 2, afterSeq: p1.nextSeq as number })
    expect(p2).toEqual({ items: [users[2]], nextSeq: null })
    const emails = async (q: Parameters<Store['listUsers']>[1]) => (await store.listUsers(dir.id, q)).items.map((u) => u.email)
    expect(await emails({ limit: 10, email: 'B@X.IO' })).toEqual(['b@x.io'])
    expect(await emails({ limit: 10, username: 'bee' })).toEqual(['b@x.io'])
    expect(await emails({ limit: 10, externalId: 'c' })).toEqual(['c@x.io'])
    expect(await emails({ limit: 10, fields: { dept: 'Sales' } })).toEqual(['a@x.io', 'c@x.io'])
    expect(await emails({ limit: 10, fields: { vip: true } })).toEqual(['a@x.io'])
    expect(await emails({ limit: 10, fields: { n: 3 } })).toEqual(['c@x.io'])
    expect(await emails({ limit: 10, createdAfter: '2026-01-02T00:00:00.000Z' })).toEqual(['b@x.io', 'c@x.io'])
    expect(await emails({ limit: 10, createdBefore: '2026-01-02T00:00:00.000Z' })).toEqual(['a@x.io'])
    expect(await emails({ limit: 10, updatedAfter: '2026-01-03T00:00:00.000Z' })).toEqual(['a@x.io', 'c@x.io'])
    expect(await emails({ limit: 10, updatedBefore: '2026-01-03T00:00:00.000Z' })).toEqual(['b@x.io'])
    expect(await store.countUsers(dir.id)).toBe(3)
    expect(await store.countUsers(randomUUID())).toBe(0)
  })

  it('searchUsers filters, sorts and pages with the total; an unsupported comparison is a bad_request', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await insert(store, dir.id, [
      { email: 'b@x.io', loginCount: 3 },
      { email: 'A@x.io', loginCount: 1 },
      { email: 'c@x.io', loginCount: 2 },
      { email: null },
    ])
    const r = await store.searchUsers(dir.id, { sort: { by: [{ column: 'email' }] }, offset: 0, limit: 2 })
    expect(r.items.map((u) => u.email)).toEqual(['A@x.io', 'b@x.io'])
    expect(r.total).toBe(4)
    const last = await store.searchUsers(dir.id, { sort: { by: [{ column: 'email' }] }, offset: 2, limit: 5 })
    expect(last).toEqual({ items: [expect.objectContaining({ email: 'c@x.io' }), expect.objectContaining({ email: null })], total: 4 })
    const f = await store.searchUsers(dir.id, {
      filter: { op: 'ge', field: { column: 'loginCount' }, value: 2 },
      sort: { by: [{ column: 'loginCount' }], descending: true },
      offset: 0,
      limit: 10,
    })
    expect(f.items.map((u) => u.loginCount)).toEqual([3, 2])
    expect(f.total).toBe(2)
    expect((await store.searchUsers(randomUUID(), { offset: 0, limit: 10 })).total).toBe(0)
    const bad = store.searchUsers(dir.id, { filter: { op: 'co', field: { column: 'loginCount' }, value: '1' }, offset: 0, limit: 10 })
    await expect(bad).rejects.toBeInstanceOf(RollcallError)
    await expect(bad).rejects.toMatchObject({ code: 'bad_request', status: 400 })
    await expect(
      store.searchUsers(dir.id, { filter: { op: 'gt', field: { custom: 'on', kind: 'boolean' }, value: true }, offset: 0, limit: 1 }),
    ).rejects.toMatchObject({ code: 'bad_request' })
    await expect(
      store.searchUsers(dir.id, { filter: { op: 'eq', field: { column: 'email' }, value: 1 }, offset: 0, limit: 1 }),
    ).rejects.toMatchObject({ code: 'bad_request' })
  })

  it('a transaction commits everything or nothing and returns what its function returns', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    expect(await store.transaction(async () => 42)).toBe(42)
    const boom = store.transaction(async (tx) => {
      await tx.writeBatch({
        directoryId: dir.id,
        inserts: [{ ...blankUser(randomUUID(), dir.id, new Date().toISOString()), version: 1 }],
        updates: [],
        changes: [],
      })
      await tx.defineFields(dir.id, [definitionOf({ key: 'x', type: 'string' }, null)])
      throw new Error('boom')
    })
    await expect(boom).rejects.toThrow('boom')
    expect(await store.countUsers(dir.id)).toBe(0)
    expect(await store.listFields(dir.id)).toEqual([])
  })

  it('tx.lockUsers finds like findUsers; tx.idsTakenElsewhere names ids of other directories; tx.defineFields keeps existing keys', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const [a] = await insert(store, dir.id, [{ email: 'a@x.io' }])
    const [b] = await insert(store, other.id, [{ email: 'b@x.io' }])
    const kept = {
      ...definitionOf({ key: 'dept', label: 'Department', type: 'string' }, null),
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }
    await store.putField(dir.id, kept)
    const fresh = randomUUID()
    const out = await store.transaction(async (tx) => ({
      locked: await tx.lockUsers(dir.id, { email: ['A@X.IO'], id: [b.id] }),
      none: await tx.lockUsers(dir.id, {}),
      taken: await tx.idsTakenElsewhere(dir.id, [a.id, b.id, fresh]),
      empty: await tx.idsTakenElsewhere(dir.id, []),
      defined: await tx.defineFields(dir.id, [
        definitionOf({ key: 'dept', type: 'number' }, null),
        definitionOf({ key: 'level', type: 'number' }, null),
      ]),
    }))
    expect(out.locked).toEqual([a])
    expect(out.none).toEqual([])
    expect(out.taken).toEqual([b.id])
    expect(out.empty).toEqual([])
    const fields = await store.listFields(dir.id)
    expect(fields.map((f) => f.key)).toEqual(['dept', 'level'])
    expect(fields[0]).toEqual(kept)
    await store.transaction((tx) => tx.defineFields(dir.id, []))
  })

  it('writeBatch updates at the expected version, deletes with memberships, and writes history in order', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const [a, b] = await insert(store, dir.id, [{ email: 'a@x.io' }, { email: 'b@x.io' }])
    const g = await store.createGroup(dir.id, { kind: 'group', name: 'G', externalId: null })
    await store.addMembers(dir.id, g.id, [a.id, b.id])
    const at = '2026-06-01T00:00:00.000Z'
    const c = { ...blankUser(randomUUID(), dir.id, at), email: 'a@x.io', version: 1 }
    await store.transaction((tx) =>
      tx.writeBatch({
        directoryId: dir.id,
        // The new user takes the email the update frees: inserts run last.
        updates: [{ user: { ...a, email: 'a2@x.io', firstName: 'Ann', version: 2, updatedAt: at }, expectedVersion: 1 }],
        deletes: [{ userId: b.id, expectedVersion: 1 }],
        inserts: [c],
        changes: [
          { ...ctx, userId: a.id, action: 'update', at, changes: { email: ['a@x.io', 'a2@x.io'] } },
          { ...ctx, userId: b.id, action: 'delete', at, changes: { email: ['b@x.io', null] } },
          { ...ctx, userId: c.id, action: 'create', at, jobId: 'job-1', changes: { email: [null, 'a@x.io'] } },
        ],
      }),
    )
    expect(await store.getUser(dir.id, a.id)).toMatchObject({ email: 'a2@x.io', firstName: 'Ann', version: 2, updatedAt: at })
    expect(await store.getUser(dir.id, b.id)).toBeNull()
    expect(await store.getUser(dir.id, c.id)).toEqual(c)
    expect(await store.listMembers(dir.id, g.id)).toEqual([a.id])
    const gone = store.transaction((tx) =>
      tx.writeBatch({ directoryId: dir.id, inserts: [], updates: [], deletes: [{ userId: b.id, expectedVersion: 1 }], changes: [] }),
    )
    await expect(gone).rejects.toMatchObject({ name: 'WriteConflict', constraint: 'version' })
    const h = await store.listChanges(dir.id, { limit: 10 })
    expect(h.items.map((x) => [x.userId, x.action])).toEqual([
      [c.id, 'create'],
      [b.id, 'delete'],
      [a.id, 'update'],
      [b.id, 'create'],
      [a.id, 'create'],
    ])
    expect(h.items[0]).toEqual({
      seq: expect.any(Number),
      directoryId: dir.id,
      userId: c.id,
      action: 'create',
      at,
      channel: 'native',
      keyId: null,
      requestId: null,
      jobId: 'job-1',
      changes: { email: [null, 'a@x.io'] },
    })
  })

  it("a create's history is stored as its paths and values, and reads back as [before, after] pairs; other records keep their pairs", async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(store, dir, [{ email: 'c@x.io', firstName: 'Cy', active: false, metadata: { tier: 'gold', tags: ['a', 'b'] } }])
    const id = r.results[0].userId as string
    await bulk(store, dir, [{ email: 'c@x.io', firstName: 'Cyd' }], { mode: 'update', match: ['email'] })
    const at = new Date().toISOString()
    // A create whose befores are not a new user's (a revert that brings a user back, say) keeps the object form.
    const other = { ...blankUser(randomUUID(), dir.id, at), email: 'o@x.io', version: 1 }
    await store.transaction((tx) =>
      tx.writeBatch({
        directoryId: dir.id,
        inserts: [other],
        updates: [],
        changes: [{ ...ctx, userId: other.id, action: 'create', at, changes: { email: ['old@x.io', 'o@x.io'] } }],
      }),
    )
    expect(await storedChangeSets(store, dir.id)).toEqual([
      ['email', 'c@x.io', 'firstName', 'Cy', 'active', false, 'metadata.tier', 'gold', 'metadata.tags', ['a', 'b']],
      { firstName: ['Cy', 'Cyd'] },
      { email: ['old@x.io', 'o@x.io'] },
    ])
    const h = await store.listChanges(dir.id, { limit: 10 })
    expect(h.items.map((x) => x.changes)).toEqual([
      { email: ['old@x.io', 'o@x.io'] },
      { firstName: ['Cy', 'Cyd'] },
      // Before the create: null, and `active`'s default, true.
      {
        email: [null, 'c@x.io'],
        firstName: [null, 'Cy'],
        active: [true, false],
        'metadata.tier': [null, 'gold'],
        'metadata.tags': [null, ['a', 'b']],
      },
    ])
    const touching = async (field: string) => (await store.listChanges(dir.id, { limit: 10, field })).items.map((x) => [x.userId, x.action])
    expect(await touching('metadata.tags')).toEqual([[id, 'create']])
    expect(await touching('firstName')).toEqual([
      [id, 'update'],
      [id, 'create'],
    ])
    expect(await touching('email')).toEqual([
      [other.id, 'create'],
      [id, 'create'],
    ])
    // A value is not a path: 'gold' is what metadata.tier got, at an odd position of the array.
    expect(await touching('gold')).toEqual([])
    expect((await store.changeFeed(dir.id, null, 10)).items.map((x) => x.changes)).toEqual(h.items.map((x) => x.changes).reverse())
  })

  it('every column an update sets that an index of users reads is one the writer compares before setting it', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await store.putField(dir.id, definitionOf({ key: 'badge', type: 'string', unique: true }, null))
    await store.setUniqueFieldIndex(dir.id, 'badge', true)
    const defs: string[] =
      store instanceof SqliteStore
        ? store.raw
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL")
            .pluck()
            .all()
            .map(String)
        : (await (store as PostgresStore).pool.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'users'")).rows.map(
            (r: { indexdef: string }) => r.indexdef,
          )
    expect(defs.some((d) => d.includes('badge'))).toBe(true)
    const indexed = USER_SET_COLUMNS.filter((c) => defs.some((d) => new RegExp(`\\b${c.name}\\b`).test(d))).map((c) => c.name)
    expect(indexed.sort()).toEqual(INDEXED_SET_COLUMNS.map((i) => USER_SET_COLUMNS[i].name).sort())
  })

  it('an update writes every column that changed, indexed or not, and the indexes find users by their new values only', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await store.putField(dir.id, definitionOf({ key: 'badge', type: 'string', unique: true }, null))
    await store.setUniqueFieldIndex(dir.id, 'badge', true)
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    const made = await bulk(
      store,
      dir,
      names.map((n) => ({ email: `${n}@x.io`, externalId: `ext-${n}`, username: `user-${n}`, firstName: n, fields: { badge: `B-${n}` } })),
    )
    const ids = made.results.map((x) => x.userId as string)
    // One batch, each row changing other columns: each user's UPDATE sets a different set of them.
    const changes = [
      { firstName: 'Ann' },
      { externalId: 'ext-b2' },
      { username: 'user-c2', active: false },
      { fields: { badge: 'B-d2' } },
      { email: 'E2@x.io' },
      { metadata: { note: 'kept' }, username: 'USER-F' },
    ]
    const r = await bulk(
      store,
      dir,
      changes.map((c, i) => ({ id: ids[i], ...c })),
      { match: ['id'] },
    )
    expect(r.results.map((x) => [x.userId, x.status])).toEqual(ids.map((id) => [id, 'updated']))
    const users = await Promise.all(ids.map((id) => store.getUser(dir.id, id)))
    expect(users.map((u) => [u?.email, u?.externalId, u?.username, u?.active, u?.firstName, u?.fields.badge, u?.version])).toEqual([
      ['a@x.io', 'ext-a', 'user-a', true, 'Ann', 'B-a', 2],
      ['b@x.io', 'ext-b2', 'user-b', true, 'b', 'B-b', 2],
      ['c@x.io', 'ext-c', 'user-c2', false, 'c', 'B-c', 2],
      ['d@x.io', 'ext-d', 'user-d', true, 'd', 'B-d2', 2],
      ['E2@x.io', 'ext-e', 'user-e', true, 'e', 'B-e', 2],
      ['f@x.io', 'ext-f', 'USER-F', true, 'f', 'B-f', 2],
    ])
    expect(users.every((u) => u && u.updatedAt > u.createdAt)).toBe(true)
    const found = async (lookup: Parameters<Store['findUsers']>[1]) => (await store.findUsers(dir.id, lookup)).map((u) => u.id).sort()
    expect(await found({ externalId: ['ext-b2', 'ext-a'] })).toEqual([ids[1], ids[0]].sort())
    expect(await found({ externalId: ['ext-b'] })).toEqual([])
    expect(await found({ username: ['user-c2', 'user-f'] })).toEqual([ids[2], ids[5]].sort())
    expect(await found({ username: ['user-c'] })).toEqual([])
    expect(await found({ email: ['e2@x.io'] })).toEqual([ids[4]])
    expect(await found({ email: ['e@x.io'] })).toEqual([])
    expect(await found({ fields: { badge: ['B-d2'] } })).toEqual([ids[3]])
    expect(await found({ fields: { badge: ['B-d'] } })).toEqual([])
    const inactive = await store.listUsers(dir.id, { limit: 10, active: false })
    expect(inactive.items.map((u) => u.id)).toEqual([ids[2]])
  })

  it('listChanges filters by user, field path, job and action', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(store, dir, [{ email: 'a@x.io', metadata: { tier: 'gold' } }, { email: 'b@x.io' }])
    const [a, b] = r.results.map((x) => x.userId as string)
    await bulk(store, dir, [{ email: 'a@x.io', firstName: 'Ann' }], { mode: 'update', match: ['email'] })
    const users = async (q: Omit<Parameters<Store['listChanges']>[1], 'limit'>) =>
      (await store.listChanges(dir.id, { limit: 10, ...q })).items.map((x) => [x.userId, x.action])
    expect(await users({ userId: a })).toEqual([
      [a, 'update'],
      [a, 'create'],
    ])
    expect(await users({ userId: b })).toEqual([[b, 'create']])
    expect(await users({ field: 'firstName' })).toEqual([[a, 'update']])
    expect(await users({ field: 'metadata.tier' })).toEqual([[a, 'create']])
    expect(await users({ action: 'update' })).toEqual([[a, 'update']])
    expect(await users({ jobId: 'no-job' })).toEqual([])
    const [forJob] = await insert(store, dir.id, [{ email: 'j@x.io' }])
    await store.transaction((tx) =>
      tx.writeBatch({
        directoryId: dir.id,
        inserts: [],
        updates: [],
        changes: [{ ...ctx, jobId: 'job-7', userId: forJob.id, action: 'update', at: new Date().toISOString(), changes: {} }],
      }),
    )
    expect(await users({ jobId: 'job-7' })).toEqual([[forJob.id, 'update']])
  })
})
