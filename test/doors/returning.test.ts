import { randomUUID } from 'node:crypto'
import { expect, it } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { community, expectReturningError } from '../helpers/returning.js'

/**
 * Conformance of the Returning.AI door (/returning): doors.md's request and response examples
 * replayed field by field (user data, user fields, filters, manage, histories), both envelopes,
 * the community key, and bad input. The queued CSV endpoints and the Api Log: returning-bulk.test.ts.
 */

const BASE = '/returning/apis/v1'
const OBJECT_ID = /^[0-9a-f]{24}$/

describeEachEngine('Returning.AI door', (engine) => {
  const h = useApp(engine)

  it('create user (every documented field) then user data: the documented keys, in order, and the native API agrees', async () => {
    const { key, dir, admin } = await community(h)
    await key.request('POST', `${BASE}/communities/${dir}/user-fields`, { field: 'vip-level', name: 'VIP level', type: 'text' })
    const created = await key.request('POST', `${BASE}/users`, {
      firstname: 'Ada',
      lastname: 'Lovelace',
      username: 'ada',
      displayname: 'Ada L.',
      email: 'ada@example.com',
      password: 's3cret-pass',
      confirmPassword: 's3cret-pass',
      accessLevel: 2,
      joinServer: true,
      emailPassword: false,
      sendEmail: false,
      emailTemplate: 'welcome',
      customFields: [
        { fieldIdorName: 'vip-level', value: 'Gold' },
        { fieldIdorName: 'xp', value: 10 },
      ],
      externalId: 'crm-1',
      referral: 'friend',
    })
    expect(created.statusCode, created.body).toBe(201)
    const user = created.json()
    expect(user).toMatchObject({ status: 'success', message: 'User created successfully' })
    const info = await key.request('POST', `${BASE}/users/info`, { idOrEmail: 'ada@example.com' })
    expect(info.statusCode).toBe(200)
    const data = info.json().data
    expect(Object.keys(data).slice(0, 17)).toEqual([
      'userId',
      'xp',
      'coins',
      'roles',
      'highestRole',
      'firstName',
      'lastName',
      'xpEarnedToday',
      'coinsEarnedToday',
      'language',
      'totalMessages',
      'totalReactions',
      'visitCount',
      'replySent',
      'timeSpent',
      'loginStreak',
      'customFields',
    ])
    expect(data).toEqual({
      ...user.data,
      userId: expect.any(String),
      xp: 10,
      coins: 0,
      roles: ['@all'],
      highestRole: '@all',
      firstName: 'Ada',
      lastName: 'Lovelace',
      xpEarnedToday: 0,
      coinsEarnedToday: 0,
      language: null,
      totalMessages: 0,
      totalReactions: 0,
      visitCount: 0,
      replySent: 0,
      timeSpent: 0,
      loginStreak: 0,
      customFields: { 'vip-level': 'Gold' },
      email: 'ada@example.com',
      username: 'ada',
      displayName: 'Ada L.',
      externalId: 'crm-1',
      joinDate: expect.any(String),
    })
    expect((await key.request('POST', `${BASE}/users/info`, { idOrEmail: data.userId })).json().data).toEqual(data)

    const native = (await admin.request('GET', `/api/v1/directories/${dir}/users/${data.userId}`)).json()
    expect(native).toMatchObject({
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      username: 'ada',
      displayName: 'Ada L.',
      externalId: 'crm-1',
      metadata: { accessLevel: 2, referral: 'friend' },
      fields: { 'vip-level': 'Gold', xp: 10 },
    })
    expect(JSON.stringify(native)).not.toContain('s3cret')
    const history = (await admin.request('GET', `/api/v1/directories/${dir}/users/${data.userId}/history`)).json().data
    expect(history.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([['create', 'returning']])
  })

  it('create user: bad input is a 400 in the integration envelope, a taken email a 409', async () => {
    const { key } = await community(h)
    const url = `${BASE}/users`
    expect((await key.request('POST', url, { email: 'a@x.io' })).statusCode).toBe(201)
    expectReturningError(await key.request('POST', url, { email: 'a@x.io' }), 409, /already/)
    expectReturningError(await key.request('POST', url, { email: 'b@x.io', firstname: 7 }), 400, 'body.firstname: must be string')
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', firstname: 'x'.repeat(256) }),
      400,
      'body.firstname: must be at most 255 characters',
    )
    expectReturningError(await key.request('POST', url, { email: 'not-an-email' }), 400, 'email: must be a valid email address')
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', username: 'two words' }),
      400,
      /^username: must match the pattern/,
    )
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', password: 'a', confirmPassword: 'b' }),
      400,
      'confirmPassword: must equal password',
    )
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', customFields: [{ fieldIdorName: 'nope', value: 1 }] }),
      400,
      "customFields.0.fieldIdorName: no user field 'nope' in this community",
    )
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', customFields: [{ fieldIdorName: 'xp', value: 'many' }] }),
      400,
      'xp: must be number or null',
    )
    expectReturningError(await key.request('POST', url, { email: 'b@x.io', isAdmin: true }), 400, /isAdmin/)
    expectReturningError(
      await key.request('POST', url, { email: 'b@x.io', communityId: 'ffffffffffffffffffffffff' }),
      404,
      "No community 'ffffffffffffffffffffffff' for this API key",
    )
    expectReturningError(await key.request('POST', `${BASE}/users/info`, { idOrEmail: 'ghost@x.io' }), 404, 'User not found')
    expectReturningError(await key.request('POST', `${BASE}/users/info`, {}), 400, "body.idOrEmail: 'idOrEmail' is required")
  })

  it('every route needs a Bearer key limited to one community; other tenants see nothing', async () => {
    const { key, admin, dir, cid } = await community(h)
    const made = (await key.request('POST', `${BASE}/users`, { email: 'own@x.io' })).json().data
    const app = h.app().app
    const anon = await app.inject({ method: 'POST', url: `${BASE}/users/info`, payload: { idOrEmail: 'own@x.io' } })
    expectReturningError(anon, 401, 'Send the API key as "Authorization: Bearer <key>"')
    expect(anon.headers['www-authenticate']).toBe('Bearer')
    expectReturningError(
      await app.inject({ method: 'GET', url: `${BASE}/communities/${cid}/user-fields`, headers: { authorization: 'Bearer wrong' } }),
      401,
      'The API key is unknown or revoked',
      'application',
    )
    // The tenant's admin key is not limited to one community.
    expectReturningError(await admin.request('POST', `${BASE}/users/info`, { idOrEmail: 'own@x.io' }), 403, /not limited to one community/)
    const reader = await admin.newKey(['read'], [dir])
    expectReturningError(await reader.request('POST', `${BASE}/users`, { email: 'r@x.io' }), 403, "This operation needs the 'write' scope")
    expectReturningError(
      await reader.request('POST', `${BASE}/communities/${cid}/user-fields`, { name: 'x', type: 'text' }),
      403,
      "This operation needs the 'admin' scope",
      'application',
    )
    expect((await reader.request('POST', `${BASE}/users/info`, { idOrEmail: 'own@x.io' })).statusCode).toBe(200)

    const other = await community(h)
    expectReturningError(await other.key.request('POST', `${BASE}/users/info`, { idOrEmail: made.userId }), 404, 'User not found')
    expectReturningError(
      await other.key.request('GET', `${BASE}/communities/${cid}/user-fields`),
      404,
      `No community '${cid}' for this API key`,
      'application',
    )
    expectReturningError(
      await other.key.request('POST', `${BASE}/users/manage`, { action: 'delete', user: 'own@x.io' }),
      404,
      'User not found',
    )
    expect((await other.key.request('POST', `${BASE}/users/filter`, {})).json().data.users).toEqual([])
    expect((await other.key.request('GET', `${BASE}/communities/${other.cid}/user-field-histories`)).json().data).toEqual([])
    expectReturningError(await key.request('GET', `${BASE}/nowhere`), 404, 'No route GET /returning/apis/v1/nowhere')
  })

  it('user fields: create (both variants), list, get by _id or key, update, delete, in the application envelope', async () => {
    const { key, dir, cid } = await community(h)
    const base = `${BASE}/communities/${cid}/user-fields`
    const app = await key.request('POST', base, { field: 'deposit-amount', name: 'Deposit amount', type: 'number' })
    expect(app.statusCode, app.body).toBe(201)
    expect(app.json()).toEqual({
      meta: { status: 'success', statusCode: 201 },
      message: 'Create user field successful',
      data: {
        _id: expect.stringMatching(OBJECT_ID),
        field: 'deposit-amount',
        name: 'Deposit amount',
        type: 'number',
        required: false,
        creator: null,
        communityId: cid,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    })
    const integ = await key.request('POST', `${BASE}/communities/${dir}/user-fields`, {
      name: 'vip tier',
      type: 'select',
      options: ['Gold', 'Silver'],
      required: false,
      description: 'Tier',
    })
    expect(integ.json().data).toMatchObject({ field: 'vip-tier', name: 'vip tier', type: 'select', options: ['Gold', 'Silver'] })
    const id = app.json().data._id
    const list = (await key.request('GET', base)).json()
    expect(list).toMatchObject({ meta: { status: 'success', statusCode: 200 }, message: 'Get user fields successful' })
    expect(list.data.map((f: { field: string }) => f.field)).toEqual(['deposit-amount', 'vip-tier'])
    expect((await key.request('GET', `${base}/${id}`)).json().data).toEqual(app.json().data)
    expect((await key.request('GET', `${base}/deposit-amount`)).json().data._id).toBe(id)
    const upd = await key.request('PUT', `${base}/${id}`, { name: 'Deposit (USD)', required: false })
    expect(upd.json()).toMatchObject({
      meta: { status: 'success', statusCode: 200 },
      message: 'Updated user field',
      data: { _id: id, name: 'Deposit (USD)' },
    })
    expectReturningError(
      await key.request('PUT', `${base}/${id}`, { type: 'text' }),
      400,
      'type: the type of a user field cannot be changed; create another field',
      'application',
    )
    expectReturningError(
      await key.request('POST', base, { name: 'deposit amount', type: 'number' }),
      409,
      "A field 'deposit-amount' already exists",
      'application',
    )
    expectReturningError(await key.request('POST', base, { name: 'x', type: 'colour' }), 400, /body\.type/, 'application')
    expectReturningError(
      await key.request('POST', base, { name: 'x', type: 'select' }),
      400,
      "options: a 'select' field needs options",
      'application',
    )
    expectReturningError(
      await key.request('POST', base, { name: 'x', type: 'text', defaultValue: 'a' }),
      400,
      /defaultValue: default values are not supported/,
      'application',
    )
    expectReturningError(
      await key.request('POST', base, { name: '1st', type: 'text' }),
      400,
      /key: must start with a letter/,
      'application',
    )
    expect((await key.request('DELETE', `${base}/${id}`)).json()).toEqual({
      meta: { status: 'success', statusCode: 200 },
      message: 'Deleted user field',
      data: { _id: id, field: 'deposit-amount' },
    })
    expectReturningError(await key.request('GET', `${base}/${id}`), 404, `No field '${id}' in this directory`, 'application')
    expectReturningError(await key.request('GET', `${base}/email`), 404, "No field 'email' in this directory", 'application')
  })

  it('get users by filter: exact match, gte/lte ranges, join_date, 200 a page by cursor or by page number', async () => {
    const { key, admin, dir } = await community(h)
    await key.request('POST', `${BASE}/communities/${dir}/user-fields`, { field: 'vip', name: 'VIP', type: 'text' })
    // A read defines nothing: the platform's xp and coins are stored with the door's first write.
    expect((await key.request('POST', `${BASE}/users/filter`, { filter: { xp: { gte: 1 } } })).json()).toEqual({
      status: 'success',
      data: { users: [], next_cursor: null },
    })
    const schemaKeys = async () =>
      (await admin.request('GET', `/api/v1/directories/${dir}/fields`)).json().data.map((f: { key: string }) => f.key)
    expect(await schemaKeys()).not.toContain('xp')
    for (const key of ['xp', 'coins'])
      expect((await admin.request('POST', `/api/v1/directories/${dir}/fields`, { key, type: 'number' })).statusCode).toBe(201)
    const rows = Array.from({ length: 450 }, (_, i) => ({
      email: `u${i}@x.io`,
      firstName: i % 2 ? 'Odd' : 'Even',
      fields: { xp: i, coins: i % 10, vip: i % 3 ? 'no' : 'Gold' },
    }))
    expect((await admin.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows })).json().summary.created).toBe(450)
    const filter = (body: unknown) =>
      key.request('POST', `${BASE}/users/filter`, body).then((r) => {
        expect(r.statusCode, r.body).toBe(200)
        return r.json()
      })

    const exact = await filter({ fields: ['email', 'xp', 'vip'], filter: { email: 'U7@x.io' } })
    expect(exact).toEqual({
      status: 'success',
      data: { users: [{ userId: expect.any(String), email: 'u7@x.io', xp: 7, vip: 'no' }], next_cursor: null },
    })
    const range = await filter({ fields: ['xp'], filter: { xp: { gte: 100, lte: 109 }, first_name: 'Odd' } })
    expect(range.data.users.map((u: { xp: number }) => u.xp)).toEqual([101, 103, 105, 107, 109])
    const all = await filter({ filter: { vip: 'Gold', coins: { lte: 3 } } })
    expect(Object.keys(all.data.users[0])).toEqual(['userId', 'email', 'first_name', 'last_name', 'join_date', 'xp', 'coins', 'vip'])
    expect(all.data.users.every((u: { vip: string; coins: number }) => u.vip === 'Gold' && u.coins <= 3)).toBe(true)
    expect((await filter({ filter: { vip: 'gold' } })).data.users).toEqual([])
    const today = new Date().toISOString().slice(0, 10)
    expect((await filter({ fields: ['email'], filter: { join_date: { gte: today, lte: today } }, page: 3 })).data).toMatchObject({
      total_pages: 3,
      current_page: 3,
    })
    expect((await filter({ fields: ['email'], filter: { join_date: { lte: '2000-01-01' } } })).data).toEqual({
      users: [],
      next_cursor: null,
    })

    // Cursor mode: pages of 200 until next_cursor is null.
    const seen: string[] = []
    let cursor: string | undefined
    for (let i = 0; i < 5; i++) {
      const page = await filter({ fields: ['email'], ...(cursor ? { cursor } : {}) })
      seen.push(...page.data.users.map((u: { email: string }) => u.email))
      expect(page.data.users.length).toBeLessThanOrEqual(200)
      cursor = page.data.next_cursor ?? undefined
      if (!cursor) break
    }
    expect(seen).toEqual(rows.map((r) => r.email))
    const paged = await filter({ fields: ['email'], page: 2 })
    expect(paged.data).toMatchObject({ total_pages: 3, current_page: 2 })
    expect(paged.data.users).toHaveLength(200)
    expect(paged.data.users[0].email).toBe('u200@x.io')

    const bad = (body: unknown) => key.request('POST', `${BASE}/users/filter`, body)
    expectReturningError(await bad({ cursor: 'abc', page: 1 }), 400, 'Send either cursor or page, not both')
    expectReturningError(await bad({ cursor: 'abc' }), 400, 'The cursor is not one this server issued; start again without it')
    expectReturningError(await bad({ filter: { xp: 'ten' } }), 400, 'xp: must be a number')
    expectReturningError(await bad({ filter: { nope: 1 } }), 400, "nope: no field 'fields.nope' to filter by in this directory")
    expectReturningError(
      await bad({ filter: { join_date: { gte: 'soon' } } }),
      400,
      'join_date: must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
    )
    expectReturningError(await bad({ fields: ['email', 'ghost'] }), 400, "fields: no user field 'ghost' in this community")
    expectReturningError(await bad({ filter: { xp: { gt: 1 } } }), 400, /body\.filter/)
    expectReturningError(await bad({ page: 0 }), 400, /body\.page/)
  })

  it('manage: delete keeps the last state in history; restore brings the user back with the same id and values', async () => {
    const { key, admin, dir } = await community(h)
    await key.request('POST', `${BASE}/communities/${dir}/user-fields`, { field: 'vip', name: 'VIP', type: 'text' })
    const made = (
      await key.request('POST', `${BASE}/users`, {
        email: 'johndoe@x.io',
        username: 'johndoe',
        firstname: 'John',
        customFields: [{ fieldIdorName: 'vip', value: 'Gold' }],
      })
    ).json().data
    const before = (await admin.request('GET', `/api/v1/directories/${dir}/users/${made.userId}`)).json()
    const del = await key.request('POST', `${BASE}/users/manage`, { action: 'delete', user: 'johndoe' })
    expect(del.json()).toEqual({ status: 'success', message: 'User deleted successfully', data: { userId: made.userId } })
    expectReturningError(await key.request('POST', `${BASE}/users/info`, { idOrEmail: 'johndoe@x.io' }), 404, 'User not found')
    expectReturningError(await key.request('POST', `${BASE}/users/manage`, { action: 'delete', user: 'johndoe' }), 404, 'User not found')

    const res = await key.request('POST', `${BASE}/users/manage`, { action: 'restore', user: 'johndoe' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      status: 'success',
      message: 'User restored successfully',
      data: { userId: made.userId, firstName: 'John', customFields: { vip: 'Gold' } },
    })
    const after = (await admin.request('GET', `/api/v1/directories/${dir}/users/${made.userId}`)).json()
    const same = ({ createdAt: _c, updatedAt: _u, version: _v, ...rest }: Record<string, unknown>) => rest
    expect(same(after)).toEqual(same(before))
    const history = (await admin.request('GET', `/api/v1/directories/${dir}/users/${made.userId}/history`)).json().data
    expect(history.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([
      ['create', 'returning'],
      ['delete', 'returning'],
      ['create', 'returning'],
    ])

    expectReturningError(
      await key.request('POST', `${BASE}/users/manage`, { action: 'restore', user: 'johndoe@x.io' }),
      409,
      "User 'johndoe@x.io' exists; only a deleted user can be restored",
    )
    expectReturningError(
      await key.request('POST', `${BASE}/users/manage`, { action: 'restore', user: 'nobody' }),
      404,
      "No user 'nobody' in this directory",
    )
    expectReturningError(await key.request('POST', `${BASE}/users/manage`, { action: 'archive', user: 'johndoe' }), 400, /body\.action/)
    // By id, after a second delete: the newest deletion is the one restored.
    await key.request('POST', `${BASE}/users/manage`, { action: 'delete', user: made.userId })
    expect((await key.request('POST', `${BASE}/users/manage`, { action: 'restore', user: made.userId })).json().data.userId).toBe(
      made.userId,
    )
  })

  it('user field histories: create one (overwrite, add, subtract), then all, per field, per user, per field and user', async () => {
    const { key, admin, dir, cid } = await community(h)
    const base = `${BASE}/communities/${cid}/user-field-histories`
    const a = (await key.request('POST', `${BASE}/users`, { email: 'a@x.io' })).json().data.userId as string
    const b = (await key.request('POST', `${BASE}/users`, { email: 'b@x.io' })).json().data.userId as string
    const coinsId = (await key.request('GET', `${BASE}/communities/${cid}/user-fields/coins`)).json().data._id as string

    const first = await key.request('POST', `${base}/users/${a}`, { fieldId: 'xp', value: 50 })
    expect(first.statusCode, first.body).toBe(201)
    expect(first.json()).toEqual({
      meta: { status: 'success', statusCode: 201 },
      message: 'Create user field history successful',
      data: {
        _id: expect.stringMatching(OBJECT_ID),
        communityId: cid,
        fieldId: expect.stringMatching(OBJECT_ID),
        field: 'xp',
        userId: a,
        previousValue: null,
        value: 50,
        operation: 'overwrite',
        source: 'api',
        channel: 'returning',
        jobId: null,
        createdAt: expect.any(String),
      },
    })
    expect((await key.request('POST', `${base}/users/${a}`, { field: 'xp', value: 20, operation: 'add' })).json().data).toMatchObject({
      previousValue: 50,
      value: 70,
    })
    expect(
      (await key.request('POST', `${base}/users/${a}`, { fieldId: coinsId, value: 5, operation: 'subtract' })).json().data,
    ).toMatchObject({ field: 'coins', previousValue: null, value: -5 })
    expect((await key.request('POST', `${base}/users/${b}`, { fieldId: 'xp', value: 1 })).statusCode).toBe(201)
    const same = await key.request('POST', `${base}/users/${b}`, { fieldId: 'xp', value: 1, operation: 'overwrite' })
    expect(same.json()).toEqual({
      meta: { status: 'success', statusCode: 200 },
      message: 'The value did not change; no history was recorded',
      data: null,
    })
    // A change made elsewhere is history too, with its own source.
    await admin.request(
      'PATCH',
      `/api/v1/directories/${dir}/users/${b}`,
      { fields: { xp: 2 }, email: 'b2@x.io' },
      { 'rollcall-channel': 'console' },
    )

    const items = async (url: string) => {
      const r = await key.request('GET', url)
      expect(r.statusCode, r.body).toBe(200)
      return (r.json().data as { field: string; userId: string; value: unknown; source: string }[]).map((x) => [
        x.field,
        x.userId === a ? 'a' : 'b',
        x.value,
        x.source,
      ])
    }
    expect(await items(base)).toEqual([
      ['xp', 'b', 2, 'admin'],
      ['xp', 'b', 1, 'api'],
      ['coins', 'a', -5, 'api'],
      ['xp', 'a', 70, 'api'],
      ['xp', 'a', 50, 'api'],
    ])
    expect(await items(`${base}/fields/coins`)).toEqual([['coins', 'a', -5, 'api']])
    expect(await items(`${base}/users/${b}`)).toEqual([
      ['xp', 'b', 2, 'admin'],
      ['xp', 'b', 1, 'api'],
    ])
    expect(await items(`${base}/fields/xp/users/${a}`)).toEqual([
      ['xp', 'a', 70, 'api'],
      ['xp', 'a', 50, 'api'],
    ])
    expect(await items(`${base}?fieldId=${coinsId}&userId=${a}`)).toEqual([['coins', 'a', -5, 'api']])
    const p1 = (await key.request('GET', `${base}?limit=2`)).json()
    expect(p1.data).toHaveLength(2)
    const p2 = (await key.request('GET', `${base}?limit=10&cursor=${p1.next_cursor}`)).json()
    expect(p2.data).toHaveLength(3)
    expect(p2.next_cursor).toBeNull()

    expectReturningError(
      await key.request('POST', `${base}/users/${a}`, { fieldId: 'xp', value: 'lots' }),
      400,
      'xp: must be number or null',
      'application',
    )
    expectReturningError(
      await key.request('POST', `${base}/users/${a}`, { value: 1 }),
      400,
      "fieldId: 'fieldId' (or 'field') is required",
      'application',
    )
    expectReturningError(
      await key.request('POST', `${base}/users/${randomUUID()}`, { fieldId: 'xp', value: 1 }),
      404,
      /^No user/,
      'application',
    )
    expectReturningError(
      await key.request('POST', `${base}/users/not-a-user`, { fieldId: 'xp', value: 1 }),
      404,
      "No user 'not-a-user' in this directory",
      'application',
    )
    expectReturningError(await key.request('GET', `${base}/fields/nope`), 404, "No field 'nope' in this directory", 'application')
    await key.request('POST', `${BASE}/communities/${cid}/user-fields`, { field: 'vip', name: 'VIP', type: 'text' })
    expectReturningError(
      await key.request('POST', `${base}/users/${a}`, { fieldId: 'vip', value: 'x', operation: 'add' }),
      400,
      "vip: 'add' needs a numeric field and operand",
      'application',
    )
  })
})
