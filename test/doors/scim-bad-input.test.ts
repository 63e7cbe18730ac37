import { expect, it } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { expectScimError, patchOp, type Scim, scimSetup, URN } from '../helpers/scim.js'

/**
 * Bad input through the SCIM door: each answered with the SCIM status and scimType RFC 7644
 * §3.12 gives it, and nothing written (no user, no version, no history record).
 */
const BODY_LIMIT = 64 * 1024

/** The directory as the native API sees it: users with their versions, and every history record. */
async function snapshot(s: Scim) {
  const users = await s.nativeUsers()
  const history = await Promise.all(users.map((u) => s.history(u.id as string)))
  return { users, history }
}

describeEachEngine('SCIM bad input', (engine) => {
  const h = useApp(engine, { bodyLimit: BODY_LIMIT })

  async function withUsers() {
    const s = await scimSetup(h, [{ key: 'level', type: 'integer' }])
    const ada = (
      await s.req('POST', '/Users', { schemas: [URN.user], userName: 'ada', externalId: 'A1', emails: [{ value: 'ada@example.com' }] })
    ).json()
    const bob = (await s.req('POST', '/Users', { schemas: [URN.user], userName: 'bob' })).json()
    return { s, ada, bob, before: await snapshot(s) }
  }

  it('an unparseable filter, and a filter on an unknown attribute: 400 invalidFilter', async () => {
    const { s, before } = await withUsers()
    for (const filter of ['userName eq', 'userName eq "ada" and (', 'userName ~ "ada"', 'nosuch eq "x"'])
      expectScimError(await s.req('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter')
    expectScimError(
      await s.req('POST', '/Users/.search', { schemas: [URN.searchRequest], filter: 'userName eq "unterminated' }),
      400,
      'invalidFilter',
    )
    expectScimError(await s.req('GET', `/Groups?filter=${encodeURIComponent('displayName eq')}`), 400, 'invalidFilter')
    expectScimError(await s.req('GET', `/Groups?filter=${encodeURIComponent('nosuch eq "x"')}`), 400, 'invalidFilter')
    expect(await snapshot(s)).toEqual(before)
  })

  it('a PATCH path to an unknown attribute: 400 invalidPath, and no operation of the request applies', async () => {
    const { s, ada, before } = await withUsers()
    for (const path of [
      'nosuch',
      'name.nosuch',
      'emails[type eq "work"].nosuch',
      'emails[nosuch eq "x"].value',
      'urn:example:nope:User:x',
      'emails[type eq ',
      'name[givenName eq "x"]',
    ]) {
      const r = await s.req(
        'PATCH',
        `/Users/${ada.id}`,
        patchOp({ op: 'replace', path: 'displayName', value: 'Changed' }, { op: 'replace', path, value: 'x' }),
      )
      expectScimError(r, 400, 'invalidPath')
    }
    expectScimError(await s.req('PATCH', `/Users/${ada.id}`, patchOp({ op: 'add', value: { nosuch: 1 } })), 400, 'invalidPath')
    expect(await snapshot(s)).toEqual(before)
  })

  it('a PATCH on a read-only attribute: 400 mutability', async () => {
    const { s, ada, before } = await withUsers()
    const ops = [
      { op: 'replace', path: 'id', value: '00000000-0000-4000-8000-000000000000' },
      { op: 'replace', path: 'meta.created', value: '2001-01-01T00:00:00Z' },
      { op: 'remove', path: 'meta' },
      { op: 'add', path: 'groups', value: [{ value: 'x' }] },
      { op: 'replace', value: { id: 'someone-else' } },
    ]
    for (const op of ops) expectScimError(await s.req('PATCH', `/Users/${ada.id}`, patchOp(op)), 400, 'mutability')
    // A PUT naming another id in its body is refused the same way.
    expectScimError(
      await s.req('PUT', `/Users/${ada.id}`, { schemas: [URN.user], id: '00000000-0000-4000-8000-000000000000', userName: 'ada' }),
      400,
      'mutability',
    )
    const group = (await s.req('POST', '/Groups', { schemas: [URN.group], displayName: 'G', externalId: 'g-1' })).json()
    expectScimError(
      await s.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'replace', path: 'externalId', value: 'g-2' })),
      400,
      'mutability',
    )
    expectScimError(
      await s.req('PATCH', `/Groups/${group.id}`, patchOp({ op: 'replace', path: 'members.value', value: 'x' })),
      400,
      'mutability',
    )
    expect((await s.req('GET', `/Groups/${group.id}`)).json().externalId).toBe('g-1')
    expect(await snapshot(s)).toEqual(before)
  })

  it('a userName already taken: 409 uniqueness, by create, replace, patch and bulk', async () => {
    const { s, ada, bob, before } = await withUsers()
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'ADA' }), 409, 'uniqueness')
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'carol', externalId: 'A1' }), 409, 'uniqueness')
    expectScimError(await s.req('PUT', `/Users/${bob.id}`, { schemas: [URN.user], userName: 'Ada' }), 409, 'uniqueness')
    expectScimError(await s.req('PATCH', `/Users/${bob.id}`, patchOp({ op: 'replace', path: 'userName', value: 'ada' })), 409, 'uniqueness')
    expectScimError(
      await s.req('PATCH', `/Users/${bob.id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'ADA@example.com' }] })),
      409,
      'uniqueness',
    )
    const bulk = await s.req('POST', '/Bulk', {
      schemas: [URN.bulkRequest],
      Operations: [{ method: 'POST', path: '/Users', bulkId: 'x', data: { userName: 'ada' } }],
    })
    expect(bulk.json().Operations[0]).toMatchObject({ status: '409', response: { scimType: 'uniqueness' } })
    expect(ada.id).toBeTruthy()
    expect(await snapshot(s)).toEqual(before)
  })

  it("a userName that is another user's email (a user without a username reads back its email): 409 uniqueness", async () => {
    const { s, bob } = await withUsers()
    const erin = (await s.admin.request('POST', `/api/v1/directories/${s.dir.id}/users`, { email: 'erin@example.com' })).json()
    const before = await snapshot(s)
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'Erin@Example.com' }), 409, 'uniqueness')
    expectScimError(
      await s.req('PATCH', `/Users/${bob.id}`, patchOp({ op: 'replace', path: 'userName', value: 'erin@example.com' })),
      409,
      'uniqueness',
    )
    expect(await snapshot(s)).toEqual(before)
    // Erin herself may set a userName: it becomes her username.
    const own = await s.req('PATCH', `/Users/${erin.id}`, patchOp({ op: 'replace', path: 'userName', value: 'erin' }))
    expect(own.json().userName).toBe('erin')
  })

  it('a stale If-Match: 412 on PUT, PATCH and DELETE, users and groups', async () => {
    const { s, ada, before } = await withUsers()
    const stale = { 'if-match': 'W/"0"' }
    expectScimError(await s.req('PUT', `/Users/${ada.id}`, { schemas: [URN.user], userName: 'ada2' }, stale), 412)
    expectScimError(await s.req('PATCH', `/Users/${ada.id}`, patchOp({ op: 'replace', path: 'userName', value: 'ada2' }), stale), 412)
    expectScimError(await s.req('DELETE', `/Users/${ada.id}`, undefined, stale), 412)
    expectScimError(
      await s.req('PATCH', `/Users/${ada.id}`, patchOp({ op: 'replace', path: 'userName', value: 'ada2' }), { 'if-match': 'garbage' }),
      412,
    )
    const bulk = await s.req('POST', '/Bulk', {
      schemas: [URN.bulkRequest],
      Operations: [
        { method: 'PATCH', path: `/Users/${ada.id}`, version: 'W/"5"', data: patchOp({ op: 'replace', path: 'userName', value: 'ada3' }) },
      ],
    })
    expect(bulk.json().Operations[0].status).toBe('412')
    expect(await snapshot(s)).toEqual(before)
    const group = await s.req('POST', '/Groups', { schemas: [URN.group], displayName: 'G' })
    const etag = group.headers.etag as string
    expectScimError(await s.req('PUT', `/Groups/${group.json().id}`, { schemas: [URN.group], displayName: 'H' }, stale), 412)
    expectScimError(await s.req('DELETE', `/Groups/${group.json().id}`, undefined, stale), 412)
    expect((await s.req('GET', `/Groups/${group.json().id}`)).json().displayName).toBe('G')
    expect(
      (await s.req('PUT', `/Groups/${group.json().id}`, { schemas: [URN.group], displayName: 'H' }, { 'if-match': etag })).statusCode,
    ).toBe(200)
  })

  it('a body over the limit: 413 tooMany; so is a Bulk with more operations than maxOperations', async () => {
    const { s, before } = await withUsers()
    const big = { schemas: [URN.user], userName: 'big', displayName: 'x'.repeat(BODY_LIMIT) }
    expectScimError(await s.req('POST', '/Users', big), 413, 'tooMany')
    const Operations = Array.from({ length: 1001 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `b${i}`,
      data: { userName: `u${i}` },
    }))
    const many = await s.req('POST', '/Bulk', { schemas: [URN.bulkRequest], Operations })
    expectScimError(many, 413, 'tooMany')
    expect(many.json().detail).toMatch(/maxOperations is 1000/)
    // /Bulk takes up to maxPayloadSize (4 MiB), more than other routes; beyond it, 413.
    const heavy = Array.from({ length: 5 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `h${i}`,
      data: { userName: `h${i}`, displayName: 'y'.repeat(900 * 1024) },
    }))
    const tooHeavy = await s.req('POST', '/Bulk', { schemas: [URN.bulkRequest], Operations: heavy })
    expectScimError(tooHeavy, 413, 'tooMany')
    expect(tooHeavy.json().detail).toMatch(/maxPayloadSize \(4194304 bytes\)/)
    expect(await snapshot(s)).toEqual(before)
  })

  it('malformed bodies and values: invalidSyntax, invalidValue, noTarget', async () => {
    const { s, ada, before } = await withUsers()
    expectScimError(await s.req('POST', '/Users', '{"userName": '), 400, 'invalidSyntax')
    expectScimError(await s.req('POST', '/Users', '[1, 2]'), 400, 'invalidSyntax')
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], name: { givenName: 'No userName' } }), 400, 'invalidValue')
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'x', active: 'maybe' }), 400, 'invalidValue')
    expectScimError(
      await s.req('POST', '/Users', { schemas: [URN.user], userName: 'x', emails: [{ value: 'not-an-email' }] }),
      400,
      'invalidValue',
    )
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'has space' }), 400, 'invalidValue')
    expectScimError(
      await s.req('POST', '/Users', { schemas: [URN.user], userName: 'x', [URN.fields]: { level: 'high' } }),
      400,
      'invalidValue',
    )
    expectScimError(
      await s.req('POST', '/Users', { schemas: [URN.user], userName: 'x', displayName: 'nul\u0000byte' }),
      400,
      'invalidValue',
    )
    const patch = (body: unknown) => s.req('PATCH', `/Users/${ada.id}`, body)
    expectScimError(await patch({ schemas: [URN.patchOp] }), 400, 'invalidSyntax')
    expectScimError(
      await patch({ schemas: [URN.user], Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }),
      400,
      'invalidSyntax',
    )
    expectScimError(await patch(patchOp({ op: 'move', path: 'displayName' })), 400, 'invalidSyntax')
    expectScimError(await patch(patchOp({ op: 'remove' })), 400, 'noTarget')
    expectScimError(
      await patch(patchOp({ op: 'replace', path: 'emails[value sw "zzz"]', value: { value: 'z@example.com' } })),
      400,
      'noTarget',
    )
    expectScimError(await patch(patchOp({ op: 'remove', path: 'userName' })), 400, 'invalidValue')
    expectScimError(await patch(patchOp({ op: 'replace', value: 'not an object' })), 400, 'invalidValue')
    expectScimError(
      await s.req('POST', '/Groups', {
        schemas: [URN.group],
        displayName: 'G',
        members: [{ value: '00000000-0000-4000-8000-000000000000' }],
      }),
      400,
      'invalidValue',
    )
    expectScimError(await s.req('POST', '/Groups', { schemas: [URN.group], members: [] }), 400, 'invalidValue')
    expectScimError(await s.req('POST', '/Bulk', { schemas: [URN.bulkRequest], failOnErrors: 0, Operations: [] }), 400, 'invalidValue')
    expectScimError(await s.req('POST', '/Bulk', { schemas: [URN.bulkRequest] }), 400, 'invalidSyntax')
    expect((await s.req('GET', '/Groups')).json().totalResults).toBe(0)
    expect(await snapshot(s)).toEqual(before)
  })
})
