import { expect, it } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'

/**
 * The vendor doors take as many users per request as the native sync endpoint
 * (ROLLCALL_BULK_MAX_ROWS) and bodies as large (ROLLCALL_BULK_MAX_BYTES): the configured values,
 * not constants of their own. Here a small configuration: 3 rows, 1 KB for ordinary bodies,
 * 64 KB for bulk bodies.
 */
describeEachEngine('vendor doors: batch limits come from the configuration', (engine) => {
  const h = useApp(engine, { bulkMaxRows: 3, bodyLimit: 1024, bulkMaxBytes: 64 * 1024 })
  const padding = 'x'.repeat(600)

  it('One of None: up to bulkMaxRows users (users[] and csv together) in a body over the ordinary limit; one more is a 400 {message}', async () => {
    const admin = await h.client()
    const dir = await makeDirectory(admin, { name: 'App' })
    const key = await admin.newKey(['write'], [dir.id])
    for (const email of ['a@x.io', 'b@x.io', 'c@x.io', 'd@x.io'])
      await admin.request('POST', `/api/v1/directories/${dir.id}/users`, { email })
    const batch = (body: unknown) =>
      h
        .app()
        .app.inject({ method: 'POST', url: '/oneofnone/v1/users/batch-update', headers: { 'x-api-key': key.key }, payload: body as object })

    const ok = await batch({
      users: [
        { email: 'a@x.io', metadata: { padding } },
        { email: 'b@x.io', metadata: { padding } },
      ],
      csv: 'email\nc@x.io',
    })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().count).toBe(3)
    const over = await batch({ users: [{ email: 'a@x.io' }, { email: 'b@x.io' }], csv: 'email\nc@x.io\nd@x.io' })
    expect(over.statusCode).toBe(400)
    expect(over.json()).toEqual({
      message: `At most 3 users per request (users[] and csv rows together), got 4; send larger inputs to the native imports: POST /api/v1/directories/${dir.id}/imports`,
    })
    // Bodies beyond the bulk byte limit are still refused, in the vendor's envelope.
    const huge = await batch({ users: [{ email: 'a@x.io', metadata: { padding: 'x'.repeat(70 * 1024) } }] })
    expect(huge.statusCode).toBe(413)
    expect(Object.keys(huge.json())).toEqual(['message'])
  })

  it('Dynamic: up to bulkMaxRows users in a body over the ordinary limit; one more is a 400 {error}', async () => {
    const c = await h.client()
    const env = (await makeDirectory(c, { name: 'Env' })).id
    const url = `/dynamic/api/v0/environments/${env}/users/bulk`
    const ok = await c.request(
      'POST',
      url,
      [1, 2, 3].map((i) => ({ email: `u${i}@x.io`, metadata: { padding } })),
    )
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json().created).toHaveLength(3)
    const over = await c.request(
      'POST',
      url,
      [1, 2, 3, 4].map((i) => ({ email: `v${i}@x.io` })),
    )
    expect(over.statusCode).toBe(400)
    expect(over.json()).toEqual({
      error: `At most 3 users per request, got 4; send larger inputs to the native imports: POST /api/v1/directories/${env}/imports`,
    })
  })

  it('Velt: up to bulkMaxRows users in add, update and delete, in a body over the ordinary limit; one more is 400 INVALID_ARGUMENT', async () => {
    const admin = await h.client()
    const { key, secret } = await h.app().services.keys.create(admin.tenantId, { name: 'velt', scopes: ['admin'] })
    const call = (path: string, data: unknown) =>
      h.app().app.inject({
        method: 'POST',
        url: `/velt${path}`,
        headers: { 'x-velt-api-key': key.id, 'x-velt-auth-token': secret },
        payload: { data } as object,
      })
    const users = ['a', 'b', 'c', 'd'].map((userId) => ({ userId, name: padding.slice(0, 250), plan: padding.slice(0, 250) }))
    const added = await call('/v1/users/add', { organizationId: 'org', users: users.slice(0, 3) })
    expect(added.statusCode, added.body).toBe(200)
    expect(Object.keys(added.json().result.data)).toEqual(['a', 'b', 'c'])
    const updated = await call('/v1/users/update', { organizationId: 'org', users: users.slice(0, 3) })
    expect(updated.statusCode, updated.body).toBe(200)
    const message = (what: string) =>
      `At most 3 users per request (${what}), got 4; send larger inputs to the native imports: POST /api/v1/directories/org/imports.`
    for (const [path, data, what] of [
      ['/v1/users/add', { organizationId: 'org', users }, 'data.users'],
      ['/v1/users/update', { organizationId: 'org', users }, 'data.users'],
      ['/v1/users/delete', { organizationId: 'org', userIds: ['a', 'b', 'c', 'd'] }, 'data.userIds'],
    ] as const) {
      const r = await call(path, data)
      expect(r.statusCode).toBe(400)
      expect(r.json()).toEqual({ error: { message: message(what), status: 'INVALID_ARGUMENT' } })
    }
    expect((await call('/v1/users/get', { organizationId: 'org' })).json().result.data).toHaveLength(3)
  })
})
