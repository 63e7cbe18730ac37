import { expect, it } from 'vitest'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

describeEachEngine('bulk engine', (engine) => {
  it('creates, then reports the same rows unchanged without writing', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const rows = [
      { email: 'ada@example.com', firstName: 'Ada', metadata: { tier: 'gold' } },
      { email: 'bob@example.com', firstName: 'Bob' },
    ]
    const first = await bulk(store, dir, rows)
    expect(first.summary).toEqual({ total: 2, created: 2, updated: 0, unchanged: 0, failed: 0 })
    expect(first.results.map((r) => r.status)).toEqual(['created', 'created'])
    const ada = await store.getUser(dir.id, first.results[0].userId as string)
    expect(ada).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', metadata: { tier: 'gold' }, version: 1 })

    const second = await bulk(store, dir, rows)
    expect(second.summary).toEqual({ total: 2, created: 0, updated: 0, unchanged: 2, failed: 0 })
    const again = await store.getUser(dir.id, ada!.id)
    expect(again).toEqual(ada)
    const history = await store.listChanges(dir.id, { userId: ada!.id, limit: 10 })
    expect(history.items).toHaveLength(1)
  })

  it('matches email case-insensitively and records which fields changed, from what to what', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const [c] = (await bulk(store, dir, [{ email: 'Ada@Example.com', firstName: 'Ada', phone: '+1 555 0100' }])).results
    const r = await bulk(store, dir, [{ email: 'ada@example.COM', firstName: 'Adaline', phone: '+1 555 0100' }], { mode: 'update' })
    expect(r.results[0]).toMatchObject({ status: 'updated', userId: c.userId, changedFields: ['email', 'firstName'] })
    const h = await store.listChanges(dir.id, { userId: c.userId as string, limit: 10 })
    expect(h.items[0]).toMatchObject({
      action: 'update',
      channel: 'native',
      requestId: 'req-1',
      changes: { email: ['Ada@Example.com', 'ada@example.COM'], firstName: ['Ada', 'Adaline'] },
    })
    expect(h.items[1].action).toBe('create')
    const byField = await store.listChanges(dir.id, { field: 'firstName', limit: 10 })
    expect(byField.items).toHaveLength(2)
    const byPhone = await store.listChanges(dir.id, { field: 'phone', limit: 10 })
    expect(byPhone.items.map((i) => i.action)).toEqual(['create'])
  })

  it('honours modes: create fails existing users, update fails missing ones', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'a@x.io' }])
    const created = await bulk(store, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }], { mode: 'create' })
    expect(created.results.map((r) => r.status)).toEqual(['failed', 'created'])
    expect(created.results[0].errors).toEqual([{ field: 'email', code: 'user_exists', message: expect.stringContaining('already exists') }])
    const updated = await bulk(
      store,
      dir,
      [
        { email: 'c@x.io', firstName: 'C' },
        { email: 'b@x.io', firstName: 'B' },
      ],
      { mode: 'update' },
    )
    expect(updated.results.map((r) => r.status)).toEqual(['failed', 'updated'])
    expect(updated.results[0].errors[0].code).toBe('user_not_found')
    expect(await store.countUsers(dir.id)).toBe(2)
  })

  it('matches on externalId and username, and rows without the match key fail precisely', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ externalId: 'E1', username: 'ada', email: 'ada@x.io' }])
    const byExt = await bulk(store, dir, [{ externalId: 'E1', lastName: 'Lovelace' }], { match: ['externalId'] })
    expect(byExt.summary.updated).toBe(1)
    const byName = await bulk(store, dir, [{ username: 'ADA', lastName: 'King' }], { match: ['username'], mode: 'update' })
    expect(byName.summary.updated).toBe(1)
    const none = await bulk(store, dir, [{ lastName: 'X' }], { match: ['externalId', 'email'] })
    expect(none.results[0].errors).toEqual([
      { field: 'externalId', code: 'missing_match_key', message: "the row has no 'externalId' or 'email' to match a user by" },
    ])
  })

  it('applies the same user twice in one input in order, results in input order', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(
      store,
      dir,
      [
        { email: 'dup@x.io', firstName: 'One', metadata: { a: 1 } },
        { email: 'other@x.io' },
        { email: 'dup@x.io', lastName: 'Two', metadata: { b: 2 } },
      ],
      { batchSize: 2 },
    )
    expect(r.results.map((x) => [x.index, x.status])).toEqual([
      [0, 'created'],
      [1, 'created'],
      [2, 'updated'],
    ])
    const u = await store.getUser(dir.id, r.results[0].userId as string)
    expect(u).toMatchObject({ firstName: 'One', lastName: 'Two', metadata: { a: 1, b: 2 }, version: 2 })
    // Both rows say that another row names the same user, across batches too.
    expect(r.results[0].warnings).toEqual([
      { field: 'email', code: 'duplicate_in_input', message: 'row 2 names the same user again and applies on top of this row' },
    ])
    expect(r.results[2].warnings).toEqual([
      { field: 'email', code: 'duplicate_in_input', message: 'row 0 names the same user; this row applies on top of it' },
    ])
    expect(r.results[1].warnings).toBeUndefined()
    const inOneBatch = await bulk(store, dir, [
      { email: 'x@x.io', firstName: 'A' },
      { email: 'X@x.io', firstName: 'B' },
    ])
    expect(inOneBatch.results.map((x) => x.status)).toEqual(['created', 'updated'])
    expect(inOneBatch.results.map((x) => x.warnings?.[0]?.code)).toEqual(['duplicate_in_input', 'duplicate_in_input'])
    expect((await store.getUser(dir.id, inOneBatch.results[0].userId as string))?.firstName).toBe('B')
  })

  it('merges metadata as JSON Merge Patch, or replaces it on request', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const [c] = (await bulk(store, dir, [{ email: 'm@x.io', metadata: { keep: 1, drop: 2, nested: { a: 1, b: 2 } } }])).results
    const merged = await bulk(store, dir, [{ email: 'm@x.io', metadata: { drop: null, nested: { b: null, c: 3 }, add: true } }])
    expect(merged.results[0].changedFields.sort()).toEqual(['metadata.add', 'metadata.drop', 'metadata.nested'])
    expect((await store.getUser(dir.id, c.userId as string))?.metadata).toEqual({ keep: 1, nested: { a: 1, c: 3 }, add: true })
    await bulk(store, dir, [{ email: 'm@x.io', metadata: { only: 'this' } }], { metadata: 'replace' })
    expect((await store.getUser(dir.id, c.userId as string))?.metadata).toEqual({ only: 'this' })
  })

  it('reports every error of a row, and a failed row writes nothing of itself', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(store, dir, [
      { email: 'not-an-email', country: 'ZZ', firstName: 'x'.repeat(256), shoeSize: 42, version: 3 },
      { email: 'ok@x.io' },
    ])
    expect(r.results[0].status).toBe('failed')
    expect(r.results[0].errors.map((e) => [e.field, e.code]).sort()).toEqual([
      ['country', 'invalid_value'],
      ['email', 'invalid_format'],
      ['firstName', 'too_long'],
      ['shoeSize', 'unknown_field'],
      ['version', 'read_only'],
    ])
    expect(r.results[1].status).toBe('created')
    expect(await store.countUsers(dir.id)).toBe(1)
  })

  it('refuses an email already used by another user', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const created = await bulk(store, dir, [
      { externalId: '1', email: 'a@x.io' },
      { externalId: '2', email: 'b@x.io' },
    ])
    const r = await bulk(store, dir, [{ externalId: '2', email: 'A@x.io' }], { match: ['externalId'] })
    expect(r.results[0]).toMatchObject({ status: 'failed', errors: [{ field: 'email', code: 'not_unique' }] })
    expect((await store.getUser(dir.id, created.results[1].userId as string))?.email).toBe('b@x.io')
  })

  it('atomic: one failing row and nothing at all is written', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'keep@x.io', firstName: 'Keep' }])
    const r = await bulk(store, dir, [{ email: 'keep@x.io', firstName: 'Changed' }, { email: 'new@x.io' }, { email: 'bad' }], {
      atomic: true,
      batchSize: 1,
    })
    expect(r.rolledBack).toBe(true)
    expect(r.summary).toEqual({ total: 3, created: 0, updated: 0, unchanged: 0, failed: 3 })
    expect(r.results[0].errors[0]).toMatchObject({ code: 'rolled_back' })
    expect(r.results[2].errors[0]).toMatchObject({ field: 'email', code: 'invalid_format' })
    expect(await store.countUsers(dir.id)).toBe(1)
    const page = await store.listUsers(dir.id, { limit: 10 })
    expect(page.items[0].firstName).toBe('Keep')
    expect((await store.listChanges(dir.id, { limit: 10 })).items).toHaveLength(1)
  })

  it('maxErrors stops the run after that many failures', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const r = await bulk(
      store,
      dir,
      [{ email: '1@x.io' }, { email: 'bad1' }, { email: '2@x.io' }, { email: 'bad2' }, { email: '3@x.io' }, { email: '4@x.io' }],
      {
        maxErrors: 2,
        batchSize: 2,
      },
    )
    expect(r.stopped).toBe(true)
    expect(r.results.map((x) => x.status)).toEqual(['created', 'failed', 'created', 'failed', 'failed', 'failed'])
    expect(r.results[4].errors[0].code).toBe('not_processed')
    expect(await store.countUsers(dir.id)).toBe(2)
  })

  it('dryRun returns the per-field plan and writes nothing', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'p@x.io', firstName: 'Old' }])
    const r = await bulk(
      store,
      dir,
      [
        { email: 'p@x.io', firstName: 'New' },
        { email: 'q@x.io', firstName: 'Q' },
        { email: 'q@x.io', lastName: 'R' },
      ],
      { dryRun: true },
    )
    expect(r.results.map((x) => x.status)).toEqual(['updated', 'created', 'updated'])
    expect(r.results[0].changes).toEqual({ firstName: ['Old', 'New'] })
    expect(r.results[1].changes).toEqual({ email: [null, 'q@x.io'], firstName: [null, 'Q'] })
    expect(await store.countUsers(dir.id)).toBe(1)
    expect((await store.listUsers(dir.id, { limit: 5 })).items[0].firstName).toBe('Old')
  })

  it('validates custom fields by their definitions and checks required ones on the result', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const now = new Date().toISOString()
    const def = {
      label: '',
      required: false,
      unique: false,
      maxLength: null,
      pattern: null,
      enumValues: null,
      builtIn: false,
      createdAt: now,
      updatedAt: now,
    }
    await store.putField(dir.id, { ...def, key: 'dept', label: 'Department', type: 'enum', enumValues: ['Sales', 'R&D'], required: true })
    await store.putField(dir.id, { ...def, key: 'score', label: 'Score', type: 'integer' })
    const r = await bulk(store, dir, [
      { email: 'a@x.io', fields: { dept: 'Sales', score: 3 } },
      { email: 'b@x.io', fields: { dept: 'Legal', score: 1.5 } },
      { email: 'c@x.io' },
    ])
    expect(r.results.map((x) => x.status)).toEqual(['created', 'failed', 'failed'])
    expect(r.results[1].errors.map((e) => [e.field, e.code])).toEqual([
      ['fields.dept', 'invalid_value'],
      ['fields.score', 'invalid_type'],
    ])
    expect(r.results[2].errors).toEqual([{ field: 'fields.dept', code: 'required', message: "'fields.dept' is required" }])
    const found = await store.listUsers(dir.id, { fields: { dept: 'Sales' }, limit: 10 })
    expect(found.items.map((u) => u.email)).toEqual(['a@x.io'])
    const byScore = await store.listUsers(dir.id, { fields: { score: 3 }, limit: 10 })
    expect(byScore.items).toHaveLength(1)
  })
  it('stores values with quotes, backslashes, braces, commas and the word NULL exactly as given, in users and history', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const awkward = [
      {
        email: 'q1@x.io',
        firstName: 'say "hi"',
        lastName: 'back\\slash \\" both',
        displayName: '{a,b}',
        metadata: { note: 'a "b" \\ {c}' },
      },
      { email: 'q2@x.io', firstName: 'NULL', lastName: 'null', displayName: ',', metadata: { k: 'NULL', '"': '\\' } },
      { email: 'q3@x.io', firstName: 'Zoë 😀', lastName: "O'Brien", displayName: ' lead and trail ', metadata: {} },
    ]
    const r = await bulk(store, dir, awkward)
    expect(r.summary.created).toBe(3)
    for (const [i, row] of awkward.entries()) {
      const u = await store.getUser(dir.id, r.results[i].userId as string)
      expect(u).toMatchObject(row)
      const [change] = (await store.listChanges(dir.id, { userId: u!.id, limit: 5 })).items
      expect(change.changes).toMatchObject({
        firstName: [null, row.firstName],
        lastName: [null, row.lastName],
        displayName: [null, row.displayName],
      })
    }
    // Updated the same way (an update writes through its own statement).
    const again = await bulk(
      store,
      dir,
      awkward.map((row) => ({ ...row, firstName: `${row.firstName} \\"again"` })),
    )
    expect(again.summary.updated).toBe(3)
    expect((await store.getUser(dir.id, r.results[0].userId as string))?.firstName).toBe('say "hi" \\"again"')
    for (const [i, row] of awkward.entries()) {
      const u = await store.getUser(dir.id, r.results[i].userId as string)
      expect(u).toMatchObject({ ...row, firstName: `${row.firstName} \\"again"` })
      const [change] = (await store.listChanges(dir.id, { userId: u!.id, limit: 5 })).items
      expect(change.changes).toEqual({ firstName: [row.firstName, `${row.firstName} \\"again"`] })
    }
  })
})
