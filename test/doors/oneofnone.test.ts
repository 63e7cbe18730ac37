import type { LightMyRequestResponse } from 'fastify'
import { expect, it } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'

/** The keys of One of None's `User` (seed `UserResponse`), in its order. */
const USER_KEYS = [
  'id',
  'email',
  'phone',
  'metadata',
  'avatar',
  'app_id',
  'team_id',
  'last_login_at',
  'login_count',
  'created_at',
  'updated_at',
]

describeEachEngine('One of None door', (engine) => {
  const h = useApp(engine)

  /** A tenant with one app (directory) and a One of None key limited to it. */
  async function setup(scopes: ('read' | 'write' | 'admin')[] = ['write']) {
    const admin = await h.client()
    const dir = await makeDirectory(admin, { name: 'App' })
    const limited = await admin.newKey(scopes, [dir.id])
    const call = (
      method: 'GET' | 'POST',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<LightMyRequestResponse> =>
      h.app().app.inject({
        method,
        url: `/oneofnone${url}`,
        headers: { 'x-api-key': limited.key, ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      })
    const native = async (body: Record<string, unknown>) => {
      const r = await admin.request('POST', `/api/v1/directories/${dir.id}/users`, body)
      expect(r.statusCode).toBe(201)
      return r.json() as { id: string; email: string; createdAt: string; updatedAt: string; version: number }
    }
    return { admin, dir, key: limited.key, call, native }
  }

  const batch = (call: Awaited<ReturnType<typeof setup>>['call'], body: unknown) => call('POST', '/v1/users/batch-update', body)

  it('replays the seed example: batch-update answers 200 with the documented UserResponse, field by field', async () => {
    const { admin, dir, call, native } = await setup()
    const u = await native({ email: 'jsmith@example.com' })
    const team = (await admin.request('POST', `/api/v1/directories/${dir.id}/groups`, { name: 'Gold team', kind: 'team' })).json() as {
      id: string
    }
    expect(
      (await admin.request('POST', `/api/v1/directories/${dir.id}/groups/${team.id}/members`, { userIds: [u.id] })).statusCode,
    ).toBeLessThan(300)

    const r = await batch(call, { users: [{ email: 'jsmith@example.com', phone: '+1234567890', metadata: { tier: 'gold' } }] })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(Object.keys(body)).toEqual(['message', 'count', 'users'])
    expect(body.message).toBe('Users updated successfully')
    expect(body.count).toBe(1)
    const [user] = body.users
    expect(Object.keys(user)).toEqual(USER_KEYS)
    expect(user).toEqual({
      id: u.id,
      email: 'jsmith@example.com',
      phone: '+1234567890',
      metadata: { tier: 'gold' },
      avatar: { url: null },
      app_id: dir.number,
      team_id: team.id,
      last_login_at: null,
      login_count: 0,
      created_at: u.createdAt,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
    expect(Number.isInteger(user.app_id)).toBe(true)
  })

  it('replays the CSV example: headers email,phone,metadata with a JSON metadata cell', async () => {
    const { call, native } = await setup()
    await native({ email: 'x@y.com' })
    const r = await batch(call, { users: [], csv: 'email,phone,metadata\nx@y.com,+1234567890,{"key":"value"}' })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({
      message: 'Users updated successfully',
      count: 1,
      users: [{ email: 'x@y.com', phone: '+1234567890', metadata: { key: 'value' } }],
    })
  })

  it('matches by email case-insensitively, skips unknown emails, joins users[] and csv, merges metadata (null deletes)', async () => {
    const { call, native } = await setup()
    const a = await native({ email: 'Ann@Example.com', metadata: { plan: 'free', seats: 2 } })
    const b = await native({ email: 'bob@example.com' })
    const r = await batch(call, {
      users: [
        { email: 'ann@example.com', metadata: { seats: null, tier: 'gold' } },
        { email: 'nobody@example.com', phone: '+15550000' },
      ],
      // Quoted cell holding commas (RFC 4180), headers in any case, extra columns ignored, empty cell = not provided.
      csv: 'Phone,EMAIL,metadata,ignored\r\n+15551234,BOB@example.com,"{""a"":1,""b"":[1,2]}",zzz\r\n,ann@example.com,,\r\n',
    })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body.count).toBe(2)
    expect(body.users.map((x: { id: string }) => x.id)).toEqual([a.id, b.id])
    expect(body.users[0]).toMatchObject({ email: 'Ann@Example.com', metadata: { plan: 'free', tier: 'gold' } })
    expect(body.users[0].metadata).not.toHaveProperty('seats')
    expect(body.users[1]).toMatchObject({ email: 'bob@example.com', phone: '+15551234', metadata: { a: 1, b: [1, 2] } })
    const list = (await call('GET', '/v1/users?email=nobody@example.com')).json()
    expect(list.pagination.total_count).toBe(0)
  })

  it('an empty users[] is a 200 with count 0', async () => {
    const { call } = await setup()
    const r = await batch(call, { users: [] })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ message: 'Users updated successfully', count: 0, users: [] })
  })

  it('a user written through the door reads back identically through the native API, with history channel oneofnone', async () => {
    const { admin, dir, call, native } = await setup()
    const u = await native({ email: 'read@back.io', firstName: 'Rea' })
    const r = await batch(call, { users: [{ email: 'read@back.io', phone: '+441234567', metadata: { src: 'oon' } }] })
    const door = r.json().users[0]
    const got = await admin.request('GET', `/api/v1/directories/${dir.id}/users/${u.id}`)
    expect(got.statusCode).toBe(200)
    const n = got.json()
    expect(n).toMatchObject({
      id: door.id,
      email: door.email,
      phone: door.phone,
      metadata: door.metadata,
      avatarUrl: door.avatar.url,
      lastLoginAt: door.last_login_at,
      loginCount: door.login_count,
      createdAt: door.created_at,
      updatedAt: door.updated_at,
      firstName: 'Rea',
      version: 2,
    })
    const viaGet = (await call('GET', `/v1/users/${u.id}`)).json()
    expect(viaGet).toEqual(door)
    const hist = (await admin.request('GET', `/api/v1/directories/${dir.id}/users/${u.id}/history`)).json()
    expect(hist.data[0]).toMatchObject({
      action: 'update',
      channel: 'oneofnone',
      changes: { phone: [null, '+441234567'], 'metadata.src': [null, 'oon'] },
    })
    expect(hist.data[0].keyId).toEqual(expect.any(String))
  })

  it('bad input answers 400 {message} and writes nothing (the batch is all or nothing)', async () => {
    const { call, native, admin, dir } = await setup()
    const u = await native({ email: 'keep@me.io', phone: '+100000' })
    const cases: [unknown, RegExp][] = [
      [{ users: [{ email: 'not-an-email' }] }, /users\.0\.email.*email/],
      [{ users: [{ email: 'keep@me.io', phone: 12345 }] }, /users\.0\.phone.*string/],
      [{ users: [{ email: 'keep@me.io', metadata: 'gold' }] }, /users\.0\.metadata.*object/],
      [{ users: [{ email: 'keep@me.io', metadata: ['a'] }] }, /users\.0\.metadata.*object/],
      [{ users: [{ email: `${'a'.repeat(320)}@me.io` }] }, /users\.0\.email/],
      [{ users: [{ email: 'keep@me.io', name: 'X' }] }, /name/],
      [{ users: 'keep@me.io' }, /users.*array/],
      [{}, /'users' is required/],
      [{ users: [], csv: 'email,phone,metadata\nkeep@me.io,,{"a":1,"b":2}' }, /csv row 1: more cells than the header/],
      [{ users: [], csv: 'email,metadata\nkeep@me.io,"{not json}"' }, /csv row 1: metadata is not valid JSON/],
      [{ users: [], csv: 'email,metadata\nkeep@me.io,"[1,2]"' }, /csv row 1: metadata must be a JSON object/],
      [{ users: [], csv: 'phone\n+1234' }, /'email' column/],
      [{ users: [], csv: 'email,phone\n,+1234' }, /csv row 1: email is required/],
      [{ users: [], csv: 'email\n"unterminated' }, /csv row 1/],
    ]
    for (const [body, message] of cases) {
      const r = await batch(call, body)
      expect(r.statusCode, JSON.stringify(body)).toBe(400)
      expect(Object.keys(r.json())).toEqual(['message'])
      expect(r.json().message, JSON.stringify(body)).toMatch(message)
    }
    // A row the core rejects (here: the directory requires a firstName this user lacks) fails the
    // whole batch: the valid row before it is not written either.
    const other = await native({ email: 'other@me.io', firstName: 'Oth' })
    expect((await admin.request('PATCH', `/api/v1/directories/${dir.id}/fields/firstName`, { required: true })).statusCode).toBe(200)
    const mixed = await batch(call, {
      users: [
        { email: 'other@me.io', phone: '+199999' },
        { email: 'keep@me.io', phone: '+188888' },
      ],
    })
    expect(mixed.statusCode).toBe(400)
    expect(mixed.json().message).toBe("users[1]: firstName: 'firstName' is required")
    const after = (await admin.request('GET', `/api/v1/directories/${dir.id}/users/${u.id}`)).json()
    expect(after).toMatchObject({ phone: '+100000', version: 1 })
    expect((await admin.request('GET', `/api/v1/directories/${dir.id}/users/${other.id}`)).json()).toMatchObject({
      phone: null,
      version: 1,
    })
  })

  it('phone is free-form, as the vendor documents: every string reads back exactly as sent, one odd phone never fails the batch', async () => {
    const { admin, dir, call, native } = await setup()
    const sent = ['(555) 123-4567 ext. 89', 'n/a', '5'.repeat(255), 'call me', '+1 555 0100']
    const users = await Promise.all(sent.map((_, i) => native({ email: `p${i}@x.io`, phone: '+100000' })))
    const cleared = await native({ email: 'clear@x.io', phone: '+100000' })
    const r = await batch(call, {
      users: [...sent.map((phone, i) => ({ email: `p${i}@x.io`, phone })), { email: 'clear@x.io', phone: '' }],
    })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().count).toBe(sent.length + 1)
    // The answer, a get and a list through the door show exactly what was sent; "" clears the phone.
    expect(r.json().users.map((x: { phone: string | null }) => x.phone)).toEqual([...sent, null])
    for (const [i, u] of users.entries()) expect((await call('GET', `/v1/users/${u.id}`)).json().phone).toBe(sent[i])
    expect((await call('GET', `/v1/users/${cleared.id}`)).json().phone).toBeNull()
    const listed = (await call('GET', `/v1/users?phone=${encodeURIComponent('(555) 123-4567 ext. 89')}`)).json()
    expect(listed.data.map((x: { email: string }) => x.email)).toEqual(['p0@x.io'])
    // The native API never shows a value outside its phone rule in `phone`: a free-form value is kept in fields.phoneText.
    const nativeOf = async (id: string) => (await admin.request('GET', `/api/v1/directories/${dir.id}/users/${id}`)).json()
    expect(await nativeOf(users[0].id)).toMatchObject({ phone: null, fields: { phoneText: '(555) 123-4567 ext. 89' } })
    expect(await nativeOf(users[4].id)).toMatchObject({ phone: '+1 555 0100', fields: {} })
    expect((await nativeOf(users[4].id)).fields).not.toHaveProperty('phoneText')
    expect(await nativeOf(cleared.id)).toMatchObject({ phone: null, fields: {} })
    // A phone in the native form replaces a free-form one (and the other way round), also from the CSV.
    const csv = await batch(call, { users: [], csv: `email,phone\np0@x.io,+15550100\np4@x.io,"(555) 010-0000, ext. 7"` })
    expect(csv.statusCode, csv.body).toBe(200)
    expect(csv.json().users.map((x: { phone: string }) => x.phone)).toEqual(['+15550100', '(555) 010-0000, ext. 7'])
    expect(await nativeOf(users[0].id)).toMatchObject({ phone: '+15550100', fields: {} })
    expect(await nativeOf(users[4].id)).toMatchObject({ phone: null, fields: { phoneText: '(555) 010-0000, ext. 7' } })
  })

  it("a directory's own rule on the free-form phone field is reported as phone, and fails the batch", async () => {
    const { admin, dir, call, native } = await setup()
    const u = await native({ email: 'rule@x.io' })
    expect(
      (await admin.request('POST', `/api/v1/directories/${dir.id}/fields`, { key: 'phoneText', type: 'string', maxLength: 10 })).statusCode,
    ).toBe(201)
    const r = await batch(call, {
      users: [
        { email: 'rule@x.io', phone: 'n/a' },
        { email: 'rule@x.io', phone: 'ask at the desk' },
      ],
    })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toEqual({ message: 'users[1]: phone: must be at most 10 characters' })
    expect((await call('GET', `/v1/users/${u.id}`)).json().phone).toBeNull()
  })

  it('a batch takes up to the native sync limit (10,000 by default): 1,001 users are updated, 10,001 refused with 400', async () => {
    const { admin, dir, call } = await setup()
    const users = Array.from({ length: 10_001 }, (_, i) => ({ email: `u${i}@x.io` }))
    const created = await admin.request('POST', `/api/v1/directories/${dir.id}/users/bulk`, { rows: users.slice(0, 1001) })
    expect(created.json().summary.created).toBe(1001)
    const ok = await batch(call, { users: users.slice(0, 1001).map((u, i) => ({ ...u, metadata: { n: i } })) })
    expect(ok.statusCode).toBe(200)
    expect(ok.json().count).toBe(1001)
    expect(ok.json().users[1000]).toMatchObject({ email: 'u1000@x.io', metadata: { n: 1000 } })
    const r = await batch(call, { users })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toEqual({
      message: `At most 10000 users per request (users[] and csv rows together), got 10001; send larger inputs to the native imports: POST /api/v1/directories/${dir.id}/imports`,
    })
  })

  it('auth: x-api-key missing or wrong is 401 Unauthorized; a key not limited to one app, or lacking the scope, is 403', async () => {
    const { admin, dir, call } = await setup(['read'])
    const inject = (headers: Record<string, string>, method: 'GET' | 'POST' = 'GET') =>
      h.app().app.inject({ method, url: '/oneofnone/v1/users', headers, ...(method === 'POST' ? { payload: { users: [] } } : {}) })
    const bad: Record<string, string>[] = [{}, { 'x-api-key': 'rc_wrong' }, { authorization: `Bearer ${admin.key}` }]
    for (const headers of bad) {
      const r = await inject(headers)
      expect(r.statusCode).toBe(401)
      expect(r.json()).toEqual({ message: 'Unauthorized' })
    }
    const unlimited = await inject({ 'x-api-key': admin.key })
    expect(unlimited.statusCode).toBe(403)
    expect(unlimited.json().message).toMatch(/exactly one app/)
    const other = await makeDirectory(admin, { name: 'Second' })
    const two = await admin.newKey(['admin'], [dir.id, other.id])
    expect((await inject({ 'x-api-key': two.key })).statusCode).toBe(403)
    const readOnly = await call('POST', '/v1/users/batch-update', { users: [] })
    expect(readOnly.statusCode).toBe(403)
    expect(readOnly.json().message).toMatch(/'write' scope/)
    expect((await call('GET', '/v1/users')).statusCode).toBe(200)
  })

  it("another tenant's key never sees or changes this tenant's users", async () => {
    const a = await setup()
    const b = await setup()
    const ua = await a.native({ email: 'secret@a.io', phone: '+1111111' })
    expect((await b.call('GET', '/v1/users')).json().pagination.total_count).toBe(0)
    expect((await b.call('GET', `/v1/users/${ua.id}`)).statusCode).toBe(404)
    expect((await b.call('GET', '/v1/users/secret@a.io?type=EMAIL')).statusCode).toBe(404)
    expect((await b.call('GET', `/v1/users?app_id=${a.dir.number}`)).json().data).toEqual([])
    const r = await batch(b.call, { users: [{ email: 'secret@a.io', phone: '+2222222' }] })
    expect(r.json()).toMatchObject({ count: 0, users: [] })
    expect((await a.call('GET', `/v1/users/${ua.id}`)).json().phone).toBe('+1111111')
  })

  it('lists with limit/offset and the pagination block, next/prev as full URLs', async () => {
    const { call, admin, dir } = await setup()
    const rows = Array.from({ length: 25 }, (_, i) => ({ email: `p${String(i).padStart(2, '0')}@list.io` }))
    expect((await admin.request('POST', `/api/v1/directories/${dir.id}/users/bulk`, { rows, mode: 'create' })).statusCode).toBe(200)
    const first = await call('GET', '/v1/users')
    expect(first.statusCode).toBe(200)
    const p1 = first.json()
    expect(Object.keys(p1)).toEqual(['data', 'pagination'])
    expect(p1.data).toHaveLength(20)
    expect(Object.keys(p1.data[0])).toEqual(USER_KEYS)
    expect(p1.data[0].email).toBe('p00@list.io')
    expect(p1.pagination).toEqual({
      next: 'http://localhost:80/oneofnone/v1/users?limit=20&offset=20',
      prev: null,
      limit: 20,
      offset: 0,
      total_count: 25,
      total_pages: 2,
      current_page: 1,
    })
    const p2 = (
      await call('GET', new URL(p1.pagination.next).pathname.replace('/oneofnone', '') + new URL(p1.pagination.next).search)
    ).json()
    expect(p2.data.map((u: { email: string }) => u.email)).toEqual(rows.slice(20).map((r) => r.email))
    expect(p2.pagination).toMatchObject({
      next: null,
      prev: 'http://localhost:80/oneofnone/v1/users?limit=20&offset=0',
      offset: 20,
      current_page: 2,
    })
    const filtered = (await call('GET', '/v1/users?email=P07@LIST.IO&limit=5&offset=0')).json()
    expect(filtered.data.map((u: { email: string }) => u.email)).toEqual(['p07@list.io'])
    const mid = (await call('GET', '/v1/users?limit=10&offset=10&min_login_count=1')).json()
    expect(mid.pagination).toMatchObject({ total_count: 0, total_pages: 0, current_page: 2, next: null })
    expect(mid.pagination.prev).toBe('http://localhost:80/oneofnone/v1/users?min_login_count=1&limit=10&offset=0')
  })

  it('filters by phone, app_id, login count, created_at and last_login_at (bounds inclusive)', async () => {
    const { call, native, dir } = await setup()
    const a = await native({ email: 'a@f.io', phone: '+1000001', lastLoginAt: '2024-01-10T10:00:00Z' })
    const b = await native({ email: 'b@f.io', phone: '+1000002', lastLoginAt: '2024-02-10T10:00:00.000Z' })
    await native({ email: 'c@f.io' })
    const emails = async (q: string) => {
      const r = await call('GET', `/v1/users?${q}`)
      expect(r.statusCode, q).toBe(200)
      return r.json().data.map((u: { email: string }) => u.email)
    }
    expect(await emails('phone=%2B1000002')).toEqual(['b@f.io'])
    expect(await emails(`app_id=${dir.number}`)).toEqual(['a@f.io', 'b@f.io', 'c@f.io'])
    expect(await emails(`app_id=${dir.number + 100000}`)).toEqual([])
    expect(await emails('max_login_count=1')).toEqual(['a@f.io', 'b@f.io', 'c@f.io'])
    expect(await emails('min_login_count=1')).toEqual([])
    expect(await emails('min_last_login_at=2024-01-10T10:00:00Z')).toEqual(['a@f.io', 'b@f.io'])
    expect(await emails('max_last_login_at=2024-01-10T10:00:00Z')).toEqual(['a@f.io'])
    expect(await emails('min_last_login_at=2024-01-10T10:00:00.001Z&max_last_login_at=2024-02-10T10:00:00Z')).toEqual(['b@f.io'])
    expect(await emails(`min_created_at=${encodeURIComponent(b.createdAt)}`)).toEqual(['b@f.io', 'c@f.io'])
    expect(await emails(`max_created_at=${encodeURIComponent(a.createdAt)}`)).toEqual(['a@f.io'])
    const u = (await call('GET', '/v1/users?email=a@f.io')).json().data[0]
    expect(u).toMatchObject({ id: a.id, last_login_at: '2024-01-10T10:00:00.000Z', login_count: 0, team_id: null })
  })

  it('list parameters of the wrong type or out of range are 400 {message}', async () => {
    const { call } = await setup()
    for (const q of [
      'limit=101',
      'limit=0',
      'offset=-1',
      'min_login_count=0',
      'max_login_count=abc',
      'app_id=x',
      'min_created_at=yesterday',
      'limit=2.5',
    ]) {
      const r = await call('GET', `/v1/users?${q}`)
      expect(r.statusCode, q).toBe(400)
      expect(Object.keys(r.json())).toEqual(['message'])
    }
  })

  it('gets a user by id (default type=ID) or by email (type=EMAIL); unknown is 404 User not found', async () => {
    const { call, native } = await setup()
    const u = await native({ email: 'Get@Me.io', avatarUrl: 'https://img.example/a.png' })
    const byId = await call('GET', `/v1/users/${u.id}`)
    expect(byId.statusCode).toBe(200)
    expect(Object.keys(byId.json())).toEqual(USER_KEYS)
    expect(byId.json()).toMatchObject({ id: u.id, email: 'Get@Me.io', avatar: { url: 'https://img.example/a.png' } })
    expect((await call('GET', `/v1/users/${u.id}?type=ID`)).json()).toEqual(byId.json())
    expect((await call('GET', '/v1/users/get@me.io?type=EMAIL')).json()).toEqual(byId.json())
    for (const url of ['/v1/users/3c90c3cc-0d44-4b50-8888-8dd25736052a', '/v1/users/not-a-uuid', '/v1/users/none@me.io?type=EMAIL']) {
      const r = await call('GET', url)
      expect(r.statusCode, url).toBe(404)
      expect(r.json()).toEqual({ message: 'User not found' })
    }
    const bad = await call('GET', '/v1/users/not-an-email?type=EMAIL')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toMatch(/valid email address/)
    expect((await call('GET', `/v1/users/${u.id}?type=NAME`)).statusCode).toBe(400)
  })

  it('unknown routes answer 404 in the vendor envelope; Idempotency-Key replays a batch', async () => {
    const { call, native } = await setup()
    const nf = await call('GET', '/v1/nothing')
    expect(nf.statusCode).toBe(404)
    expect(Object.keys(nf.json())).toEqual(['message'])
    await native({ email: 'idem@x.io' })
    const body = { users: [{ email: 'idem@x.io', metadata: { n: 1 } }] }
    const first = await call('POST', '/v1/users/batch-update', body, { 'idempotency-key': 'k-1' })
    const again = await call('POST', '/v1/users/batch-update', body, { 'idempotency-key': 'k-1' })
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    const reused = await call('POST', '/v1/users/batch-update', { users: [] }, { 'idempotency-key': 'k-1' })
    expect(reused.statusCode).toBe(422)
    expect(Object.keys(reused.json())).toEqual(['message'])
  })
})
