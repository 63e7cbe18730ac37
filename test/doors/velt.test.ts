import type { LightMyRequestResponse } from 'fastify'
import { expect, it } from 'vitest'
import type { Scope } from '../../src/core/types.js'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'

const HEX32 = /^[0-9a-f]{32}$/
const PROCESSED = 'User(s) processed successfully.'

/** The seed's three update requests, verbatim. */
const SEED_UPDATE = {
  organization: {
    data: { organizationId: 'yourOrganizationId', users: [{ userId: 'yourUserId1', name: 'User Name', email: 'user@email.com' }] },
  },
  document: {
    data: {
      organizationId: 'yourOrganizationId',
      documentId: 'yourDocumentId',
      users: [{ userId: 'yourUserId1', name: 'User Name', email: 'user@email.com' }],
    },
  },
  folder: {
    data: {
      organizationId: 'yourOrganizationId',
      folderId: 'yourFolderId',
      users: [{ userId: 'yourUserId1', name: 'User Name', email: 'user@email.com' }],
    },
  },
}

describeEachEngine('Velt door', (engine) => {
  const h = useApp(engine)

  /** A tenant with a Velt key: `x-velt-api-key` is the key id, `x-velt-auth-token` its secret. */
  async function setup(scopes: Scope[] = ['admin']) {
    const admin = await h.client()
    const { key, secret } = await h.app().services.keys.create(admin.tenantId, { name: 'velt', scopes })
    const auth = { 'x-velt-api-key': key.id, 'x-velt-auth-token': secret }
    const raw = (path: string, payload: unknown, headers: Record<string, string> = auth): Promise<LightMyRequestResponse> =>
      h.app().app.inject({ method: 'POST', url: `/velt${path}`, headers, payload: payload as object })
    const call = (path: string, data: unknown) => raw(path, { data })
    return { admin, keyId: key.id, secret, auth, raw, call }
  }
  type Setup = Awaited<ReturnType<typeof setup>>

  const expectError = (r: LightMyRequestResponse, http: number, status: string, message?: RegExp | string) => {
    expect(r.statusCode).toBe(http)
    expect(Object.keys(r.json())).toEqual(['error'])
    expect(Object.keys(r.json().error)).toEqual(['message', 'status'])
    expect(r.json().error.status).toBe(status)
    if (message !== undefined) expect(r.json().error.message).toMatch(message)
  }

  /** The seed's organization with yourUserId1 in it (added the way the seed's neighbour documents it). */
  async function seeded(t: Setup) {
    const r = await t.call('/v1/users/add', {
      organizationId: 'yourOrganizationId',
      users: [{ userId: 'yourUserId1', name: 'Old Name', email: 'old@email.com' }],
    })
    expect(r.statusCode).toBe(200)
    return r.json().result.data.yourUserId1.id as string
  }

  it('replays add-users example 1: the organization is created and the user added', async () => {
    const t = await setup()
    const r = await t.raw('/v1/users/add', {
      data: { organizationId: 'yourOrganizationId', users: [{ userId: 'yourUserId1', name: 'User Name', email: 'user@email.com' }] },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({
      result: {
        status: 'success',
        message: PROCESSED,
        data: { yourUserId1: { success: true, id: expect.stringMatching(HEX32), message: 'User added.' } },
      },
    })
  })

  it('replays the seed "Update users in a specific organization": Success Response, field by field', async () => {
    const t = await setup()
    const addedId = await seeded(t)
    const r = await t.raw('/v1/users/update', SEED_UPDATE.organization)
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({
      result: { status: 'success', message: PROCESSED, data: { yourUserId1: { success: true, id: addedId, message: 'User updated.' } } },
    })
    const got = (await t.call('/v1/users/get', { organizationId: 'yourOrganizationId' })).json()
    expect(got).toEqual({
      result: {
        status: 'success',
        message: 'User(s) retrieved successfully.',
        data: [{ email: 'user@email.com', name: 'User Name', userId: 'yourUserId1' }],
      },
    })
  })

  it("per-user entries keep the seed's key order {success, id, message}, found or not, in update and add", async () => {
    const t = await setup()
    await seeded(t)
    const update = await t.raw('/v1/users/update', {
      data: {
        organizationId: 'yourOrganizationId',
        users: [
          { userId: 'yourUserId1', name: 'N' },
          { userId: 'yourUserId2', name: 'M' },
        ],
      },
    })
    const add = await t.raw('/v1/users/add', {
      data: { organizationId: 'yourOrganizationId', users: [{ userId: 'yourUserId3' }, { userId: 'yourUserId4', email: 'not-an-email' }] },
    })
    for (const r of [update, add]) {
      expect(r.statusCode).toBe(200)
      expect(Object.keys(r.json())).toEqual(['result'])
      expect(Object.keys(r.json().result)).toEqual(['status', 'message', 'data'])
      for (const item of Object.values(r.json().result.data)) expect(Object.keys(item as object)).toEqual(['success', 'id', 'message'])
    }
    // Byte for byte as the seed's "Some User(s) Not Found" spells an entry.
    expect(update.body).toContain(
      `"yourUserId2":{"success":false,"id":"${update.json().result.data.yourUserId2.id}","message":"User does not exist."}`,
    )
  })

  it('replays "Some User(s) Not Found": the missing user is reported with a stable id and never created', async () => {
    const t = await setup()
    const id1 = await seeded(t)
    const body = {
      data: {
        organizationId: 'yourOrganizationId',
        users: [
          { userId: 'yourUserId1', name: 'User Name', email: 'user@email.com' },
          { userId: 'yourUserId2', name: 'Two' },
        ],
      },
    }
    const r = await t.raw('/v1/users/update', body)
    expect(r.statusCode).toBe(200)
    const json = r.json()
    expect(json).toEqual({
      result: {
        status: 'success',
        message: PROCESSED,
        data: {
          yourUserId1: { success: true, id: id1, message: 'User updated.' },
          yourUserId2: { success: false, id: expect.stringMatching(HEX32), message: 'User does not exist.' },
        },
      },
    })
    expect(Object.keys(json.result.data)).toEqual(['yourUserId1', 'yourUserId2'])
    expect(json.result.data.yourUserId2.id).not.toBe(id1)
    const again = (await t.raw('/v1/users/update', body)).json()
    expect(again.result.data.yourUserId2.id).toBe(json.result.data.yourUserId2.id)
    const users = (await t.call('/v1/users/get', { organizationId: 'yourOrganizationId' })).json().result.data
    expect(users.map((u: { userId: string }) => u.userId)).toEqual(['yourUserId1'])
  })

  for (const level of ['document', 'folder'] as const) {
    it(`replays the seed "Update users in a specific ${level}": only users at that level are updated`, async () => {
      const t = await setup()
      const id1 = await seeded(t)
      const key = level === 'document' ? 'documentId' : 'folderId'
      const groupId = level === 'document' ? 'yourDocumentId' : 'yourFolderId'
      // The document or folder does not exist yet.
      expectError(
        await t.raw('/v1/users/update', SEED_UPDATE[level]),
        404,
        'NOT_FOUND',
        `${level === 'document' ? 'Document' : 'Folder'} '${groupId}' does not exist.`,
      )
      // It exists, but yourUserId1 is only at the organization level.
      await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', [key]: groupId, users: [{ userId: 'someoneElse' }] })
      const outside = (await t.raw('/v1/users/update', SEED_UPDATE[level])).json()
      expect(outside.result.data.yourUserId1).toEqual({ success: false, id: id1, message: 'User does not exist.' })
      expect(
        (await t.call('/v1/users/get', { organizationId: 'yourOrganizationId', userIds: ['yourUserId1'] })).json().result.data[0].name,
      ).toBe('Old Name')
      await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', [key]: groupId, users: [{ userId: 'yourUserId1' }] })
      const inside = await t.raw('/v1/users/update', SEED_UPDATE[level])
      expect(inside.json()).toEqual({
        result: { status: 'success', message: PROCESSED, data: { yourUserId1: { success: true, id: id1, message: 'User updated.' } } },
      })
    })
  }

  it('an update changes only the properties sent; Velt-only properties live in metadata; accessRole is ignored on v1', async () => {
    const t = await setup()
    await t.call('/v1/users/add', {
      organizationId: 'org',
      users: [{ userId: 'u1', name: 'Ada', email: 'ada@x.io', photoUrl: 'https://img.x/a.png', color: '#f00', isAdmin: true, plan: 'pro' }],
    })
    const r = await t.call('/v1/users/update', {
      organizationId: 'org',
      users: [{ userId: 'u1', color: '#0f0', isAdmin: false, accessRole: 'viewer', organizationId: 'org' }],
    })
    expect(r.json().result.data.u1.success).toBe(true)
    const [u] = (await t.call('/v1/users/get', { organizationId: 'org' })).json().result.data
    expect(u).toEqual({
      email: 'ada@x.io',
      name: 'Ada',
      userId: 'u1',
      photoUrl: 'https://img.x/a.png',
      plan: 'pro',
      color: '#0f0',
      isAdmin: false,
    })
  })

  it('a user written through the door reads back identically via the native API, with history channel velt', async () => {
    const t = await setup()
    await t.call('/v1/users/add', {
      organizationId: 'acme',
      users: [{ userId: 'ext-1', name: 'Grace', email: 'grace@acme.io', isGuest: true }],
    })
    await t.call('/v1/users/update', { organizationId: 'acme', users: [{ userId: 'ext-1', name: 'Grace H.', textColor: '#fff' }] })
    const dir = (await t.admin.request('GET', '/api/v1/directories/acme')).json()
    expect(dir.externalId).toBe('acme')
    const list = (await t.admin.request('GET', `/api/v1/directories/${dir.id}/users?externalId=ext-1`)).json()
    const native = (await t.admin.request('GET', `/api/v1/directories/${dir.id}/users/${list.data[0].id}`)).json()
    expect(native).toMatchObject({
      externalId: 'ext-1',
      displayName: 'Grace H.',
      email: 'grace@acme.io',
      metadata: { isGuest: true, textColor: '#fff' },
      version: 2,
    })
    const [velt] = (await t.call('/v1/users/get', { organizationId: 'acme', userIds: ['ext-1'] })).json().result.data
    expect(velt).toEqual({ email: native.email, name: native.displayName, userId: native.externalId, isGuest: true, textColor: '#fff' })
    const hist = (await t.admin.request('GET', `/api/v1/directories/${dir.id}/users/${native.id}/history`)).json()
    expect(hist.data.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([
      ['update', 'velt'],
      ['create', 'velt'],
    ])
    expect(hist.data[0].changes).toEqual({ displayName: ['Grace', 'Grace H.'], 'metadata.textColor': [null, '#fff'] })
  })

  it('replays the Failure Response envelope for bad input: 400 INVALID_ARGUMENT with a precise message', async () => {
    const t = await setup()
    await seeded(t)
    const org = 'yourOrganizationId'
    const cases: [unknown, RegExp][] = [
      [{ data: { users: [{ userId: 'a' }] } }, /organizationId/],
      [{ data: { organizationId: org, documentId: 'd', folderId: 'f', users: [] } }, /^Either provide documentId or folderId, not both\.$/],
      [{ data: { organizationId: org } }, /users/],
      [{ data: { organizationId: org, users: 'a' } }, /users.*array/],
      [{ data: { organizationId: 42, users: [] } }, /organizationId.*string/],
      [{ data: { organizationId: org, users: [{ name: 'no id' }] } }, /userId/],
      [{ data: { organizationId: org, users: [{ userId: 'a', name: 5 }] } }, /users\.0\.name.*string/],
      [{ data: { organizationId: org, users: [{ userId: 'a', isAdmin: 'yes' }] } }, /users\.0\.isAdmin.*boolean/],
      [{ data: { organizationId: org, users: [{ userId: 'a', nickname: 'x' }] } }, /nickname/],
      [{ data: { organizationId: org, users: [{ userId: 'a', color: 'c'.repeat(256) }] } }, /users\.0\.color.*255/],
      [{ data: { organizationId: 'o'.repeat(256), users: [] } }, /organizationId.*255/],
      [{ data: { organizationId: org, users: [{ userId: 'a', organizationId: 'other' }] } }, /differs from data\.organizationId/],
      [{ data: { organizationId: org, users: [], extra: 1 } }, /extra/],
      [{ organizationId: org, users: [] }, /data/],
    ]
    for (const [body, message] of cases) {
      const r = await t.raw('/v1/users/update', body)
      expectError(r, 400, 'INVALID_ARGUMENT', message)
    }
    expectError(await t.raw('/v1/users/update', 'not json', { ...t.auth, 'content-type': 'application/json' }), 400, 'INVALID_ARGUMENT')
    const users = (await t.call('/v1/users/get', { organizationId: org })).json().result.data
    expect(users).toEqual([{ email: 'old@email.com', name: 'Old Name', userId: 'yourUserId1' }])
  })

  it('values the core refuses fail per user (over-long name, bad email, taken email); the others are written', async () => {
    const t = await setup()
    await t.call('/v1/users/add', {
      organizationId: 'o',
      users: [{ userId: 'a', email: 'a@x.io' }, { userId: 'b', email: 'b@x.io' }, { userId: 'c' }],
    })
    const r = await t.call('/v1/users/update', {
      organizationId: 'o',
      users: [
        { userId: 'a', name: 'n'.repeat(256) },
        { userId: 'b', email: 'not-an-email' },
        { userId: 'c', email: 'a@x.io' },
        { userId: 'b', name: 'Bea' },
      ],
    })
    expect(r.statusCode).toBe(200)
    const data = r.json().result.data
    expect(data.a).toMatchObject({ success: false, message: 'name: must be at most 255 characters' })
    expect(data.c.success).toBe(false)
    expect(data.c.message).toMatch(/^email: .*already used/)
    // The same userId twice: rows apply in order and the map keeps its last outcome.
    expect(data.b).toMatchObject({ success: true, message: 'User updated.' })
    const users = (await t.call('/v1/users/get', { organizationId: 'o' })).json().result.data
    expect(users).toEqual([{ email: 'a@x.io', userId: 'a' }, { email: 'b@x.io', name: 'Bea', userId: 'b' }, { userId: 'c' }])
  })

  it('takes up to the native sync limit (10,000 by default): 1,001 users are added and updated, 10,001 refused; an unknown organization is 404 NOT_FOUND', async () => {
    const t = await setup()
    await seeded(t)
    const users = Array.from({ length: 10_001 }, (_, i) => ({ userId: `u${i}` }))
    const over = (what: string) =>
      `At most 10000 users per request (${what}), got 10001; send larger inputs to the native imports: POST /api/v1/directories/yourOrganizationId/imports.`
    expectError(
      await t.call('/v1/users/update', { organizationId: 'yourOrganizationId', users }),
      400,
      'INVALID_ARGUMENT',
      over('data.users'),
    )
    expectError(await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', users }), 400, 'INVALID_ARGUMENT', over('data.users'))
    expectError(
      await t.call('/v1/users/delete', { organizationId: 'yourOrganizationId', userIds: users.map((u) => u.userId) }),
      400,
      'INVALID_ARGUMENT',
      over('data.userIds'),
    )
    const added = await t.call('/v1/users/add', {
      organizationId: 'yourOrganizationId',
      users: users.slice(0, 1001).map((u) => ({ ...u, name: 'A' })),
    })
    expect(added.statusCode).toBe(200)
    expect(Object.values(added.json().result.data).filter((x) => (x as { success: boolean }).success)).toHaveLength(1001)
    const ok = await t.call('/v1/users/update', {
      organizationId: 'yourOrganizationId',
      users: users.slice(0, 1001).map((u) => ({ ...u, name: 'B' })),
    })
    expect(ok.statusCode).toBe(200)
    expect(Object.keys(ok.json().result.data)).toHaveLength(1001)
    expect(ok.json().result.data.u1000).toMatchObject({ success: true, message: 'User updated.' })
    for (const path of [
      '/v1/users/update',
      '/v1/users/get',
      '/v1/users/delete',
      '/v1/organizations/documents/get',
      '/v1/organizations/folders/get',
    ]) {
      const body = path.endsWith('update')
        ? { organizationId: 'nope', users: [] }
        : path.endsWith('delete')
          ? { organizationId: 'nope', userIds: [] }
          : { organizationId: 'nope' }
      expectError(await t.call(path, body), 404, 'NOT_FOUND', "Organization 'nope' does not exist.")
    }
  })

  it('auth: a missing api key or token, or a wrong token, is INVALID_ARGUMENT; a token of another key PERMISSION_DENIED', async () => {
    const t = await setup()
    const other = await h.app().services.keys.create(t.admin.tenantId, { name: 'other', scopes: ['admin'] })
    const body = SEED_UPDATE.organization
    expectError(await t.raw('/v1/users/update', body, {}), 400, 'INVALID_ARGUMENT', /x-velt-api-key/)
    expectError(await t.raw('/v1/users/update', body, { 'x-velt-api-key': t.keyId }), 400, 'INVALID_ARGUMENT', /x-velt-auth-token/)
    expectError(await t.raw('/v1/users/update', body, { 'x-velt-auth-token': t.secret }), 400, 'INVALID_ARGUMENT', /x-velt-api-key/)
    expectError(
      await t.raw('/v1/users/update', body, { 'x-velt-api-key': t.keyId, 'x-velt-auth-token': 'rc_wrong' }),
      400,
      'INVALID_ARGUMENT',
      /^Auth token not found\.$/,
    )
    expectError(
      await t.raw('/v1/users/update', body, { 'x-velt-api-key': t.keyId, 'x-velt-auth-token': other.secret }),
      403,
      'PERMISSION_DENIED',
    )
    expectError(await t.raw('/v1/users/update', body, { authorization: `Bearer ${t.admin.key}` }), 400, 'INVALID_ARGUMENT')
    const reader = await setup(['read'])
    expectError(await reader.raw('/v1/users/update', body), 403, 'PERMISSION_DENIED', /'write' scope/)
    expectError(
      await reader.call('/v1/organizations/add', { organizations: [{ organizationId: 'x' }] }),
      403,
      'PERMISSION_DENIED',
      /'admin' scope/,
    )
    const writer = await setup(['write'])
    expectError(await writer.raw('/v1/users/add', body), 403, 'PERMISSION_DENIED', /creating it needs the 'admin' scope/)
  })

  it("another tenant's key never sees or changes this tenant's organization, even under the same organizationId", async () => {
    const a = await setup()
    const b = await setup()
    await a.call('/v1/users/add', { organizationId: 'shared', users: [{ userId: 'alice', name: 'Alice' }] })
    await a.call('/v1/users/add', { organizationId: 'only-a', users: [{ userId: 'x' }] })
    expectError(await b.call('/v1/users/get', { organizationId: 'only-a' }), 404, 'NOT_FOUND')
    await b.call('/v1/users/add', { organizationId: 'shared', users: [{ userId: 'bob' }] })
    expect((await b.call('/v1/users/get', { organizationId: 'shared' })).json().result.data).toEqual([{ userId: 'bob' }])
    const r = (await b.call('/v1/users/update', { organizationId: 'shared', users: [{ userId: 'alice', name: 'Mallory' }] })).json()
    expect(r.result.data.alice).toMatchObject({ success: false, message: 'User does not exist.' })
    expect((await b.call('/v1/users/delete', { organizationId: 'shared', userIds: ['alice'] })).json().result.data.alice.success).toBe(
      false,
    )
    expect((await a.call('/v1/users/get', { organizationId: 'shared' })).json().result.data).toEqual([{ name: 'Alice', userId: 'alice' }])
    expect((await b.call('/v1/organizations/get', {})).json().result.data.map((o: { id: string }) => o.id)).toEqual(['shared'])
  })

  it('replays get-users examples 1-5: by organization, document, userIds, both; user groups are refused; pages continue with nextPageToken', async () => {
    const t = await setup()
    await t.call('/v1/users/add', {
      organizationId: 'yourOrganizationId',
      users: [
        { userId: 'yourUserId1', name: 'userName', email: 'userEmail@domain.com' },
        { userId: 'yourUserId2' },
        { userId: 'yourUserId3' },
      ],
    })
    await t.call('/v1/users/add', {
      organizationId: 'yourOrganizationId',
      documentId: 'yourDocumentId',
      users: [{ userId: 'yourUserId1' }, { userId: 'yourUserId3' }],
    })
    const get = async (data: unknown) => {
      const r = await t.raw('/v1/users/get', { data })
      expect(r.statusCode).toBe(200)
      return r.json()
    }
    const all = await get({ organizationId: 'yourOrganizationId' })
    expect(all.result.message).toBe('User(s) retrieved successfully.')
    expect(all.result.data[0]).toEqual({ email: 'userEmail@domain.com', name: 'userName', userId: 'yourUserId1' })
    expect(all.result.data.map((u: { userId: string }) => u.userId)).toEqual(['yourUserId1', 'yourUserId2', 'yourUserId3'])
    const ids = (x: { result: { data: { userId: string }[] } }) => x.result.data.map((u) => u.userId)
    expect(ids(await get({ organizationId: 'yourOrganizationId', documentId: 'yourDocumentId' })).sort()).toEqual([
      'yourUserId1',
      'yourUserId3',
    ])
    expect(ids(await get({ organizationId: 'yourOrganizationId', userIds: ['yourUserId2', 'yourUserId1'] }))).toEqual([
      'yourUserId2',
      'yourUserId1',
    ])
    expect(
      ids(await get({ organizationId: 'yourOrganizationId', documentId: 'yourDocumentId', userIds: ['yourUserId1', 'yourUserId2'] })),
    ).toEqual(['yourUserId1'])
    expectError(
      await t.call('/v1/users/get', { organizationId: 'yourOrganizationId', organizationUserGroupIds: ['g'] }),
      400,
      'INVALID_ARGUMENT',
      /organizationUserGroupIds/,
    )
    expectError(
      await t.call('/v1/users/get', { organizationId: 'yourOrganizationId', userIds: Array.from({ length: 31 }, (_, i) => `u${i}`) }),
      400,
      'INVALID_ARGUMENT',
      /30/,
    )
    const p1 = await get({ organizationId: 'yourOrganizationId', pageSize: 2 })
    expect(ids(p1)).toEqual(['yourUserId1', 'yourUserId2'])
    const p2 = await get({ organizationId: 'yourOrganizationId', pageSize: 2, pageToken: p1.result.nextPageToken })
    expect(ids(p2)).toEqual(['yourUserId3'])
    expect(p2.result).not.toHaveProperty('nextPageToken')
    const d1 = await get({ organizationId: 'yourOrganizationId', documentId: 'yourDocumentId', pageSize: 1 })
    const d2 = await get({
      organizationId: 'yourOrganizationId',
      documentId: 'yourDocumentId',
      pageSize: 1,
      pageToken: d1.result.nextPageToken,
    })
    expect([...ids(d1), ...ids(d2)].sort()).toEqual(['yourUserId1', 'yourUserId3'])
    expectError(await t.call('/v1/users/get', { organizationId: 'yourOrganizationId', pageToken: 'garbage' }), 400, 'INVALID_ARGUMENT')
  })

  it('replays delete-users examples: organization deletes, document and folder only remove membership; missing users reported', async () => {
    const t = await setup()
    await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', users: [{ userId: 'yourUserId1' }, { userId: 'keep' }] })
    await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', documentId: 'yourDocumentId', users: [{ userId: 'keep' }] })
    await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', folderId: 'yourFolderId', users: [{ userId: 'keep' }] })
    const org = await t.raw('/v1/users/delete', { data: { organizationId: 'yourOrganizationId', userIds: ['yourUserId1'] } })
    expect(org.json()).toEqual({
      result: {
        status: 'success',
        message: 'User(s) deleted successfully.',
        data: { yourUserId1: { success: true, message: 'User removed.' } },
      },
    })
    const again = await t.raw('/v1/users/delete', { data: { organizationId: 'yourOrganizationId', userIds: ['keep', 'yourUserId2'] } })
    expect(again.json().result.data.yourUserId2).toEqual({ success: false, message: 'User does not exist.' })
    // 'keep' was deleted from the organization above; add it back to test the group levels.
    await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', documentId: 'yourDocumentId', users: [{ userId: 'keep' }] })
    const doc = await t.raw('/v1/users/delete', {
      data: { organizationId: 'yourOrganizationId', documentId: 'yourDocumentId', userIds: ['keep', 'yourUserId1'] },
    })
    expect(doc.json().result.data).toEqual({
      keep: { success: true, message: 'User removed.' },
      yourUserId1: { success: false, message: 'User does not exist.' },
    })
    const folder = await t.raw('/v1/users/delete', {
      data: { organizationId: 'yourOrganizationId', folderId: 'yourFolderId', userIds: ['keep'] },
    })
    expect(folder.json().result.data.keep).toEqual({ success: false, message: 'User does not exist.' })
    expect((await t.call('/v1/users/get', { organizationId: 'yourOrganizationId' })).json().result.data).toEqual([{ userId: 'keep' }])
    expect(
      (await t.call('/v1/users/get', { organizationId: 'yourOrganizationId', documentId: 'yourDocumentId' })).json().result.data,
    ).toEqual([])
    expectError(
      await t.call('/v1/users/delete', { organizationId: 'yourOrganizationId', documentId: 'd', folderId: 'f', userIds: ['keep'] }),
      400,
      'INVALID_ARGUMENT',
    )
    expectError(await t.call('/v1/users/delete', { organizationId: 'yourOrganizationId' }), 400, 'INVALID_ARGUMENT', /userIds/)
  })

  it('replays the organizations examples: add, get, update, delete, each with its literal messages', async () => {
    const t = await setup()
    const add = await t.raw('/v1/organizations/add', {
      data: { organizations: [{ organizationId: 'yourOrganizationId', organizationName: 'Your Organization Name' }] },
    })
    expect(add.statusCode).toBe(200)
    expect(add.json()).toEqual({
      result: {
        status: 'success',
        message: 'Organization(s) added successfully.',
        data: { yourOrganizationId: { success: true, id: expect.stringMatching(HEX32), message: 'Added Successfully' } },
      },
    })
    const orgId = add.json().result.data.yourOrganizationId.id
    const dup = (await t.call('/v1/organizations/add', { organizations: [{ organizationId: 'yourOrganizationId' }] })).json()
    expect(dup.result.data.yourOrganizationId).toEqual({ success: false, id: orgId, message: 'Organization already exists' })
    const get = await t.raw('/v1/organizations/get', { data: { organizationIds: ['yourOrganizationId'] } })
    expect(get.json()).toEqual({
      result: {
        status: 'success',
        message: 'Organization(s) retrieved successfully.',
        data: [{ id: 'yourOrganizationId', organizationName: 'Your Organization Name', disabled: false }],
      },
    })
    const upd = await t.raw('/v1/organizations/update', {
      data: { organizations: [{ organizationId: 'yourOrganizationId', organizationName: 'Your Updated Organization Name' }] },
    })
    expect(upd.json()).toEqual({
      result: {
        status: 'success',
        message: 'Organization(s) updated successfully.',
        data: { yourOrganizationId: { success: true, id: orgId, message: 'Updated Successfully' } },
      },
    })
    expect((await t.call('/v1/organizations/get', {})).json().result.data).toEqual([
      { id: 'yourOrganizationId', organizationName: 'Your Updated Organization Name', disabled: false },
    ])
    expect(
      (await t.call('/v1/organizations/update', { organizations: [{ organizationId: 'ghost', organizationName: 'G' }] })).json().result.data
        .ghost,
    ).toMatchObject({ success: false, message: 'Organization does not exist' })
    await t.call('/v1/users/add', { organizationId: 'yourOrganizationId', users: [{ userId: 'u' }] })
    const del = await t.raw('/v1/organizations/delete', { data: { organizationIds: ['yourOrganizationId1', 'yourOrganizationId'] } })
    expect(del.json()).toEqual({
      result: {
        status: 'success',
        message: 'Organization(s) deleted successfully.',
        data: {
          yourOrganizationId1: { success: false, id: expect.stringMatching(HEX32), message: 'Organization does not exist' },
          yourOrganizationId: { success: true, id: orgId, message: 'Deleted Successfully' },
        },
      },
    })
    expectError(await t.call('/v1/users/get', { organizationId: 'yourOrganizationId' }), 404, 'NOT_FOUND')
    expectError(
      await t.call('/v1/organizations/get', { organizationIds: Array.from({ length: 31 }, (_, i) => `o${i}`) }),
      400,
      'INVALID_ARGUMENT',
    )
    expectError(
      await t.call('/v1/organizations/add', { organizations: [{ organizationId: 'x', organizationName: 7 }] }),
      400,
      'INVALID_ARGUMENT',
      /organizationName/,
    )
  })

  it('replays the documents and folders examples: add and get', async () => {
    const t = await setup()
    await t.call('/v1/organizations/add', { organizations: [{ organizationId: 'yourOrganizationId' }] })
    const add = await t.raw('/v1/organizations/documents/add', {
      data: { organizationId: 'yourOrganizationId', documents: [{ documentId: 'yourDocumentId', documentName: 'Your Document Name' }] },
    })
    expect(add.json()).toEqual({
      result: {
        status: 'success',
        message: 'Document(s) added successfully.',
        data: { yourDocumentId: { success: true, id: expect.stringMatching(HEX32), message: 'Added Successfully' } },
      },
    })
    expect(
      (
        await t.call('/v1/organizations/documents/add', {
          organizationId: 'yourOrganizationId',
          documents: [{ documentId: 'yourDocumentId' }],
        })
      ).json().result.data.yourDocumentId.success,
    ).toBe(false)
    await t.call('/v1/organizations/documents/add', {
      organizationId: 'yourOrganizationId',
      documents: [{ documentId: 'yourDocumentId2' }],
    })
    const docs = await t.raw('/v1/organizations/documents/get', {
      data: { organizationId: 'yourOrganizationId', documentIds: ['yourDocumentId'] },
    })
    expect(docs.json()).toEqual({
      result: {
        status: 'success',
        message: 'Document(s) retrieved successfully.',
        data: [{ documentName: 'Your Document Name', disabled: false, accessType: 'public', id: 'yourDocumentId' }],
      },
    })
    expect(
      (await t.call('/v1/organizations/documents/get', { organizationId: 'yourOrganizationId' }))
        .json()
        .result.data.map((d: { id: string }) => d.id),
    ).toEqual(['yourDocumentId', 'yourDocumentId2'])
    expectError(
      await t.call('/v1/organizations/documents/add', {
        organizationId: 'yourOrganizationId',
        folderId: 'f',
        documents: [{ documentId: 'd' }],
      }),
      400,
      'INVALID_ARGUMENT',
      /folderId/,
    )
    // A name another document holds fails that document only; the others are added.
    const named = (
      await t.call('/v1/organizations/documents/add', {
        organizationId: 'yourOrganizationId',
        documents: [{ documentId: 'd3', documentName: 'Your Document Name' }, { documentId: 'd4' }],
      })
    ).json().result.data
    expect(named.d3).toMatchObject({ success: false, message: "Another document is already named 'Your Document Name'." })
    expect(named.d4).toMatchObject({ success: true, message: 'Added Successfully' })

    const fadd = await t.raw('/v1/organizations/folders/add', {
      data: {
        organizationId: 'yourOrganizationId',
        folders: [
          { folderId: 'yourFolderId', folderName: 'yourFolderName' },
          { folderId: 'child', parentFolderId: 'yourParentFolderId' },
        ],
      },
    })
    expect(fadd.json()).toEqual({
      result: {
        status: 'success',
        message: 'Folder created successfully.',
        data: {
          yourFolderId: { success: true, id: 'yourFolderId', message: 'Folder added.' },
          child: { success: false, id: 'child', message: 'Nested folders are not supported: parentFolderId must be "root".' },
        },
      },
    })
    const folder = {
      folderId: 'yourFolderId',
      folderName: 'yourFolderName',
      organizationId: 'yourOrganizationId',
      parentFolderId: 'root',
      createdAt: expect.any(Number),
      lastUpdated: expect.any(Number),
    }
    const all = await t.raw('/v1/organizations/folders/get', { data: { organizationId: 'yourOrganizationId' } })
    expect(all.json()).toEqual({ result: { status: 'success', message: 'Folders retrieved successfully.', data: [folder] } })
    expect(all.json().result.data[0].createdAt).toBeGreaterThan(1_700_000_000_000)
    const one = await t.raw('/v1/organizations/folders/get', { data: { organizationId: 'yourOrganizationId', folderId: 'yourFolderId' } })
    expect(one.json()).toEqual({
      result: { status: 'success', message: 'Folders retrieved successfully.', data: [{ ...folder, subFolders: [] }] },
    })
    expectError(
      await t.call('/v1/organizations/folders/get', { organizationId: 'yourOrganizationId', folderId: 'nope' }),
      404,
      'NOT_FOUND',
      "Folder 'nope' does not exist.",
    )
  })

  it('unknown endpoints answer 404 NOT_FOUND in the envelope', async () => {
    const t = await setup()
    expectError(await t.call('/v1/users/nothing', {}), 404, 'NOT_FOUND')
  })
})
