import { expect, it } from 'vitest'
import { isRollcallError, type RollcallError } from '../src/core/errors.js'
import type { ChangeContext, Directory } from '../src/core/types.js'
import { createServices } from '../src/jobs/services.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

/**
 * The generic services the vendor doors rely on: telling a forbidden directory from a missing one,
 * the custom fields a door needs, finding deletion records, and restoring a deleted user.
 */

const ctx: ChangeContext = { channel: 'returning', keyId: null, requestId: 'req-r', jobId: null }

async function failure(p: Promise<unknown>): Promise<RollcallError> {
  try {
    await p
  } catch (e) {
    if (isRollcallError(e)) return e
    throw e
  }
  throw new Error('expected a RollcallError')
}

describeEachEngine('engine services for doors', (engine) => {
  const services = () => createServices(engine.store(), { batchSize: 100, maxImportBytes: 1024 ** 3 })

  it("resolveForKey: 403 for a directory of the tenant the key may not use, 404 for one that does not exist or is another tenant's", async () => {
    const s = services()
    const a = await freshDirectory(engine.store(), 'A')
    const b = await engine.store().createDirectory(a.tenantId, { name: 'B', externalId: null })
    const stranger = await freshDirectory(engine.store(), 'S')
    const limited = { tenantId: a.tenantId, keyId: 'k', scopes: ['write' as const], directories: [a.id] }
    expect((await s.directories.resolveForKey(limited, a.id)).id).toBe(a.id)
    expect((await failure(s.directories.resolveForKey(limited, b.id))).code).toBe('forbidden')
    expect((await failure(s.directories.resolveForKey(limited, stranger.id))).code).toBe('directory_not_found')
    expect((await failure(s.directories.resolveForKey(limited, '00000000-0000-4000-8000-000000000000'))).code).toBe('directory_not_found')
  })

  it('needsFields: rows validate against them; they are defined with the first write, never by a run that writes nothing; fitting fields are reused, a clash is refused', async () => {
    const s = services()
    const dir = await freshDirectory(engine.store())
    await s.directories.createField(dir, { key: 'level', type: 'integer' })
    await s.directories.createField(dir, { key: 'tier', type: 'enum', enumValues: ['a', 'b', 'c'] })
    const needsFields = [
      { key: 'level', type: 'number' as const },
      { key: 'tier', type: 'enum' as const, enumValues: ['a', 'b'] },
      { key: 'team', type: 'string' as const, maxLength: 5 },
    ]
    const custom = async () => (await s.directories.fields(dir)).filter((f) => !f.builtIn).map((f) => [f.key, f.type])
    const before = await custom()
    expect(before).toEqual([
      ['level', 'integer'],
      ['tier', 'enum'],
    ])
    // The door's view holds the needed field before any write; nothing is stored by looking.
    expect((await s.directories.fields(dir, needsFields)).filter((f) => !f.builtIn).map((f) => f.key)).toEqual(['level', 'tier', 'team'])
    // Failed rows, a dry run and an atomic run that fails write nothing, the schema included.
    const bad = await s.users.bulk(dir, [{ data: { email: 'a@x.io', fields: { team: 'far too long' } } }], { needsFields }, ctx)
    expect(bad.results[0].errors).toEqual([expect.objectContaining({ field: 'fields.team', code: 'too_long' })])
    const dry = await s.users.bulk(dir, [{ data: { email: 'a@x.io', fields: { team: 'red' } } }], { needsFields, dryRun: true }, ctx)
    expect(dry.summary.created).toBe(1)
    const atomic = await s.users.bulk(
      dir,
      [{ data: { email: 'a@x.io', fields: { team: 'red' } } }, { data: { email: 'nope' } }],
      { needsFields, atomic: true },
      ctx,
    )
    expect(atomic.rolledBack).toBe(true)
    expect(await custom()).toEqual(before)
    // The first write defines the missing field; concurrent first writes both succeed.
    const [one, two] = await Promise.all([
      s.users.bulk(dir, [{ data: { email: 'b@x.io', fields: { team: 'red' } } }], { needsFields }, ctx),
      s.users.bulk(dir, [{ data: { email: 'c@x.io', fields: { team: 'blue' } } }], { needsFields }, ctx),
    ])
    expect([one.summary.created, two.summary.created]).toEqual([1, 1])
    expect(await custom()).toEqual([
      ['level', 'integer'],
      ['tier', 'enum'],
      ['team', 'string'],
    ])
    const team = (await s.directories.fields(dir)).find((f) => f.key === 'team')
    expect(team).toMatchObject({ type: 'string', maxLength: 5, required: false, unique: false, builtIn: false })
    // A field of the same key and another type is never overwritten: the request fails before any row.
    const clash = await failure(
      s.users.bulk(dir, [{ data: { email: 'd@x.io' } }], { needsFields: [{ key: 'tier', type: 'enum', enumValues: ['z'] }] }, ctx),
    )
    expect(clash.code).toBe('conflict')
    expect(clash.message).toBe("The directory's field 'tier' is of type 'enum' (a, b, c); this API needs 'enum' (z)")
    expect(
      (await failure(s.users.bulk(dir, [{ data: { email: 'd@x.io' } }], { needsFields: [{ key: 'email', type: 'number' }] }, ctx))).code,
    ).toBe('conflict')
    expect((await s.users.find(dir, { email: ['d@x.io'] })).length).toBe(0)
  })

  it('restore: re-creates a deleted user with its id and values from the newest deletion record', async () => {
    const s = services()
    const dir: Directory = await freshDirectory(engine.store())
    await s.directories.createField(dir, { key: 'vip', type: 'string' })
    const r = await bulk(engine.store(), dir, [
      { email: 'Jo@x.io', username: 'jo', firstName: 'Jo', metadata: { plan: 'pro' }, fields: { vip: 'Gold' } },
    ])
    const id = r.results[0].userId as string
    const before = await s.users.get(dir, id)
    await s.users.remove(dir, id, ctx)
    const deletions = await s.users.history(dir, { action: 'delete', limit: 10 })
    expect(deletions.items.map((x) => [x.userId, x.action])).toEqual([[id, 'delete']])
    expect((await s.users.history(dir, { action: 'create', limit: 10 })).items).toHaveLength(1)

    const back = await s.users.restore(dir, { email: 'jo@X.io' }, ctx)
    const { createdAt: _c, updatedAt: _u, version: _v, ...same } = before
    expect(back).toMatchObject(same)
    expect((await failure(s.users.restore(dir, { username: 'JO' }, ctx))).code).toBe('conflict')

    await s.users.patch(dir, id, { firstName: 'Joanna' }, ctx)
    await s.users.remove(dir, id, ctx)
    expect((await s.users.restore(dir, { id }, ctx)).firstName).toBe('Joanna')
    expect((await failure(s.users.restore(dir, { username: 'nobody' }, ctx))).code).toBe('user_not_found')
    expect((await failure(s.users.restore(dir, { id: 'not-a-uuid' }, ctx))).code).toBe('user_not_found')
    // A deleted user whose email someone else has taken since cannot come back over them.
    await s.users.remove(dir, id, ctx)
    await bulk(engine.store(), dir, [{ email: 'jo@x.io' }])
    expect((await failure(s.users.restore(dir, { username: 'jo' }, ctx))).code).toBe('user_exists')
  })
})
