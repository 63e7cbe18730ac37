import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { expect, it } from 'vitest'
import { type Client, useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'

/**
 * Conformance of the Dynamic door (/dynamic/api/v0): the seed document's and doors.md's examples
 * replayed field by field, every InternalUserFields field stored and returned, the vendor's
 * envelopes and status codes, and bad input answered per user or per request.
 */

const BASE = '/dynamic/api/v0'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** An environment of the door: a directory of the native API. */
async function environment(c: Client, name = 'Env'): Promise<string> {
  return (await makeDirectory(c, { name })).id
}

function expectError(r: LightMyRequestResponse, status: number, body: Record<string, unknown>): void {
  expect({ status: r.statusCode, body: r.json() }, r.body).toEqual({ status, body })
  expect(r.headers['content-type']).toMatch(/^application\/json/)
}

/** Every field of InternalUserFields, each with a valid value. */
const FULL = {
  id: '3f0b5c2e-8a61-4d39-9a57-0c1d2e3f4a5b',
  alias: 'ada',
  firstName: 'Ada',
  lastName: 'Lovelace',
  jobTitle: 'Analyst',
  phoneNumber: '+44 20 7946 0958',
  metadata: { tier: 'gold', seats: 3 },
  mfaBackupCodeAcknowledgement: 'pending',
  tShirtSize: 'M',
  team: 'Engines',
  policiesConsent: true,
  country: 'GB',
  username: 'ada_lovelace-1815',
  btcWallet: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
  kdaWallet: 'k:554754f48b16df24b552f6832dda090642ed9658559fef9f3ee1bb4637ea7c94',
  ltcWallet: 'ltc1q8c6fshw2dlwun7ekn9qwf37cu2rn755u9ym7p0',
  ckbWallet: 'ckb1qyqrdsefa43s6m882pcj53m4gdnj4k440axqdt9rtd',
  kasWallet: 'kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73',
  dogeWallet: 'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L',
  emailNotification: true,
  discordNotification: false,
  newsletterNotification: true,
  emailVerifiedAt: '2024-05-01T10:00:00.000Z',
  email: 'ada@example.com',
  wallets: [
    {
      publicWalletAddress: '0x71C7656EC7ab88b098defB751B7401B5f6d8976F',
      chain: 'ETH',
      walletName: 'metamask',
      walletProvider: 'browserExtension',
      additionalWalletAddresses: [
        { address: 'bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297', publicKey: '02abc', type: 'ordinals' },
      ],
    },
  ],
  oauthAccounts: [
    {
      provider: 'github',
      accountId: '583231',
      emails: ['ada@example.com'],
      displayName: 'Ada L.',
      username: 'ada-gh',
      photos: ['https://example.com/a.png'],
      profile: { company: 'Analytical' },
    },
  ],
}

describeEachEngine('Dynamic door', (engine) => {
  const h = useApp(engine)

  it('replays the doors.md bulk example: 201, created with an email credential, duplicate email failed as {user, error, code}', async () => {
    const c = await h.client()
    const env = await environment(c)
    await c.request('POST', `${BASE}/environments/${env}/users`, { email: 'dup@foo.com' })
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [
      { email: 'a@foo.com', alias: 'a' },
      { email: 'dup@foo.com' },
    ])
    expect(r.statusCode, r.body).toBe(201)
    const body = r.json()
    expect(Object.keys(body)).toEqual(['created', 'updated', 'failed', 'total'])
    expect(body.total).toBe(2)
    expect(body.updated).toEqual([])
    expect(body.created).toHaveLength(1)
    const a = body.created[0]
    expect(a.id).toMatch(UUID)
    expect(a).toMatchObject({ projectEnvironmentId: env, email: 'a@foo.com', alias: 'a', metadata: {} })
    expect(a.verifiedCredentials).toEqual([{ id: expect.stringMatching(UUID), format: 'email', email: 'a@foo.com', signInEnabled: true }])
    expect(body.failed).toEqual([
      { user: { email: 'dup@foo.com', projectEnvironmentId: env }, error: 'Email already exists', code: 'email_already_exists' },
    ])
  })

  it('replays the seed: POST /environments/{environmentId}/users/bulk?upsert= with a JSON array, Bearer auth, 201 {created, updated, failed, total}', async () => {
    const c = await h.client()
    const env = await environment(c)
    const first = await c.request('POST', `${BASE}/environments/${env}/users/bulk?upsert=false`, [{ email: 'x@foo.com', firstName: 'X' }])
    expect(first.statusCode).toBe(201)
    expect(first.json()).toMatchObject({ created: [{ email: 'x@foo.com', firstName: 'X' }], updated: [], failed: [], total: 1 })
    const up = await c.request('POST', `${BASE}/environments/${env}/users/bulk?upsert=true`, [
      { email: 'x@foo.com', lastName: 'Y' },
      { email: 'z@foo.com' },
    ])
    expect(up.statusCode).toBe(201)
    expect(up.json()).toMatchObject({
      created: [{ email: 'z@foo.com' }],
      updated: [{ email: 'x@foo.com', firstName: 'X', lastName: 'Y' }],
      failed: [],
      total: 2,
    })
    const unauth = await h.app().app.inject({ method: 'POST', url: `${BASE}/environments/${env}/users/bulk`, payload: [] })
    expectError(unauth, 401, { error: expect.any(String) })
  })

  it('stores every InternalUserFields field and returns it in the User shape, through the door and the native API', async () => {
    const c = await h.client()
    const env = await environment(c)
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [FULL])
    expect(r.statusCode, r.body).toBe(201)
    const user = r.json().created[0]
    const { wallets, oauthAccounts, emailVerifiedAt, ...plain } = FULL
    expect(user).toMatchObject({ ...plain, projectEnvironmentId: env, createdAt: expect.any(String), updatedAt: expect.any(String) })
    expect(user.wallets).toEqual([
      {
        id: expect.stringMatching(UUID),
        name: 'metamask',
        chain: 'ETH',
        publicKey: wallets[0].publicWalletAddress,
        provider: 'browserExtension',
      },
    ])
    expect(user.oauthAccounts).toEqual([{ id: expect.stringMatching(UUID), provider: 'github', accountUsername: 'ada-gh' }])
    expect(user.verifiedCredentials).toEqual([
      { id: expect.stringMatching(UUID), format: 'email', email: 'ada@example.com', signInEnabled: true, verifiedAt: emailVerifiedAt },
      {
        id: user.wallets[0].id,
        format: 'blockchain',
        address: wallets[0].publicWalletAddress,
        publicIdentifier: wallets[0].publicWalletAddress,
        chain: 'ETH',
        walletName: 'metamask',
        walletProvider: 'browserExtension',
        walletAdditionalAddresses: wallets[0].additionalWalletAddresses,
        signInEnabled: true,
      },
      {
        id: user.oauthAccounts[0].id,
        format: 'oauth',
        oauthProvider: 'github',
        oauthAccountId: '583231',
        oauthUsername: 'ada-gh',
        publicIdentifier: 'ada-gh',
        oauthDisplayName: 'Ada L.',
        oauthEmails: ['ada@example.com'],
        oauthAccountPhotos: ['https://example.com/a.png'],
        oauthMetadata: { company: 'Analytical' },
        signInEnabled: true,
      },
    ])

    // The door reads back what it wrote, ids of credentials included.
    const got = await c.request('GET', `${BASE}/environments/${env}/users/${FULL.id}`)
    expect(got.statusCode).toBe(200)
    expect(got.json()).toEqual({ user })
    expect((await c.request('GET', `${BASE}/users/${FULL.id}`)).json()).toEqual({ user })

    // The native API holds the same values, under Rollcall's names.
    const native = (await c.request('GET', `/api/v1/directories/${env}/users/${FULL.id}`)).json()
    expect(native).toMatchObject({
      id: FULL.id,
      email: FULL.email,
      emailVerifiedAt,
      username: FULL.username,
      firstName: 'Ada',
      lastName: 'Lovelace',
      displayName: 'ada',
      phone: FULL.phoneNumber,
      country: 'GB',
      metadata: FULL.metadata,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
    })
    const {
      id: _i,
      alias: _a,
      firstName: _f,
      lastName: _l,
      phoneNumber: _p,
      metadata: _m,
      country: _c,
      username: _u,
      email: _e,
      emailVerifiedAt: _v,
      ...custom
    } = FULL
    expect(native.fields).toEqual({ ...custom, wallets, oauthAccounts })
    const history = (await c.request('GET', `/api/v1/directories/${env}/users/${FULL.id}/history`)).json().data
    expect(history.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([['create', 'dynamic']])
    expect(history[0].changes['fields.jobTitle']).toEqual([null, 'Analyst'])

    // Its custom fields are the directory's field definitions, typed.
    const defs = (await c.request('GET', `/api/v1/directories/${env}/fields`)).json().data as {
      key: string
      type: string
      builtIn: boolean
    }[]
    const types = Object.fromEntries(defs.filter((d) => !d.builtIn).map((d) => [d.key, d.type]))
    expect(types).toMatchObject({
      jobTitle: 'string',
      mfaBackupCodeAcknowledgement: 'enum',
      policiesConsent: 'boolean',
      wallets: 'json',
      oauthAccounts: 'json',
      btcWallet: 'string',
    })
  })

  it('a user written natively reads back through the door with null for what it lacks', async () => {
    const c = await h.client()
    const env = await environment(c)
    const u = (
      await c.request('POST', `/api/v1/directories/${env}/users`, {
        email: 'n@x.io',
        displayName: 'N',
        lastLoginAt: '2024-02-02T00:00:00.000Z',
      })
    ).json()
    const got = (await c.request('GET', `${BASE}/environments/${env}/users/${u.id}`)).json().user
    expect(got).toMatchObject({
      id: u.id,
      email: 'n@x.io',
      alias: 'N',
      jobTitle: null,
      policiesConsent: null,
      mfaBackupCodeAcknowledgement: null,
      wallets: [],
      oauthAccounts: [],
      lastVisit: '2024-02-02T00:00:00.000Z',
    })
  })

  it('upsert: matches by id, then email, then username; replaces metadata; unchanged users count as updated', async () => {
    const c = await h.client()
    const env = await environment(c)
    const url = `${BASE}/environments/${env}/users/bulk?upsert=true`
    const made = (await c.request('POST', url, [{ email: 'm@x.io', username: 'm1', metadata: { a: 1, b: 2 } }])).json().created[0]
    const r = (
      await c.request('POST', url, [
        { id: made.id, jobTitle: 'CTO' },
        { email: 'M@X.IO', metadata: { c: 3 } },
        { username: 'M1', team: 'Core' },
        { email: 'm@x.io' },
      ])
    ).json()
    expect(r.created).toEqual([])
    expect(r.failed).toEqual([])
    expect(r.updated.map((u: { id: string }) => u.id)).toEqual([made.id, made.id, made.id, made.id])
    expect(r.updated[3]).toMatchObject({ jobTitle: 'CTO', team: 'Core', metadata: { c: 3 } })
    // Without upsert, existing users fail with Dynamic's codes; a client-chosen id creates.
    const other = randomUUID()
    const r2 = (
      await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [
        { id: made.id, email: 'new@x.io' },
        { email: 'new2@x.io', username: 'm1' },
        { id: other, email: 'other@x.io' },
      ])
    ).json()
    expect(r2.failed.map((f: { code: string; error: string }) => [f.code, f.error])).toEqual([
      ['duplicate_exists', 'A user with this id already exists'],
      ['username_already_exists', 'Username already exists'],
    ])
    expect(r2.created.map((u: { id: string }) => u.id)).toEqual([other])
  })

  it('bad users fail one by one with a precise error and code; the rest are created', async () => {
    const c = await h.client()
    const env = await environment(c)
    const long = 'x'.repeat(256)
    const items = [
      { email: 'ok@x.io' },
      { email: 'a@x.io', firstName: 5 },
      { email: 'b@x.io', alias: long },
      { email: `${'e'.repeat(251)}@x.io` },
      { email: 'c@x.io', country: 'XX' },
      { email: 'd@x.io', country: 'usa' },
      { email: 'e@x.io', username: 'bad name' },
      { email: 'f@x.io', username: 'a.b' },
      { email: 'g@x.io', mfaBackupCodeAcknowledgement: 'maybe' },
      { email: 'h@x.io', wallets: [{ publicWalletAddress: '0x1', chain: 'DOGE', walletName: 'w', walletProvider: 'browserExtension' }] },
      { email: 'i@x.io', favouriteColour: 'blue' },
      {},
      'not an object',
      { email: 'not-an-email' },
      { email: 'j@x.io', policiesConsent: 'yes' },
      { email: 'k@x.io', id: 'short' },
      { email: 'l@x.io', jobTitle: long, tShirtSize: long },
      { email: 'm@x.io', emailVerifiedAt: 'yesterday' },
      { email: 'n@x.io', firstName: 'nul\u0000' },
    ]
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, items)
    expect(r.statusCode, r.body).toBe(201)
    const body = r.json()
    expect(body.total).toBe(items.length)
    expect(body.created.map((u: { email: string }) => u.email)).toEqual(['ok@x.io'])
    const failed = body.failed.map((f: { error: string; code: string }) => [f.code, f.error])
    expect(failed).toEqual([
      ['invalid_user', 'firstName: must be string or null'],
      ['invalid_user', 'alias: must be at most 255 characters'],
      ['invalid_email', 'email: must be at most 255 characters'],
      ['invalid_user', 'country: must be an ISO 3166-1 alpha-2 country code (like "US"), got "XX"'],
      ['invalid_user', 'country: must be an ISO 3166-1 alpha-2 country code (like "US"), got "usa"'],
      ['invalid_username', 'username: must hold only letters, digits, - and _'],
      ['invalid_username', 'username: must hold only letters, digits, - and _'],
      ['invalid_user', 'mfaBackupCodeAcknowledgement: must be one of "pending", "complete", got "maybe"'],
      ['invalid_wallet_address', 'wallets.0.chain: must be one of 14 allowed values, got "DOGE"'],
      ['invalid_user', "favouriteColour: unknown field 'favouriteColour'"],
      ['invalid_user', 'user: at least one field is required'],
      ['invalid_user', 'user: a row must be a JSON object'],
      ['invalid_email', 'email: must be a valid email address'],
      ['invalid_user', 'policiesConsent: must be boolean or null'],
      ['invalid_user', 'id: must be a UUID'],
      ['invalid_user', 'jobTitle: must be at most 255 characters; tShirtSize: must be at most 255 characters'],
      ['invalid_user', 'emailVerifiedAt: must be an ISO 8601 date-time with a time zone'],
      ['invalid_user', 'firstName: text may not contain the NUL character (U+0000)'],
    ])
    expect(body.failed[0].user).toEqual({ email: 'a@x.io', firstName: 5, projectEnvironmentId: env })
    expect(body.failed[11].user).toBe('not an object')
  })

  it('request errors: not an array, over the limit, bad query, unknown and forbidden environments, missing or wrong key, scopes', async () => {
    const c = await h.client()
    const env = await environment(c)
    const bulk = `${BASE}/environments/${env}/users/bulk`
    expectError(await c.request('POST', bulk, { email: 'a@x.io' }), 400, { error: expect.stringContaining('must be array') })
    const over = Array.from({ length: 10_001 }, (_, i) => ({ email: `u${i}@x.io` }))
    expectError(await c.request('POST', bulk, over), 400, {
      error: `At most 10000 users per request, got 10001; send larger inputs to the native imports: POST /api/v1/directories/${env}/imports`,
    })
    expect((await c.request('GET', `${BASE}/environments/${env}/users`)).json().count).toBe(0)
    expectError(await c.request('POST', `${bulk}?upsert=maybe`, []), 400, { error: expect.stringContaining('querystring.upsert') })
    expectError(await c.request('POST', bulk, '[{"email":', { 'content-type': 'application/json' }), 400, {
      error: expect.stringContaining('not valid JSON'),
    })
    expectError(await c.request('POST', `${BASE}/environments/${randomUUID()}/users/bulk`, []), 404, {
      error: 'Environment not found',
      code: 'environment_not_found',
    })
    expectError(await c.request('POST', `${BASE}/environments/not-36-chars/users/bulk`, []), 400, {
      error: expect.stringContaining('environmentId'),
    })

    const other = await environment(c, 'Other')
    const limited = await c.newKey(['write'], [env])
    expect((await limited.request('POST', bulk, [{ email: 'l@x.io' }])).statusCode).toBe(201)
    expectError(await limited.request('POST', `${BASE}/environments/${other}/users/bulk`, []), 403, { error: expect.any(String) })
    expectError(await limited.request('GET', `${BASE}/environments/${other}/users`), 403, { error: expect.any(String) })
    const reader = await c.newKey(['read'], [env])
    expectError(await reader.request('POST', bulk, []), 403, { error: "This operation needs the 'write' scope" })
    expect((await reader.request('GET', `${BASE}/environments/${env}/users`)).statusCode).toBe(200)

    const stranger = await h.client()
    expectError(await stranger.request('POST', bulk, []), 404, { error: 'Environment not found', code: 'environment_not_found' })
    const missing = await h.app().app.inject({ method: 'GET', url: `${BASE}/environments/${env}/users` })
    expectError(missing, 401, { error: expect.any(String) })
    expect(missing.headers['www-authenticate']).toBe('Bearer')
    const wrong = await h
      .app()
      .app.inject({ method: 'GET', url: `${BASE}/environments/${env}/users`, headers: { authorization: 'Bearer rc_nope' } })
    expectError(wrong, 401, { error: 'The API key is unknown or revoked' })
    expectError(await c.request('GET', `${BASE}/nowhere`), 404, { error: 'No route GET /dynamic/api/v0/nowhere', code: 'not_found' })
  })

  it('a bulk request takes up to the native sync limit (10,000 by default): 1,001 users are created', async () => {
    const c = await h.client()
    const env = await environment(c)
    const items = Array.from({ length: 1001 }, (_, i) => ({ email: `u${i}@x.io`, team: `t${i % 7}` }))
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, items)
    expect(r.statusCode, r.body.slice(0, 500)).toBe(201)
    const body = r.json()
    expect({ created: body.created.length, updated: body.updated.length, failed: body.failed, total: body.total }).toEqual({
      created: 1001,
      updated: 0,
      failed: [],
      total: 1001,
    })
    expect(body.created[1000]).toMatchObject({ email: 'u1000@x.io', team: 't6' })
    expect((await c.request('GET', `${BASE}/environments/${env}/users?limit=1`)).json().count).toBe(1001)
  })

  it('phoneNumber is any string of at most 255 characters, as Dynamic documents: read back exactly as sent', async () => {
    const c = await h.client()
    const env = await environment(c)
    const sent = ['(555) 123-4567 ext. 89', 'n/a', '5'.repeat(255), '+44 20 7946 0958']
    const items = [
      ...sent.map((phoneNumber, i) => ({ email: `p${i}@x.io`, phoneNumber })),
      { email: 'empty@x.io', phoneNumber: '' },
      { email: 'long@x.io', phoneNumber: '5'.repeat(256) },
    ]
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, items)
    expect(r.statusCode, r.body).toBe(201)
    const body = r.json()
    expect(body.created.map((u: { phoneNumber: string | null }) => u.phoneNumber)).toEqual([...sent, null])
    expect(body.failed).toEqual([
      { user: { ...items[5], projectEnvironmentId: env }, error: 'phoneNumber: must be at most 255 characters', code: 'invalid_phone' },
    ])
    const ids = body.created.map((u: { id: string }) => u.id) as string[]
    for (const [i, id] of ids.slice(0, sent.length).entries())
      expect((await c.request('GET', `${BASE}/users/${id}`)).json().user.phoneNumber).toBe(sent[i])
    const listed = (
      await c.request(
        'GET',
        `${BASE}/environments/${env}/users?filter[filterColumn]=phoneNumber&filter[filterValue]=${encodeURIComponent('N/A')}`,
      )
    ).json()
    expect(listed.users.map((u: { email: string }) => u.email)).toEqual(['p1@x.io'])

    // The native API keeps `phone` to its rule: a free-form value is in fields.phoneText, never in phone.
    const nativeOf = async (id: string) => (await c.request('GET', `/api/v1/directories/${env}/users/${id}`)).json()
    expect(await nativeOf(ids[0])).toMatchObject({ phone: null, fields: { phoneText: '(555) 123-4567 ext. 89' } })
    expect((await nativeOf(ids[3])).phone).toBe('+44 20 7946 0958')
    expect((await nativeOf(ids[3])).fields).not.toHaveProperty('phoneText')

    // Upsert and PUT replace one form with the other; "" clears.
    const up = (
      await c.request('POST', `${BASE}/environments/${env}/users/bulk?upsert=true`, [
        { email: 'p0@x.io', phoneNumber: '+1 555 123 4567' },
        { email: 'p3@x.io', phoneNumber: 'ext. 12' },
      ])
    ).json()
    expect(up.updated.map((u: { phoneNumber: string }) => u.phoneNumber)).toEqual(['+1 555 123 4567', 'ext. 12'])
    expect(await nativeOf(ids[0])).toMatchObject({ phone: '+1 555 123 4567' })
    expect((await nativeOf(ids[0])).fields).not.toHaveProperty('phoneText')
    expect(await nativeOf(ids[3])).toMatchObject({ phone: null, fields: { phoneText: 'ext. 12' } })
    const put = await c.request('PUT', `${BASE}/users/${ids[1]}`, { phoneNumber: '' })
    expect(put.json().user.phoneNumber).toBeNull()
    expect((await nativeOf(ids[1])).fields).not.toHaveProperty('phoneText')
    const one = await c.request('POST', `${BASE}/environments/${env}/users`, { email: 'one@x.io', phoneNumber: 'call the front desk' })
    expect(one.json().user.phoneNumber).toBe('call the front desk')
  })

  it("a directory's own rule on the free-form phone field is reported as phoneNumber (invalid_phone)", async () => {
    const c = await h.client()
    const env = await environment(c)
    expect(
      (await c.request('POST', `/api/v1/directories/${env}/fields`, { key: 'phoneText', type: 'string', maxLength: 10 })).statusCode,
    ).toBe(201)
    const r = (
      await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [
        { email: 'a@x.io', phoneNumber: 'ask at the desk' },
        { email: 'b@x.io', phoneNumber: 'n/a' },
      ])
    ).json()
    expect(r.failed.map((f: { code: string; error: string }) => [f.code, f.error])).toEqual([
      ['invalid_phone', 'phoneNumber: must be at most 10 characters'],
    ])
    expect(r.created.map((u: { phoneNumber: string }) => u.phoneNumber)).toEqual(['n/a'])
    // Another type under that key is a conflict, never overwritten.
    const env2 = await environment(c, 'Typed')
    await c.request('POST', `/api/v1/directories/${env2}/fields`, { key: 'phoneText', type: 'integer' })
    expectError(await c.request('POST', `${BASE}/environments/${env2}/users/bulk`, [{ email: 'a@x.io' }]), 409, {
      error: "The directory's field 'phoneText' is of type 'integer'; this API needs 'string'",
    })
  })

  it('country is an ISO 3166-1 alpha-2 code in any case, stored upper-case', async () => {
    const c = await h.client()
    const env = await environment(c)
    const r = await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [
      { email: 'us@x.io', country: 'us' },
      { email: 'gb@x.io', country: 'gB' },
      { email: 'zz@x.io', country: 'zz' },
    ])
    expect(r.statusCode, r.body).toBe(201)
    const body = r.json()
    expect(body.created.map((u: { country: string }) => u.country)).toEqual(['US', 'GB'])
    expect(body.failed.map((f: { error: string }) => f.error)).toEqual([
      'country: must be an ISO 3166-1 alpha-2 country code (like "US"), got "zz"',
    ])
    const id = body.created[0].id as string
    expect((await c.request('GET', `/api/v1/directories/${env}/users/${id}`)).json().country).toBe('US')
    expect((await c.request('PUT', `${BASE}/users/${id}`, { country: 'de' })).json().user.country).toBe('DE')
    expect((await c.request('POST', `${BASE}/environments/${env}/users`, { email: 'fr@x.io', country: 'fr' })).json().user.country).toBe(
      'FR',
    )
    expect((await c.request('GET', `/api/v1/directories/${env}/users/${id}`)).json().country).toBe('DE')
  })

  it('create one: 201 {user}; a taken email is a 422 UnprocessableEntity, invalid input a 400', async () => {
    const c = await h.client()
    const env = await environment(c)
    const url = `${BASE}/environments/${env}/users`
    const r = await c.request('POST', url, { email: 'one@x.io', jobTitle: 'Dev' })
    expect(r.statusCode).toBe(201)
    expect(r.json().user).toMatchObject({ email: 'one@x.io', jobTitle: 'Dev', projectEnvironmentId: env })
    expectError(await c.request('POST', url, { email: 'ONE@x.io' }), 422, { error: 'Email already exists', code: 'email_already_exists' })
    expectError(await c.request('POST', url, { email: 'two@x.io', country: 'ZZ' }), 400, {
      error: 'country: must be an ISO 3166-1 alpha-2 country code (like "US"), got "ZZ"',
      code: 'invalid_user',
    })
    expectError(await c.request('POST', url, {}), 400, { error: 'user: at least one field is required', code: 'invalid_user' })
  })

  it('list: {count, users} with offset and limit, filtered by the supported columns', async () => {
    const c = await h.client()
    const env = await environment(c)
    const items = Array.from({ length: 12 }, (_, i) => ({
      email: `u${i}@x.io`,
      username: `u${i}`,
      alias: i % 2 ? 'odd' : 'even',
      jobTitle: i < 3 ? 'Lead' : 'Dev',
    }))
    await c.request('POST', `${BASE}/environments/${env}/users/bulk`, items)
    const url = `${BASE}/environments/${env}/users`
    const all = (await c.request('GET', url)).json()
    expect(all.count).toBe(12)
    expect(all.users.map((u: { email: string }) => u.email)).toEqual(items.map((i) => i.email))
    const page = (await c.request('GET', `${url}?offset=10&limit=5`)).json()
    expect(page).toMatchObject({ count: 12, users: [{ email: 'u10@x.io' }, { email: 'u11@x.io' }] })
    const q = (s: string) => c.request('GET', `${url}?${s}`).then((r) => r.json())
    expect((await q('filter[filterColumn]=email&filter[filterValue]=U3@x.io')).users.map((u: { email: string }) => u.email)).toEqual([
      'u3@x.io',
    ])
    expect((await q('filter%5BfilterColumn%5D=username&filter%5BfilterValue%5D=u4')).count).toBe(1)
    expect((await q('filter[filterColumn]=alias&filter[filterValue]=odd')).count).toBe(6)
    expect((await q('filter[filterColumn]=jobTitle&filter[filterValue]=Lead&limit=2')).count).toBe(3)
    const id = all.users[5].id
    expect((await q(`filter[filterColumn]=id&filter[filterValue]=${id}`)).users[0].id).toBe(id)
    expectError(await c.request('GET', `${url}?filter[filterColumn]=all&filter[filterValue]=u`), 400, {
      error: expect.stringContaining("filterColumn 'all' is not supported"),
    })
    expectError(await c.request('GET', `${url}?limit=0`), 400, { error: expect.stringContaining('querystring.limit') })
    // A directory no Dynamic write ever touched has no jobTitle field yet: nobody matches.
    const fresh = await environment(c, 'Fresh')
    expect(
      (await c.request('GET', `${BASE}/environments/${fresh}/users?filter[filterColumn]=jobTitle&filter[filterValue]=x`)).json(),
    ).toEqual({ count: 0, users: [] })
  })

  it('get, PUT and DELETE by user id, under both paths; PUT overwrites given fields and replaces metadata', async () => {
    const c = await h.client()
    const env = await environment(c)
    const u = (
      await c.request('POST', `${BASE}/environments/${env}/users`, { email: 'p@x.io', firstName: 'P', team: 'A', metadata: { a: 1, b: 2 } })
    ).json().user
    const put = await c.request('PUT', `${BASE}/environments/${env}/users/${u.id}`, { lastName: 'Q', team: 'B', metadata: { c: 3 } })
    expect(put.statusCode, put.body).toBe(200)
    expect(put.json().user).toMatchObject({ id: u.id, email: 'p@x.io', firstName: 'P', lastName: 'Q', team: 'B', metadata: { c: 3 } })
    const legacy = await c.request('PUT', `${BASE}/users/${u.id}`, { newsletterNotification: true })
    expect(legacy.json().user).toMatchObject({ newsletterNotification: true, lastName: 'Q' })
    expectError(await c.request('PUT', `${BASE}/users/${u.id}`, { id: randomUUID() }), 400, {
      error: 'id: a user id cannot be changed',
      code: 'invalid_user',
    })
    expectError(await c.request('PUT', `${BASE}/users/${u.id}`, { username: 'no spaces' }), 400, {
      error: 'username: must hold only letters, digits, - and _',
      code: 'invalid_username',
    })
    await c.request('POST', `${BASE}/environments/${env}/users`, { email: 'taken@x.io' })
    expectError(await c.request('PUT', `${BASE}/users/${u.id}`, { email: 'taken@x.io' }), 422, {
      error: 'Email already exists',
      code: 'email_already_exists',
    })
    expectError(await c.request('GET', `${BASE}/users/${randomUUID()}`), 404, { error: 'User not found', code: 'user_not_found' })
    expectError(await c.request('GET', `${BASE}/environments/${env}/users/nope`), 404, { error: 'User not found', code: 'user_not_found' })
    expectError(await c.request('GET', `${BASE}/users/nope`), 404, { error: 'User not found', code: 'user_not_found' })
    expectError(await c.request('PUT', `${BASE}/environments/${env}/users/${randomUUID()}`, { firstName: 'x' }), 404, {
      error: 'User not found',
      code: 'user_not_found',
    })

    const history = (await c.request('GET', `/api/v1/directories/${env}/users/${u.id}/history`)).json().data
    expect(history.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([
      ['update', 'dynamic'],
      ['update', 'dynamic'],
      ['create', 'dynamic'],
    ])
    expect(history[1].changes).toEqual({
      lastName: [null, 'Q'],
      'fields.team': ['A', 'B'],
      'metadata.a': [1, null],
      'metadata.b': [2, null],
      'metadata.c': [null, 3],
    })

    const del = await c.request('DELETE', `${BASE}/environments/${env}/users/${u.id}`)
    expect(del.statusCode).toBe(204)
    expectError(await c.request('GET', `${BASE}/users/${u.id}`), 404, { error: 'User not found', code: 'user_not_found' })
    expectError(await c.request('DELETE', `${BASE}/users/${u.id}`), 404, { error: 'User not found', code: 'user_not_found' })
    const gone = (await c.request('GET', `/api/v1/directories/${env}/history?userId=${u.id}`)).json().data[0]
    expect(gone).toMatchObject({ action: 'delete', channel: 'dynamic' })
  })

  it("another tenant's users and environments are invisible", async () => {
    const a = await h.client()
    const b = await h.client()
    const envA = await environment(a)
    const envB = await environment(b)
    const u = (await a.request('POST', `${BASE}/environments/${envA}/users`, { email: 'secret@x.io' })).json().user
    expectError(await b.request('GET', `${BASE}/users/${u.id}`), 404, { error: 'User not found', code: 'user_not_found' })
    expectError(await b.request('GET', `${BASE}/environments/${envB}/users/${u.id}`), 404, {
      error: 'User not found',
      code: 'user_not_found',
    })
    expectError(await b.request('GET', `${BASE}/environments/${envA}/users/${u.id}`), 404, {
      error: 'Environment not found',
      code: 'environment_not_found',
    })
    expectError(await b.request('DELETE', `${BASE}/users/${u.id}`), 404, { error: 'User not found', code: 'user_not_found' })
    expect((await b.request('GET', `${BASE}/environments/${envB}/users`)).json()).toEqual({ count: 0, users: [] })
    expect((await a.request('GET', `${BASE}/users/${u.id}`)).json().user.email).toBe('secret@x.io')
  })

  it('a client-chosen id taken in another environment is refused: a user of Y is never shadowed by one planted in X', async () => {
    const admin = await h.client()
    const envX = await environment(admin, 'X')
    const envY = await environment(admin, 'Y')
    const victim = (await admin.request('POST', `${BASE}/environments/${envY}/users`, { email: 'victim@y.io', firstName: 'Victim' })).json()
      .user
    const limited = await admin.newKey(['write'], [envX])
    const planted = { id: victim.id, email: 'mallory@x.io', firstName: 'Mallory' }
    // One by one, in bulk (create and upsert), and through the legacy path: refused, nothing created.
    expectError(await limited.request('POST', `${BASE}/environments/${envX}/users`, planted), 422, {
      error: 'A user with this id already exists',
      code: 'duplicate_exists',
    })
    for (const upsert of ['false', 'true']) {
      const r = await limited.request('POST', `${BASE}/environments/${envX}/users/bulk?upsert=${upsert}`, [planted, { email: 'fine@x.io' }])
      expect(r.statusCode, r.body).toBe(201)
      expect(r.json().failed).toEqual([
        { user: { ...planted, projectEnvironmentId: envX }, error: 'A user with this id already exists', code: 'duplicate_exists' },
      ])
      expect(r.json().total).toBe(2)
    }
    expect(
      (await admin.request('GET', `${BASE}/environments/${envX}/users?filter[filterColumn]=id&filter[filterValue]=${victim.id}`)).json(),
    ).toEqual({ count: 0, users: [] })
    // The tenant admin reads and writes Y's user, not a copy in X.
    expect((await admin.request('GET', `${BASE}/users/${victim.id}`)).json().user).toMatchObject({
      email: 'victim@y.io',
      projectEnvironmentId: envY,
    })
    const put = await admin.request('PUT', `${BASE}/users/${victim.id}`, { lastName: 'Safe' })
    expect(put.json().user).toMatchObject({ email: 'victim@y.io', lastName: 'Safe', projectEnvironmentId: envY })
    // Across tenants too: another tenant's id is taken, and the answer says nothing about where.
    const other = await h.client()
    const envO = await environment(other)
    const r = await other.request('POST', `${BASE}/environments/${envO}/users`, { id: victim.id, email: 'o@o.io' })
    expectError(r, 422, { error: 'A user with this id already exists', code: 'duplicate_exists' })
    expect(r.body).not.toContain(envY)
  })

  it('a custom field of the same key but another type is a conflict, not overwritten', async () => {
    const c = await h.client()
    const env = await environment(c)
    await c.request('POST', `/api/v1/directories/${env}/fields`, { key: 'team', type: 'integer' })
    expectError(await c.request('POST', `${BASE}/environments/${env}/users/bulk`, [{ email: 't@x.io' }]), 409, {
      error: "The directory's field 'team' is of type 'integer'; this API needs 'string'",
    })
    // An existing field of a fitting type is shared.
    const env2 = await environment(c, 'Shared')
    await c.request('POST', `/api/v1/directories/${env2}/fields`, { key: 'jobTitle', type: 'string', maxLength: 20 })
    const r = (await c.request('POST', `${BASE}/environments/${env2}/users/bulk`, [{ email: 't@x.io', jobTitle: 'x'.repeat(21) }])).json()
    expect(r.failed[0].error).toBe('jobTitle: must be at most 20 characters')
  })

  it('the same user through Dynamic, Returning.AI and the native API, with each write named by its channel', async () => {
    const c = await h.client()
    const env = await environment(c)
    const key = await c.newKey(['admin'], [env])
    const made = (
      await key.request('POST', `${BASE}/environments/${env}/users`, {
        email: 'x@x.io',
        firstName: 'Xi',
        lastName: 'Ng',
        alias: 'xn',
        username: 'xng',
        jobTitle: 'Dev',
        policiesConsent: false,
      })
    ).json().user
    const info = (await key.request('POST', '/returning/apis/v1/users/info', { idOrEmail: made.id })).json().data
    expect(info).toMatchObject({
      userId: made.id,
      email: 'x@x.io',
      firstName: 'Xi',
      lastName: 'Ng',
      displayName: 'xn',
      username: 'xng',
      customFields: { jobTitle: 'Dev', policiesConsent: false },
    })
    // Returning.AI writes a value; Dynamic reads it, and every read agrees with the native API.
    await key.request('POST', `/returning/apis/v1/communities/${env}/user-field-histories/users/${made.id}`, {
      field: 'jobTitle',
      value: 'Lead',
    })
    const viaDynamic = (await key.request('GET', `${BASE}/users/${made.id}`)).json().user
    const native = (await c.request('GET', `/api/v1/directories/${env}/users/${made.id}`)).json()
    expect(viaDynamic).toMatchObject({
      jobTitle: 'Lead',
      email: native.email,
      alias: native.displayName,
      username: native.username,
      updatedAt: native.updatedAt,
    })
    expect(native.fields.jobTitle).toBe('Lead')
    const history = (await c.request('GET', `/api/v1/directories/${env}/users/${made.id}/history`)).json().data
    expect(history.map((x: { channel: string }) => x.channel)).toEqual(['returning', 'dynamic'])
  })

  it('Idempotency-Key replays a bulk answer', async () => {
    const c = await h.client()
    const env = await environment(c)
    const url = `${BASE}/environments/${env}/users/bulk`
    const first = await c.request('POST', url, [{ email: 'i@x.io' }], { 'idempotency-key': 'k1' })
    const again = await c.request('POST', url, [{ email: 'i@x.io' }], { 'idempotency-key': 'k1' })
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    expectError(await c.request('POST', url, [{ email: 'j@x.io' }], { 'idempotency-key': 'k1' }), 422, {
      error: expect.stringContaining('k1'),
      code: 'invalid_update',
    })
  })
})
