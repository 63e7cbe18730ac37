import type { InjectOptions } from 'fastify'
import { expect, it } from 'vitest'
import { expectProblem, ok } from './helpers/answers.js'
import { type Client, useApp } from './helpers/app.js'
import { type Directory, makeDirectory } from './helpers/directories.js'
import { describeEachEngine } from './helpers/engines.js'
import { waitForJob } from './helpers/jobs.js'

/**
 * Tenancy and authorisation through the HTTP API: a key of one tenant cannot see or touch
 * anything of another, a directory-limited key sees only its directories, scopes hold, and
 * every /api/v1 route needs a valid key.
 */

type Method = NonNullable<InjectOptions['method']>

interface ApiKey {
  id: string
  name: string
  scopes: string[]
  directories: string[] | null
  revokedAt: string | null
  lastUsedAt: string | null
}

/** Every key of the tenant, without `lastUsedAt`, which legitimately moves when a key is used. */
async function keysOf(c: Client): Promise<Omit<ApiKey, 'lastUsedAt'>[]> {
  const keys = (await ok(c.request('GET', '/api/v1/keys'))).json().data as ApiKey[]
  return keys.map(({ lastUsedAt: _l, ...k }) => k)
}

/** Everything a tenant can read about one directory and one user (and a group), to compare before and after. */
async function stateOf(c: Client, dirId: string, userId: string, groupId?: string) {
  const d = `/api/v1/directories/${dirId}`
  const get = async (url: string) => (await ok(c.request('GET', url))).json() as unknown
  return {
    directories: await get('/api/v1/directories'),
    directory: await get(d),
    schema: await get(`${d}/schema`),
    users: await get(`${d}/users`),
    user: await get(`${d}/users/${userId}`),
    fields: await get(`${d}/fields`),
    history: await get(`${d}/history`),
    userHistory: await get(`${d}/users/${userId}/history`),
    groups: await get(`${d}/groups`),
    group: groupId === undefined ? null : await get(`${d}/groups/${groupId}`),
    imports: await get(`${d}/imports`),
    // What A registered (its deliveries' state moves on by itself: the receiver does not answer).
    webhooks: ((await get(`${d}/webhooks`)) as { data: Record<string, unknown>[] }).data.map(
      ({ id, url, events, batchSize, createdAt }) => ({
        id,
        url,
        events,
        batchSize,
        createdAt,
      }),
    ),
    keys: await keysOf(c),
  }
}

/** Tenant A: a directory with an externalId, a custom field, a user with two history records, a group with the user in it. */
async function seedTenantA(h: ReturnType<typeof useApp>) {
  const a = await h.client()
  const dir = await makeDirectory(a, { name: 'A private', externalId: 'a-private' })
  await ok(a.request('POST', `/api/v1/directories/${dir.id}/fields`, { key: 'dept', type: 'string', label: 'Department' }), 201)
  const userBody = {
    email: 'ada@tenant-a.io',
    firstName: 'Ada',
    externalId: 'a-user-1',
    fields: { dept: 'R&D' },
    metadata: { tier: 'gold' },
  }
  const created = await ok(
    a.request('POST', `/api/v1/directories/${dir.id}/users`, userBody, { 'idempotency-key': 'shared-idem-key' }),
    201,
  )
  const user = created.json() as { id: string }
  await ok(a.request('PATCH', `/api/v1/directories/${dir.id}/users/${user.id}`, { lastName: 'Lovelace' }))
  const group = (await ok(a.request('POST', `/api/v1/directories/${dir.id}/groups`, { name: 'Team A' }), 201)).json() as { id: string }
  await ok(a.request('POST', `/api/v1/directories/${dir.id}/groups/${group.id}/members`, { userIds: [user.id] }))
  const keys = (await ok(a.request('GET', '/api/v1/keys'))).json().data as ApiKey[]
  expect(keys).toHaveLength(1)
  const upload = await ok(
    a.request('POST', `/api/v1/directories/${dir.id}/imports`, 'email\nada@tenant-a.io\nbad\n', { 'content-type': 'text/csv' }),
    202,
  )
  const importId = (upload.json() as { id: string }).id
  await waitForJob(a, importId)
  const webhookId = (
    await ok(a.request('POST', `/api/v1/directories/${dir.id}/webhooks`, { url: 'http://127.0.0.1:9/a-hook' }), 201)
  ).json().id as string
  return { a, dir, user, group, userBody, keyId: keys[0].id, importId, webhookId }
}

/** The /api/v1 routes as the OpenAPI document lists them: `METHOD /api/v1/path/{param}`. */
async function apiRoutes(h: ReturnType<typeof useApp>): Promise<string[]> {
  const res = await h.app().app.inject({ method: 'GET', url: '/openapi.json' })
  expect(res.statusCode).toBe(200)
  const doc = res.json() as { paths: Record<string, Record<string, unknown>> }
  const out: string[] = []
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/v1/')) continue
    for (const m of Object.keys(ops)) if (['get', 'post', 'put', 'patch', 'delete'].includes(m)) out.push(`${m.toUpperCase()} ${path}`)
  }
  return out.sort()
}

describeEachEngine('API isolation between tenants and keys', (engine) => {
  // The seeded webhook points at 127.0.0.1:9 (nothing listens): a loopback target, allowed explicitly.
  const h = useApp(engine, { webhookAllowPrivate: true })

  it('a key of one tenant gets 404 for everything of another tenant, through every route, and nothing of A changes', async () => {
    const { a, dir, user, group, userBody, keyId, importId, webhookId } = await seedTenantA(h)
    const before = await stateOf(a, dir.id, user.id, group.id)
    expect((before.history as { data: unknown[] }).data).toHaveLength(2)
    expect((before.group as { members: string[] }).members).toEqual([user.id])

    const b = await h.client()
    const bDir = await makeDirectory(b, { name: 'B own' })
    const bKeysBefore = await keysOf(b)

    // Each call names something of A; `template` is the route as the OpenAPI document names it.
    type Call = { template: string; method: Method; url: string; body?: unknown; code: string }
    const calls: Call[] = []
    for (const ref of [dir.id, 'a-private']) {
      const d = `/api/v1/directories/${encodeURIComponent(ref)}`
      const u = `${d}/users/${user.id}`
      const T = '/api/v1/directories/{dir}'
      const code = 'directory_not_found'
      calls.push(
        { template: `GET ${T}`, method: 'GET', url: d, code },
        { template: `PATCH ${T}`, method: 'PATCH', url: d, body: { name: 'Taken over' }, code },
        { template: `GET ${T}/schema`, method: 'GET', url: `${d}/schema`, code },
        { template: `GET ${T}/stats`, method: 'GET', url: `${d}/stats`, code },
        { template: `GET ${T}/users`, method: 'GET', url: `${d}/users`, code },
        { template: `GET ${T}/users`, method: 'GET', url: `${d}/users?email=${encodeURIComponent(userBody.email)}`, code },
        { template: `POST ${T}/users`, method: 'POST', url: `${d}/users`, body: { email: 'mallory@tenant-b.io' }, code },
        { template: `GET ${T}/users/{id}`, method: 'GET', url: u, code },
        { template: `GET ${T}/users/{id}/groups`, method: 'GET', url: `${u}/groups`, code },
        { template: `PATCH ${T}/users/{id}`, method: 'PATCH', url: u, body: { firstName: 'Mallory' }, code },
        { template: `DELETE ${T}/users/{id}`, method: 'DELETE', url: u, code },
        {
          template: `POST ${T}/users/bulk`,
          method: 'POST',
          url: `${d}/users/bulk`,
          body: { rows: [{ email: userBody.email, firstName: 'Mallory' }, { email: 'new@tenant-b.io' }] },
          code,
        },
        { template: `GET ${T}/users/{id}/history`, method: 'GET', url: `${u}/history`, code },
        { template: `GET ${T}/history`, method: 'GET', url: `${d}/history`, code },
        { template: `GET ${T}/changes`, method: 'GET', url: `${d}/changes`, code },
        { template: `GET ${T}/fields`, method: 'GET', url: `${d}/fields`, code },
        { template: `POST ${T}/fields`, method: 'POST', url: `${d}/fields`, body: { key: 'planted', type: 'string' }, code },
        { template: `PATCH ${T}/fields/{key}`, method: 'PATCH', url: `${d}/fields/dept`, body: { label: 'Taken over' }, code },
        { template: `DELETE ${T}/fields/{key}`, method: 'DELETE', url: `${d}/fields/dept`, code },
        { template: `GET ${T}/groups`, method: 'GET', url: `${d}/groups`, code },
        { template: `POST ${T}/groups`, method: 'POST', url: `${d}/groups`, body: { name: 'Planted' }, code },
        { template: `GET ${T}/groups/{id}`, method: 'GET', url: `${d}/groups/${group.id}`, code },
        { template: `PATCH ${T}/groups/{id}`, method: 'PATCH', url: `${d}/groups/${group.id}`, body: { name: 'Taken over' }, code },
        {
          template: `POST ${T}/groups/{id}/members`,
          method: 'POST',
          url: `${d}/groups/${group.id}/members`,
          body: { userIds: [user.id] },
          code,
        },
        { template: `DELETE ${T}/groups/{id}/members/{userId}`, method: 'DELETE', url: `${d}/groups/${group.id}/members/${user.id}`, code },
        { template: `DELETE ${T}/groups/{id}`, method: 'DELETE', url: `${d}/groups/${group.id}`, code },
        { template: `GET ${T}/imports`, method: 'GET', url: `${d}/imports`, code },
        { template: `GET ${T}/export`, method: 'GET', url: `${d}/export`, code },
        { template: `POST ${T}/export/link`, method: 'POST', url: `${d}/export/link`, code },
        { template: `GET ${T}/webhooks`, method: 'GET', url: `${d}/webhooks`, code },
        { template: `POST ${T}/webhooks`, method: 'POST', url: `${d}/webhooks`, body: { url: 'http://127.0.0.1:9/planted' }, code },
        { template: `GET ${T}/webhooks/{id}`, method: 'GET', url: `${d}/webhooks/${webhookId}`, code },
        { template: `GET ${T}/webhooks/{id}/dead-letters`, method: 'GET', url: `${d}/webhooks/${webhookId}/dead-letters`, code },
        {
          template: `POST ${T}/webhooks/{id}/dead-letters/{letter}/replay`,
          method: 'POST',
          url: `${d}/webhooks/${webhookId}/dead-letters/00000000-0000-4000-8000-000000000000/replay`,
          code,
        },
        { template: `DELETE ${T}/webhooks/{id}`, method: 'DELETE', url: `${d}/webhooks/${webhookId}`, code },
        { template: `POST ${T}/imports`, method: 'POST', url: `${d}/imports`, body: [{ email: 'planted@tenant-b.io' }], code },
        { template: `DELETE ${T}`, method: 'DELETE', url: d, code },
      )
    }
    // A's import, by id: as if it did not exist.
    for (const path of ['', '/results', '/failed.csv', '/events'])
      calls.push({
        template: `GET /api/v1/imports/{id}${path}`,
        method: 'GET',
        url: `/api/v1/imports/${importId}${path}`,
        code: 'not_found',
      })
    for (const action of ['cancel', 'revert', 'apply', 'confirm'])
      calls.push({
        template: `POST /api/v1/imports/{id}/${action}`,
        method: 'POST',
        url: `/api/v1/imports/${importId}/${action}`,
        code: 'not_found',
      })
    calls.push({
      template: 'GET /api/v1/imports/{id}/conflicts',
      method: 'GET',
      url: `/api/v1/imports/${importId}/conflicts`,
      code: 'not_found',
    })
    // A's user reached through B's own directory: no such user there.
    const bu = `/api/v1/directories/${bDir.id}/users/${user.id}`
    calls.push(
      { template: 'GET /api/v1/directories/{dir}/users/{id}', method: 'GET', url: bu, code: 'user_not_found' },
      {
        template: 'PATCH /api/v1/directories/{dir}/users/{id}',
        method: 'PATCH',
        url: bu,
        body: { firstName: 'Mallory' },
        code: 'user_not_found',
      },
      { template: 'DELETE /api/v1/directories/{dir}/users/{id}', method: 'DELETE', url: bu, code: 'user_not_found' },
      // A's group through B's own directory: no such group there.
      {
        template: 'GET /api/v1/directories/{dir}/groups/{id}',
        method: 'GET',
        url: `/api/v1/directories/${bDir.id}/groups/${group.id}`,
        code: 'not_found',
      },
      {
        template: 'PATCH /api/v1/directories/{dir}/groups/{id}',
        method: 'PATCH',
        url: `/api/v1/directories/${bDir.id}/groups/${group.id}`,
        body: { name: 'Taken over' },
        code: 'not_found',
      },
      {
        template: 'POST /api/v1/directories/{dir}/groups/{id}/members',
        method: 'POST',
        url: `/api/v1/directories/${bDir.id}/groups/${group.id}/members`,
        body: { userIds: [user.id] },
        code: 'not_found',
      },
      {
        template: 'DELETE /api/v1/directories/{dir}/groups/{id}/members/{userId}',
        method: 'DELETE',
        url: `/api/v1/directories/${bDir.id}/groups/${group.id}/members/${user.id}`,
        code: 'not_found',
      },
      {
        template: 'DELETE /api/v1/directories/{dir}/groups/{id}',
        method: 'DELETE',
        url: `/api/v1/directories/${bDir.id}/groups/${group.id}`,
        code: 'not_found',
      },
      { template: 'DELETE /api/v1/keys/{id}', method: 'DELETE', url: `/api/v1/keys/${keyId}`, code: 'key_not_found' },
      {
        template: 'POST /api/v1/keys',
        method: 'POST',
        url: '/api/v1/keys',
        body: { name: 'into A', scopes: ['read'], directories: [dir.id] },
        code: 'directory_not_found',
      },
      {
        template: 'POST /api/v1/keys',
        method: 'POST',
        url: '/api/v1/keys',
        body: { name: 'into A', scopes: ['read'], directories: ['a-private'] },
        code: 'directory_not_found',
      },
    )

    // Every route of the API that takes a path parameter is in the list above.
    const withParams = (await apiRoutes(h)).filter((r) => r.includes('{'))
    const covered = new Set(calls.map((c) => c.template))
    expect(
      withParams.filter((r) => !covered.has(r)),
      'routes with a path parameter that this test does not call',
    ).toEqual([])

    // The exact request A made, sent by B with A's Idempotency-Key: a 404, not a replay of A's user.
    const replay = await b.request('POST', `/api/v1/directories/${dir.id}/users`, userBody, { 'idempotency-key': 'shared-idem-key' })
    expectProblem(replay, 404, 'directory_not_found', 'replay of A request by B')
    expect(replay.headers['idempotent-replayed']).toBeUndefined()

    for (const [i, c] of calls.entries()) {
      const headers: Record<string, string> = c.method === 'GET' ? {} : { 'idempotency-key': `b-call-${i}` }
      const res = await b.request(c.method, c.url, c.body, headers)
      const problem = expectProblem(res, 404, c.code, `${c.method} ${c.url}`)
      expect(res.headers['idempotent-replayed'], `${c.method} ${c.url}`).toBeUndefined()
      // Nothing of A in the answer.
      expect(JSON.stringify(problem), `${c.method} ${c.url}`).not.toContain(userBody.email)
      expect(JSON.stringify(problem), `${c.method} ${c.url}`).not.toContain('A private')
    }
    // A's user through bulk in B's directory by id: a per-row miss, not A's user.
    const bulkById = await ok(
      b.request('POST', `/api/v1/directories/${bDir.id}/users/bulk`, {
        rows: [{ id: user.id, firstName: 'Mallory' }],
        mode: 'update',
        match: 'id',
      }),
    )
    expect(bulkById.json().results[0]).toMatchObject({ status: 'failed', errors: [{ field: 'id', code: 'user_not_found' }] })
    // A's user added to a group of B's: refused as unknown in B's directory.
    const bGroup = (await ok(b.request('POST', `/api/v1/directories/${bDir.id}/groups`, { name: 'Team B' }), 201)).json() as { id: string }
    const addA = await b.request('POST', `/api/v1/directories/${bDir.id}/groups/${bGroup.id}/members`, { userIds: [user.id] })
    expect(addA.statusCode, addA.body).toBeGreaterThanOrEqual(400)
    expect(addA.statusCode, addA.body).toBeLessThan(500)
    expect((await ok(b.request('GET', `/api/v1/directories/${bDir.id}/groups/${bGroup.id}`))).json().members).toEqual([])
    // A's user id as a history filter in B's directory: nothing.
    const bHist = await b.request('GET', `/api/v1/directories/${bDir.id}/users/${user.id}/history`)
    if (bHist.statusCode === 200) expect(bHist.json().data).toEqual([])
    else expectProblem(bHist, 404, 'user_not_found', 'A user history via B directory')
    expect((await ok(b.request('GET', `/api/v1/directories/${bDir.id}/history?userId=${user.id}`))).json().data).toEqual([])
    // A change feed cursor of A's directory, in B's: it names no record there, and nothing of A comes back.
    const aCursor = (await ok(a.request('GET', `/api/v1/directories/${dir.id}/changes`))).json().nextCursor
    expect(aCursor).toEqual(expect.any(String))
    expectProblem(await b.request('GET', `/api/v1/directories/${bDir.id}/changes?after=${aCursor}`), 410, 'cursor_expired', 'A cursor in B')

    // B lists only its own directory, and gained no key.
    const bList = (await ok(b.request('GET', '/api/v1/directories'))).json().data as Directory[]
    expect(bList.map((x) => x.id)).toEqual([bDir.id])
    expect(await keysOf(b)).toEqual(bKeysBefore)

    // Nothing of A changed: directory, schema, users, fields, history, keys; A's key still works.
    const after = await stateOf(a, dir.id, user.id, group.id)
    expect(after).toEqual(before)
    expect((after.keys as ApiKey[])[0].revokedAt).toBeNull()
  })

  it("GET /api/v1/directories with another tenant's key does not list the directory, and the same externalId in two tenants stays apart", async () => {
    const { a, dir } = await seedTenantA(h)
    const b = await h.client()
    expect((await ok(b.request('GET', '/api/v1/directories'))).json().data).toEqual([])
    // B may use the same externalId: externalIds are per tenant, and each sees its own.
    const bDir = await makeDirectory(b, { name: 'B same ext', externalId: 'a-private' })
    expect(bDir.id).not.toBe(dir.id)
    expect((await ok(b.request('GET', '/api/v1/directories/a-private'))).json().id).toBe(bDir.id)
    expect((await ok(a.request('GET', '/api/v1/directories/a-private'))).json().id).toBe(dir.id)
    expect((await ok(b.request('GET', '/api/v1/directories'))).json().data.map((x: Directory) => x.id)).toEqual([bDir.id])
    expect((await ok(b.request('GET', '/api/v1/directories/a-private/users'))).json().data).toEqual([])
  })

  it('a directory-limited key sees only its directory: others are 404, not 403', async () => {
    const root = await h.client()
    const d1 = await makeDirectory(root, { name: 'One', externalId: 'one' })
    const d2 = await makeDirectory(root, { name: 'Two', externalId: 'two' })
    const inTwo = (
      await ok(root.request('POST', `/api/v1/directories/${d2.id}/users`, { email: 'two@x.io', firstName: 'Two' }), 201)
    ).json() as { id: string }
    const w = await root.newKey(['write'], [d1.id])
    const twoBefore = await stateOf(root, d2.id, inTwo.id)

    const listed = (await ok(w.request('GET', '/api/v1/directories'))).json().data as Directory[]
    expect(listed.map((x) => x.id)).toEqual([d1.id])
    await ok(w.request('GET', `/api/v1/directories/${d1.id}`))
    await ok(w.request('GET', '/api/v1/directories/one'))
    await ok(w.request('POST', `/api/v1/directories/${d1.id}/users`, { email: 'one@x.io' }), 201)

    for (const ref of [d2.id, 'two']) {
      const d = `/api/v1/directories/${ref}`
      const probes: [Method, string, unknown?][] = [
        ['GET', d],
        ['GET', `${d}/schema`],
        ['GET', `${d}/users`],
        ['POST', `${d}/users`, { email: 'planted@x.io' }],
        ['GET', `${d}/users/${inTwo.id}`],
        ['PATCH', `${d}/users/${inTwo.id}`, { firstName: 'Planted' }],
        ['DELETE', `${d}/users/${inTwo.id}`],
        ['POST', `${d}/users/bulk`, { rows: [{ email: 'two@x.io', firstName: 'Planted' }] }],
        ['GET', `${d}/users/${inTwo.id}/history`],
        ['GET', `${d}/history`],
        ['GET', `${d}/fields`],
        ['GET', `${d}/groups`],
        ['POST', `${d}/groups`, { name: 'Planted' }],
      ]
      for (const [method, url, body] of probes)
        expectProblem(await w.request(method, url, body), 404, 'directory_not_found', `${method} ${url}`)
    }

    // Beyond its directories: no new directory, no key (write scope lacks admin: 403).
    expectProblem(await w.request('POST', '/api/v1/directories', { name: 'Three' }), 403, 'forbidden', 'write key creates a directory')
    expectProblem(
      await w.request('POST', '/api/v1/keys', { name: 'k', scopes: ['read'], directories: [d1.id] }),
      403,
      'forbidden',
      'write key creates a key',
    )

    expect(await stateOf(root, d2.id, inTwo.id)).toEqual(twoBefore)
    const dirs = (await ok(root.request('GET', '/api/v1/directories'))).json().data as Directory[]
    expect(dirs.map((x) => x.id).sort()).toEqual([d1.id, d2.id].sort())
  })

  it('a directory-limited admin key cannot create directories or keys beyond its directories', async () => {
    const root = await h.client()
    const d1 = await makeDirectory(root, { name: 'One' })
    const d2 = await makeDirectory(root, { name: 'Two', externalId: 'two' })
    const adm = await root.newKey(['admin'], [d1.id])
    const keysBefore = await keysOf(root)

    expectProblem(
      await adm.request('POST', '/api/v1/directories', { name: 'Three' }),
      403,
      'forbidden',
      'limited admin creates a directory',
    )
    expectProblem(
      await adm.request('POST', '/api/v1/keys', { name: 'everything', scopes: ['read'] }),
      403,
      'forbidden',
      'limited admin creates an unlimited key',
    )
    expectProblem(
      await adm.request('POST', '/api/v1/keys', { name: 'everything', scopes: ['read'], directories: null }),
      403,
      'forbidden',
      'limited admin creates an unlimited key (null)',
    )
    // A directory it cannot see is named as unknown (404), like every other directory it cannot see.
    for (const ref of [d2.id, 'two'])
      expectProblem(
        await adm.request('POST', '/api/v1/keys', { name: 'other', scopes: ['read'], directories: [ref] }),
        404,
        'directory_not_found',
        `limited admin creates a key for ${ref}`,
      )
    expectProblem(
      await adm.request('POST', '/api/v1/keys', { name: 'both', scopes: ['read'], directories: [d1.id, d2.id] }),
      404,
      'directory_not_found',
      'limited admin creates a key for both',
    )
    expect(await keysOf(root)).toEqual(keysBefore)

    // Within its directory it may.
    const made = (
      await ok(adm.request('POST', '/api/v1/keys', { name: 'mine', scopes: ['read'], directories: [d1.id] }), 201)
    ).json() as ApiKey
    expect(made.directories).toEqual([d1.id])
    const dirs = (await ok(root.request('GET', '/api/v1/directories'))).json().data as Directory[]
    expect(dirs.map((x) => x.id).sort()).toEqual([d1.id, d2.id].sort())
  })

  /** A tenant with directories One and Two, an admin key limited to One, and a write key limited to Two. */
  async function limitedAdminSetup() {
    const root = await h.client()
    const d1 = await makeDirectory(root, { name: 'One' })
    const d2 = await makeDirectory(root, { name: 'Two', externalId: 'two' })
    const adm = await root.newKey(['admin'], [d1.id])
    const other = (
      await ok(root.request('POST', '/api/v1/keys', { name: 'two-only', scopes: ['write'], directories: [d2.id] }), 201)
    ).json() as ApiKey & { secret: string }
    const rootKeyId = (await keysOf(root)).find((k) => k.name === 'admin' && k.directories === null)?.id as string
    expect(rootKeyId).toBeTruthy()
    return { root, d1, d2, adm, other, rootKeyId }
  }

  it('Idempotency-Key belongs to the API key: another key resending the same request with the same key gets a fresh answer, never the first one', async () => {
    const { root, d1, d2, adm } = await limitedAdminSetup()
    // The tenant admin makes an unlimited key; the answer holds its secret.
    const keyBody = { name: 'unlimited', scopes: ['admin'] }
    const made = await ok(root.request('POST', '/api/v1/keys', keyBody, { 'idempotency-key': 'idem-key-1' }), 201)
    const secret = (made.json() as { secret: string }).secret
    // The key limited to directory One resends it: refused as its own request would be, the secret not in it.
    const stolen = await adm.request('POST', '/api/v1/keys', keyBody, { 'idempotency-key': 'idem-key-1' })
    expectProblem(stolen, 403, 'forbidden', 'limited admin replays the admin key request')
    expect(stolen.body).not.toContain(secret)
    expect(stolen.headers['idempotent-replayed']).toBeUndefined()

    // A bulk write into directory Two by the admin, resent by the key limited to One: a 404, not Two's users.
    const bulk = { mode: 'upsert', match: 'email', rows: [{ email: 'secret-two@x.io', firstName: 'Hidden' }] }
    const first = await ok(root.request('POST', `/api/v1/directories/${d2.id}/users/bulk`, bulk, { 'idempotency-key': 'idem-bulk-1' }))
    const userId = (first.json() as { results: { userId: string }[] }).results[0].userId
    const replay = await adm.request('POST', `/api/v1/directories/${d2.id}/users/bulk`, bulk, { 'idempotency-key': 'idem-bulk-1' })
    expectProblem(replay, 404, 'directory_not_found', 'limited key replays a bulk answer of directory Two')
    expect(replay.body).not.toContain(userId)
    // In directory One, which both keys may write, the same request with the same Idempotency-Key
    // is a fresh request for the second key: processed (the user exists now), not a replay.
    const inOne = await ok(root.request('POST', `/api/v1/directories/${d1.id}/users/bulk`, bulk, { 'idempotency-key': 'idem-bulk-2' }))
    expect((inOne.json() as { results: { status: string }[] }).results[0].status).toBe('created')
    const own = await ok(adm.request('POST', `/api/v1/directories/${d1.id}/users/bulk`, bulk, { 'idempotency-key': 'idem-bulk-2' }))
    expect(own.headers['idempotent-replayed']).toBeUndefined()
    expect((own.json() as { results: { status: string }[] }).results[0].status).toBe('unchanged')
    // While the admin's own resend still replays its first answer.
    const again = await ok(root.request('POST', `/api/v1/directories/${d2.id}/users/bulk`, bulk, { 'idempotency-key': 'idem-bulk-1' }))
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.body).toBe(first.body)
  })

  it("a directory-limited admin key's key list does not reveal directories beyond its own", async () => {
    const { d1, d2, adm } = await limitedAdminSetup()
    const listed = await ok(adm.request('GET', '/api/v1/keys'))
    expect(listed.body).toContain(d1.id)
    expect(listed.body, 'GET /api/v1/keys by a key limited to directory One names directory Two').not.toContain(d2.id)
  })

  it('a directory-limited admin key cannot revoke the unlimited admin key or a key of another directory', async () => {
    const { root, d2, adm, other, rootKeyId } = await limitedAdminSetup()
    // Revoking the unlimited admin key, or a key of another directory, is refused.
    for (const [id, which] of [
      [other.id, 'the key limited to directory Two'],
      [rootKeyId, "the tenant's unlimited admin key"],
    ]) {
      const res = await adm.request('DELETE', `/api/v1/keys/${id}`)
      expect
        .soft([403, 404], `DELETE /api/v1/keys/<${which}> by an admin key limited to directory One answered ${res.statusCode}`)
        .toContain(res.statusCode)
    }
    await ok(root.request('GET', '/api/v1/keys'))
    await ok(root.request('GET', `/api/v1/directories/${d2.id}/users`, undefined, { authorization: `Bearer ${other.secret}` }))
    expect((await keysOf(root)).every((k) => k.revokedAt === null)).toBe(true)
  })

  it('a read-only key reads but cannot write (403 forbidden), and nothing is written', async () => {
    const root = await h.client()
    const d = await makeDirectory(root, { name: 'RO' })
    const u = (await ok(root.request('POST', `/api/v1/directories/${d.id}/users`, { email: 'ro@x.io', firstName: 'Ro' }), 201)).json() as {
      id: string
    }
    await ok(root.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'dept', type: 'string' }), 201)
    const before = await stateOf(root, d.id, u.id)
    const rootKeyId = before.keys[0].id

    const r = await root.newKey(['read'])
    await ok(r.request('GET', `/api/v1/directories/${d.id}/users/${u.id}`))
    await ok(r.request('GET', `/api/v1/directories/${d.id}/users`))
    const base = `/api/v1/directories/${d.id}`
    const writes: [Method, string, unknown?][] = [
      ['POST', '/api/v1/directories', { name: 'New' }],
      ['PATCH', base, { name: 'Renamed' }],
      ['DELETE', base],
      ['POST', `${base}/users`, { email: 'new@x.io' }],
      ['PATCH', `${base}/users/${u.id}`, { firstName: 'Changed' }],
      ['DELETE', `${base}/users/${u.id}`],
      ['POST', `${base}/users/bulk`, { rows: [{ email: 'ro@x.io', firstName: 'Changed' }, { email: 'new@x.io' }] }],
      ['POST', `${base}/fields`, { key: 'other', type: 'string' }],
      ['PATCH', `${base}/fields/dept`, { label: 'Changed' }],
      ['DELETE', `${base}/fields/dept`],
      ['POST', `${base}/groups`, { name: 'Readers' }],
      ['GET', '/api/v1/keys'],
      ['POST', '/api/v1/keys', { name: 'k', scopes: ['read'] }],
      ['DELETE', `/api/v1/keys/${rootKeyId}`],
    ]
    for (const [method, url, body] of writes)
      expectProblem(await r.request(method, url, body), 403, 'forbidden', `${method} ${url} with a read key`)
    // write scope: users and groups yes; directories, fields and keys no.
    const w = await root.newKey(['write'])
    for (const [method, url, body] of writes.filter(([, url]) => !url.includes('/users') && !url.includes('/groups'))) {
      expectProblem(await w.request(method, url, body), 403, 'forbidden', `${method} ${url} with a write key`)
    }
    const after = await stateOf(root, d.id, u.id)
    expect({ ...after, keys: after.keys.filter((k) => k.id === rootKeyId) }).toEqual({
      ...before,
      keys: before.keys.filter((k) => k.id === rootKeyId),
    })
  })

  it('a revoked key gets 401, at once', async () => {
    const root = await h.client()
    const d = await makeDirectory(root, { name: 'Rev' })
    const made = (await ok(root.request('POST', '/api/v1/keys', { name: 'temp', scopes: ['write'] }), 201)).json() as ApiKey & {
      secret: string
    }
    const auth = { authorization: `Bearer ${made.secret}` }
    await ok(root.request('GET', `/api/v1/directories/${d.id}/users`, undefined, auth))
    await ok(root.request('DELETE', `/api/v1/keys/${made.id}`), 204)
    expectProblem(await root.request('GET', `/api/v1/directories/${d.id}/users`, undefined, auth), 401, 'unauthorized', 'revoked key reads')
    expectProblem(
      await root.request('POST', `/api/v1/directories/${d.id}/users`, { email: 'late@x.io' }, auth),
      401,
      'unauthorized',
      'revoked key writes',
    )
    expectProblem(await root.request('GET', '/api/v1/directories', undefined, auth), 401, 'unauthorized', 'revoked key lists')
    expect((await ok(root.request('GET', `/api/v1/directories/${d.id}/users`))).json().data).toEqual([])
    const listed = (await keysOf(root)).find((k) => k.id === made.id)
    expect(listed?.revokedAt).toEqual(expect.any(String))
  })

  it('no key or a malformed Authorization header is a 401 on every /api/v1 route; health, readiness and the OpenAPI document need none', async () => {
    const root = await h.client()
    const d = await makeDirectory(root, { name: 'Auth', externalId: 'auth' })
    const u = (await ok(root.request('POST', `/api/v1/directories/${d.id}/users`, { email: 'auth@x.io' }), 201)).json() as { id: string }
    const before = await stateOf(root, d.id, u.id)

    const routes = await apiRoutes(h)
    expect(routes.length).toBeGreaterThanOrEqual(17)
    const fill = (path: string) =>
      path
        .replace('{dir}', d.id)
        .replace('{id}', path.includes('/keys/') ? before.keys[0].id : u.id)
        .replace('{key}', 'email')
        .replace('{userId}', u.id)
    const app = h.app().app
    const bad: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: root.key },
      { authorization: `Basic ${Buffer.from(`x:${root.key}`).toString('base64')}` },
      { authorization: `Bearer ${root.key} extra` },
      { authorization: `Bearer ${root.key}x` },
      { authorization: 'Bearer rc_unknown' },
      { 'x-api-key': root.key },
    ]
    for (const route of routes) {
      const [method, path] = route.split(' ') as [Method, string]
      for (const headers of bad) {
        const res = await app.inject({
          method,
          url: fill(path),
          headers: { ...headers },
          ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
        })
        expectProblem(res, 401, 'unauthorized', `${route} with ${JSON.stringify(headers)}`)
      }
    }
    expect(await stateOf(root, d.id, u.id)).toEqual(before)

    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
    }
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', database: engine.name })
    expect((await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths).toHaveProperty(['/api/v1/directories'])
  })

  it('a 401 tells the client how to authenticate (WWW-Authenticate: Bearer, RFC 9110 §11.6.1)', async () => {
    const app = h.app().app
    const res = await app.inject({ method: 'GET', url: '/api/v1/directories' })
    expectProblem(res, 401, 'unauthorized')
    expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/)
  })
})
