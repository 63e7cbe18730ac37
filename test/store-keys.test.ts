import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { MIGRATIONS } from '../src/store/migrations/index.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { describeEachEngine, type EngineHandle, ownPostgresDatabase } from './helpers/engines.js'

/** An empty database of the engine's, and a store over it that has not migrated yet. */
async function emptyStore(engine: EngineHandle): Promise<{ store: Store; drop: () => Promise<void> }> {
  if (engine.name === 'postgres') {
    const db = await ownPostgresDatabase('migrate')
    return { store: new PostgresStore({ connectionString: db.url, max: 2 }), drop: db.drop }
  }
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-migrate-'))
  return { store: new SqliteStore({ filename: join(dir, 'm.db') }), drop: async () => rmSync(dir, { recursive: true, force: true }) }
}

const newHash = () => randomUUID().replace(/-/g, '').padEnd(64, '0')

describeEachEngine('Store contract: engine, tenants, keys, idempotency', (engine) => {
  it('names its dialect and capabilities, answers ping, reclaims space without error', async () => {
    const store = engine.store()
    expect(store.dialect).toBe(engine.name)
    expect(store.capabilities).toEqual(
      engine.name === 'postgres'
        ? { multiProcess: true, skipLocked: true, concurrentTransactions: true }
        : { multiProcess: false, skipLocked: false, concurrentTransactions: false },
    )
    expect(await store.ping()).toBe(true)
    await expect(store.reclaimSpace()).resolves.toBeUndefined()
  })

  it('migrate applies every migration in order on an empty database, then none; close ends the connections', async () => {
    const { store, drop } = await emptyStore(engine)
    try {
      expect(await store.migrate()).toEqual(MIGRATIONS.map((m) => `${m.version}-${m.name}`))
      expect(await store.migrate()).toEqual([])
      expect(await store.ping()).toBe(true)
    } finally {
      await store.close()
      await drop()
    }
    expect(await store.ping()).toBe(false)
  })

  it('getTenant finds a tenant by id; an unknown id is null', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    expect(t).toEqual({ id: expect.any(String), name: t.name, createdAt: expect.stringMatching(/Z$/) })
    expect(await store.getTenant(t.id)).toEqual(t)
    expect(await store.getTenant(randomUUID())).toBeNull()
  })

  it('createKey returns the key as stored; listKeys lists a tenant’s keys oldest first, never another tenant’s', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    const hash = newHash()
    const a = await store.createKey({ tenantId: t.id, name: 'a', hash, scopes: ['read', 'write'], directories: ['d1', 'd2'] })
    expect(a).toEqual({
      id: expect.any(String),
      tenantId: t.id,
      name: 'a',
      scopes: ['read', 'write'],
      directories: ['d1', 'd2'],
      createdAt: expect.any(String),
      lastUsedAt: null,
      revokedAt: null,
    })
    expect(await store.findKeyByHash(hash)).toEqual({ ...a, hash })
    await new Promise((r) => setTimeout(r, 5))
    const b = await store.createKey({ tenantId: t.id, name: 'b', hash: newHash(), scopes: ['read'], directories: null })
    await store.createKey({ tenantId: other.id, name: 'c', hash: newHash(), scopes: ['read'], directories: null })
    expect(await store.listKeys(t.id)).toEqual([a, b])
    expect((await store.listKeys(other.id)).map((k) => k.name)).toEqual(['c'])
    expect(await store.listKeys(randomUUID())).toEqual([])
    expect(await store.findKeyByHash(newHash())).toBeNull()
  })

  it('revokeKey is scoped by tenant; touchKey records the last use', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const other = await store.ensureTenant(`t-${randomUUID()}`)
    const hash = newHash()
    const k = await store.createKey({ tenantId: t.id, name: 'k', hash, scopes: ['admin'], directories: null })
    const at = '2026-01-02T03:04:05.678Z'
    expect(await store.revokeKey(other.id, k.id, at)).toBe(false)
    expect((await store.findKeyByHash(hash))?.revokedAt).toBeNull()
    expect(await store.revokeKey(t.id, randomUUID(), at)).toBe(false)
    await store.touchKey(k.id, at)
    expect((await store.findKeyByHash(hash))?.lastUsedAt).toBe(at)
    expect(await store.revokeKey(t.id, k.id, at)).toBe(true)
    expect((await store.listKeys(t.id))[0]).toMatchObject({ revokedAt: at, lastUsedAt: at })
    await expect(store.touchKey(randomUUID(), at)).resolves.toBeUndefined()
  })

  it('idempotency: the claimed record is returned whole; complete and release of unknown keys do nothing', async () => {
    const store = engine.store()
    const t = await store.ensureTenant(`t-${randomUUID()}`)
    const k = await store.createKey({ tenantId: t.id, name: 'k', hash: newHash(), scopes: ['write'], directories: null })
    const createdAt = '2026-03-04T05:06:07.089Z'
    const rec = {
      apiKeyId: k.id,
      tenantId: t.id,
      key: 'idem',
      fingerprint: 'fp',
      state: 'pending' as const,
      status: null,
      contentType: null,
      headers: null,
      body: null,
      createdAt,
    }
    expect(await store.claimIdempotencyKey(rec)).toBeNull()
    expect(await store.claimIdempotencyKey(rec)).toEqual(rec)
    await store.completeIdempotencyKey(k.id, 'idem', {
      status: 200,
      contentType: 'text/plain',
      headers: { location: '/x', etag: 'W/"2"' },
      body: 'ok',
    })
    expect(await store.claimIdempotencyKey(rec)).toEqual({
      ...rec,
      state: 'done',
      status: 200,
      contentType: 'text/plain',
      headers: { location: '/x', etag: 'W/"2"' },
      body: 'ok',
    })
    await store.completeIdempotencyKey(k.id, 'other', { status: 500, contentType: 'text/plain', headers: {}, body: '' })
    await store.releaseIdempotencyKey(k.id, 'other')
    expect(await store.claimIdempotencyKey({ ...rec, key: 'other' })).toBeNull()
    expect(await store.claimIdempotencyKey(rec)).toMatchObject({ state: 'done' })
  })
})
