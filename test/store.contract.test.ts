import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { blankUser } from '../src/core/user-patch.js'
import { createUserService } from '../src/engine/user-service.js'
import { WriteConflict } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

describeEachEngine('Store contract', (engine) => {
  it('migrations are versioned and idempotent, also when run concurrently', async () => {
    const store = engine.store()
    const again = await Promise.all([store.migrate(), store.migrate()])
    expect(again).toEqual([[], []])
  })

  it('tenants: ensureTenant is idempotent and scopes directories', async () => {
    const store = engine.store()
    const name = `t-${randomUUID()}`
    const a = await store.ensureTenant(name)
    expect(await store.ensureTenant(name)).toEqual(a)
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    const d = await store.createDirectory(a.id, { name: 'D', externalId: 'shared-ext' })
    const d2 = await store.createDirectory(other.id, { name: 'D', externalId: 'shared-ext' })
    expect(d2.number).not.toBe(d.number)
    expect(await store.getDirectory(a.id, 'shared-ext')).toEqual(d)
    expect(await store.getDirectory(other.id, d.id)).toBeNull()
    expect(await store.getDirectoryByNumber(a.id, d.number)).toEqual(d)
    expect(await store.getDirectoryByNumber(other.id, d.number)).toBeNull()
    expect((await store.listDirectories(a.id, null)).map((x) => x.id)).toEqual([d.id])
    expect(await store.listDirectories(a.id, [])).toEqual([])
  })

  it('keys: found by hash only, revoked once', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const hash = randomUUID().replace(/-/g, '').padEnd(64, '0')
    const k = await store.createKey({ tenantId: t.id, name: 'k', hash, scopes: ['read'], directories: null })
    expect(await store.findKeyByHash(hash)).toMatchObject({ id: k.id, scopes: ['read'], directories: null, revokedAt: null })
    expect(await store.revokeKey(t.id, k.id, new Date().toISOString())).toBe(true)
    expect(await store.revokeKey(t.id, k.id, new Date().toISOString())).toBe(false)
    expect((await store.findKeyByHash(hash))?.revokedAt).toEqual(expect.any(String))
  })

  it('writeBatch refuses a stale version and a taken email as WriteConflict, writing nothing', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(store, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }])
    const a = (await store.getUser(dir.id, r.results[0].userId as string))!
    const stale = store.transaction((tx) =>
      tx.writeBatch({
        directoryId: dir.id,
        inserts: [],
        updates: [{ user: { ...a, firstName: 'X', version: 5 }, expectedVersion: 4 }],
        changes: [],
      }),
    )
    await expect(stale).rejects.toBeInstanceOf(WriteConflict)
    const now = new Date().toISOString()
    const clash = store.transaction((tx) =>
      tx.writeBatch({
        directoryId: dir.id,
        inserts: [
          { ...blankUser(randomUUID(), dir.id, now), email: 'new@x.io', version: 1 },
          { ...blankUser(randomUUID(), dir.id, now), email: 'B@X.io', version: 1 },
        ],
        updates: [],
        changes: [],
      }),
    )
    await expect(clash).rejects.toMatchObject({ name: 'WriteConflict', constraint: 'email' })
    expect(await store.countUsers(dir.id)).toBe(2)
    expect((await store.getUser(dir.id, a.id))?.firstName).toBeNull()
  })

  it('users round-trip every field exactly, timestamps as ISO strings in UTC', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const row = {
      externalId: 'X-1',
      email: 'Full@Example.com',
      emailVerifiedAt: '2024-02-29T23:59:59.123Z',
      phone: '+44 20 7946 0958',
      username: 'full_user',
      firstName: 'Zoë',
      lastName: "O'Brien — 山田",
      displayName: '🚀 Zoë',
      avatarUrl: 'https://example.com/a.png',
      country: 'GB',
      locale: 'en-GB',
      lastLoginAt: '2025-01-01T00:00:00.000Z',
      metadata: { z: 1, a: { nested: [1, 'two', null, true] }, 'key with spaces': 'v' },
    }
    const r = await bulk(store, dir, [row])
    const u = (await store.getUser(dir.id, r.results[0].userId as string))!
    expect(u).toMatchObject(row)
    expect(Object.keys(u.metadata)).toEqual(['z', 'a', 'key with spaces'])
    expect(u.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('idempotency keys: claimed once per API key, then replayed; released keys can be claimed again', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const newKey = () =>
      store.createKey({
        tenantId: t.id,
        name: 'k',
        hash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
        scopes: ['write'],
        directories: null,
      })
    const [k1, k2] = [await newKey(), await newKey()]
    const rec = {
      apiKeyId: k1.id,
      tenantId: t.id,
      key: 'k1',
      fingerprint: 'f1',
      state: 'pending' as const,
      status: null,
      contentType: null,
      headers: null,
      body: null,
      createdAt: new Date().toISOString(),
    }
    expect(await store.claimIdempotencyKey(rec)).toBeNull()
    expect(await store.claimIdempotencyKey(rec)).toMatchObject({ state: 'pending', fingerprint: 'f1' })
    await store.completeIdempotencyKey(k1.id, 'k1', {
      status: 201,
      contentType: 'application/json',
      headers: { etag: 'W/"1"' },
      body: '{"ok":true}',
    })
    expect(await store.claimIdempotencyKey({ ...rec, fingerprint: 'f2' })).toMatchObject({
      state: 'done',
      status: 201,
      body: '{"ok":true}',
      fingerprint: 'f1',
    })
    // Another key of the same tenant with the same Idempotency-Key makes a fresh claim.
    expect(await store.claimIdempotencyKey({ ...rec, apiKeyId: k2.id })).toBeNull()
    await store.releaseIdempotencyKey(k1.id, 'k1')
    expect(await store.claimIdempotencyKey(rec)).toBeNull()
    expect(await store.claimIdempotencyKey({ ...rec, apiKeyId: k2.id })).toMatchObject({ state: 'pending', apiKeyId: k2.id })
  })

  it('groups: members only from the same directory, removed with the user', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const other = await freshDirectory(store)
    const mine = await bulk(store, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }])
    const theirs = await bulk(store, other, [{ email: 'c@x.io' }])
    const g = await store.createGroup(dir.id, { kind: 'group', name: 'Admins', externalId: null })
    await expect(store.createGroup(dir.id, { kind: 'group', name: 'Admins', externalId: null })).rejects.toMatchObject({
      name: 'UniqueViolation',
    })
    const [a, b] = mine.results.map((r) => r.userId as string)
    const added = await store.addMembers(dir.id, g.id, [a, b, theirs.results[0].userId as string])
    expect(added.sort()).toEqual([a, b].sort())
    expect(await store.addMembers(dir.id, g.id, [a])).toEqual([])
    expect(await store.addMembers(other.id, g.id, [theirs.results[0].userId as string])).toEqual([])
    expect((await store.groupsOfUser(dir.id, a)).map((x) => x.name)).toEqual(['Admins'])
    expect(await store.removeMembers(dir.id, g.id, [b])).toBe(1)
    expect(await store.listMembers(dir.id, g.id)).toEqual([a])
    expect(await store.listMembers(other.id, g.id)).toEqual([])
    await createUserService(store, { batchSize: 10 }).remove(dir, a, { channel: 'native', keyId: null, requestId: null, jobId: null })
    expect(await store.listMembers(dir.id, g.id)).toEqual([])
    expect(await store.deleteGroup(dir.id, g.id)).toBe(true)
    expect(await store.getGroup(dir.id, g.id)).toBeNull()
  })

  it('history pages newest first and filters by user, field and directory', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    for (let i = 0; i < 5; i++) await bulk(store, dir, [{ email: 'h@x.io', firstName: `v${i}` }])
    const p1 = await store.listChanges(dir.id, { limit: 2 })
    expect(p1.items.map((c) => c.changes.firstName?.[1])).toEqual(['v4', 'v3'])
    const p2 = await store.listChanges(dir.id, { limit: 10, beforeSeq: p1.nextSeq as number })
    expect(p2.items.map((c) => c.action)).toEqual(['update', 'update', 'create'])
    expect(p2.nextSeq).toBeNull()
    const other = await freshDirectory(store)
    expect((await store.listChanges(other.id, { limit: 10 })).items).toEqual([])
  })
})
