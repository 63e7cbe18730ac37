import { expect, it, vi } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { expectScimError, patchOp, type Scim, scimSetup, URN } from '../helpers/scim.js'

/**
 * The SCIM door driven as Okta and Microsoft Entra ID drive it, and the examples of RFC 7644
 * §3.3 to §3.7. Bad input has its own file (scim-bad-input.test.ts), filters theirs.
 */
const FIELDS = [
  { key: 'department', type: 'string' as const },
  { key: 'team', type: 'string' as const },
  { key: 'level', type: 'integer' as const },
]

const q = encodeURIComponent

async function createUser(s: Scim, body: Record<string, unknown>) {
  const r = await s.req('POST', '/Users', { schemas: [URN.user], ...body })
  expect(r.statusCode, r.body).toBe(201)
  return r.json()
}

describeEachEngine('SCIM door', (engine) => {
  const h = useApp(engine)

  it('discovery: ServiceProviderConfig with the enforced limits, ResourceTypes, and Schemas with the custom fields', async () => {
    const s = await scimSetup(h, FIELDS)
    const spc = await s.req('GET', '/ServiceProviderConfig')
    expect(spc.statusCode).toBe(200)
    expect(spc.headers['content-type']).toMatch(/^application\/scim\+json/)
    expect(spc.json()).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 4194304 },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [{ type: 'oauthbearertoken', primary: true }],
    })

    const types = (await s.req('GET', '/ResourceTypes')).json()
    expect(types).toMatchObject({ schemas: [URN.listResponse], totalResults: 2 })
    expect(types.Resources.map((t: { endpoint: string }) => t.endpoint)).toEqual(['/Users', '/Groups'])
    expect(types.Resources[0].schemaExtensions).toEqual([
      { schema: URN.enterprise, required: false },
      { schema: URN.fields, required: false },
    ])
    expect((await s.req('GET', '/ResourceTypes/Group')).json().schema).toBe(URN.group)

    const schemas = (await s.req('GET', '/Schemas')).json()
    expect(schemas.Resources.map((x: { id: string }) => x.id)).toEqual([URN.user, URN.enterprise, URN.fields, URN.group])
    const user = schemas.Resources[0]
    const userName = user.attributes.find((a: { name: string }) => a.name === 'userName')
    expect(userName).toMatchObject({ type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite' })
    expect(user.attributes.map((a: { name: string }) => a.name)).not.toContain('title')
    // department backs the enterprise attribute; team and level are the directory's own fields.
    const enterprise = (await s.req('GET', `/Schemas/${URN.enterprise}`)).json()
    expect(enterprise.attributes.map((a: { name: string }) => a.name)).toEqual(['department'])
    const fields = (await s.req('GET', `/Schemas/${URN.fields}`)).json()
    expect(fields.attributes).toEqual([
      expect.objectContaining({ name: 'team', type: 'string', multiValued: false }),
      expect.objectContaining({ name: 'level', type: 'integer' }),
    ])
    expectScimError(await s.req('GET', `/Schemas?filter=${q('id eq "x"')}`), 403)
    expectScimError(await s.req('GET', '/Schemas/urn:nope'), 404)
  })

  it('auth: a bearer key limited to exactly one directory', async () => {
    const s = await scimSetup(h)
    const none = await h.app().app.inject({ method: 'GET', url: '/scim/v2/Users' })
    expectScimError(none, 401)
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
    // The admin key sees every directory: which one SCIM would provision is ambiguous.
    expectScimError(await s.admin.request('GET', '/scim/v2/Users'), 403)
    const reader = await s.admin.newKey(['read'], [s.dir.id])
    expect((await reader.request('GET', '/scim/v2/Users')).statusCode).toBe(200)
    expectScimError(await reader.request('POST', '/scim/v2/Users', { userName: 'x' }), 403)
    // Another directory's key sees none of these users.
    const ada = await createUser(s, { userName: 'ada' })
    const other = await scimSetup(h)
    expectScimError(await other.req('GET', `/Users/${ada.id}`), 404)
    expect((await other.req('GET', '/Users')).json().totalResults).toBe(0)
    expectScimError(await s.req('GET', '/Nope'), 404)
    expectScimError(await s.req('GET', '/Me'), 501)
  })

  it('Okta: the connection test, filter by userName before create, full-PUT updates and deactivation', async () => {
    const s = await scimSetup(h)
    // "Test Connector Configuration": GET /Users?startIndex=1&count=2 must answer a ListResponse.
    await createUser(s, { userName: 'first@example.com' })
    await createUser(s, { userName: 'second@example.com' })
    await createUser(s, { userName: 'third@example.com' })
    const test = await s.req('GET', '/Users?startIndex=1&count=2')
    expect(test.statusCode).toBe(200)
    expect(test.headers['content-type']).toMatch(/^application\/scim\+json/)
    expect(test.json()).toMatchObject({ schemas: [URN.listResponse], totalResults: 3, startIndex: 1, itemsPerPage: 2 })

    // Import/create: Okta looks the user up by userName first.
    const lookup = `/Users?filter=${q('userName eq "ada.lovelace@example.com"')}&startIndex=1&count=100`
    expect((await s.req('GET', lookup)).json()).toMatchObject({ totalResults: 0, Resources: [] })
    const okta = {
      schemas: [URN.user],
      userName: 'ada.lovelace@example.com',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [{ primary: true, value: 'ada.lovelace@example.com', type: 'work' }],
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'mobile', primary: true }],
      displayName: 'Ada Lovelace',
      locale: 'en-GB',
      externalId: '00u1ab2cd3EF4gh5i6j7',
      groups: [],
      password: 'never-stored',
      active: true,
    }
    const created = await s.req('POST', '/Users', okta)
    expect(created.statusCode).toBe(201)
    const ada = created.json()
    expect(ada).toMatchObject({
      userName: 'ada.lovelace@example.com',
      name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
      active: true,
      emails: [{ value: 'ada.lovelace@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }],
      meta: { resourceType: 'User', version: 'W/"1"' },
    })
    expect(ada).not.toHaveProperty('password')
    const found = (await s.req('GET', lookup.replace('ada.lovelace', 'ADA.Lovelace'))).json()
    expect(found.totalResults).toBe(1)
    expect(found.Resources[0].id).toBe(ada.id)

    // Profile push: Okta PUTs the whole user; what it leaves out (the phone) is cleared.
    const put = await s.req('PUT', `/Users/${ada.id}`, {
      ...okta,
      id: ada.id,
      name: { givenName: 'Augusta Ada', familyName: 'King' },
      emails: [{ primary: true, value: 'ada.king@example.com', type: 'work' }],
      phoneNumbers: undefined,
    })
    expect(put.statusCode, put.body).toBe(200)
    expect(put.headers.etag).toBe('W/"2"')
    expect(put.json()).toMatchObject({
      name: { givenName: 'Augusta Ada', familyName: 'King' },
      emails: [{ value: 'ada.king@example.com' }],
      meta: { version: 'W/"2"' },
    })
    expect(put.json()).not.toHaveProperty('phoneNumbers')
    // The same PUT again changes nothing: no new version, no history.
    const again = await s.req('PUT', `/Users/${ada.id}`, {
      ...okta,
      name: { givenName: 'Augusta Ada', familyName: 'King' },
      emails: [{ primary: true, value: 'ada.king@example.com' }],
      phoneNumbers: undefined,
    })
    expect(again.json().meta.version).toBe('W/"2"')

    // Deactivation: a PUT with active false. The user stays readable, by GET and by filter.
    const off = await s.req('PUT', `/Users/${ada.id}`, {
      ...okta,
      name: { givenName: 'Augusta Ada', familyName: 'King' },
      emails: [{ primary: true, value: 'ada.king@example.com' }],
      phoneNumbers: undefined,
      active: false,
    })
    expect(off.json().active).toBe(false)
    expect((await s.req('GET', `/Users/${ada.id}`)).json().active).toBe(false)
    expect((await s.req('GET', lookup)).json().Resources[0]).toMatchObject({ id: ada.id, active: false })

    // Every change is in the user's history, from channel scim.
    const hist = await s.history(ada.id)
    expect(hist.map((x) => [x.action, x.channel])).toEqual([
      ['update', 'scim'],
      ['update', 'scim'],
      ['create', 'scim'],
    ])
    expect(hist[0].changes).toEqual({ active: [true, false] })
    expect(hist[1].changes).toMatchObject({
      firstName: ['Ada', 'Augusta Ada'],
      lastName: ['Lovelace', 'King'],
      phone: ['+44 20 7946 0000', null],
    })
    // The same user through the native API: SCIM's active is the built-in `active`, no custom field.
    const native = (await s.nativeUsers()).find((u) => u.id === ada.id)
    expect(native).toMatchObject({
      username: 'ada.lovelace@example.com',
      email: 'ada.king@example.com',
      firstName: 'Augusta Ada',
      active: false,
      fields: {},
    })
  })

  it('Microsoft Entra ID: filter by externalId, PATCH with Add/Replace/Remove, active as "False", enterprise attributes', async () => {
    const s = await scimSetup(h, FIELDS)
    const byExternalId = `/Users?filter=${q('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`
    expect((await s.req('GET', byExternalId)).json().totalResults).toBe(0)
    const created = await s.req('POST', '/Users', {
      schemas: [URN.user, URN.enterprise],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b@contoso.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
      title: 'Engineer',
      preferredLanguage: 'en-US',
      [URN.enterprise]: { department: 'Finance', employeeNumber: '42' },
    })
    expect(created.statusCode, created.body).toBe(201)
    const user = created.json()
    expect(user[URN.enterprise]).toEqual({ department: 'Finance' })
    expect(user.schemas).toEqual([URN.user, URN.enterprise])
    expect(user).not.toHaveProperty('title')
    expect((await s.req('GET', byExternalId)).json().Resources[0].id).toBe(user.id)
    // Entra compares externalId exactly.
    expect((await s.req('GET', byExternalId.replace('0a21f0f2', '0A21F0F2'))).json().totalResults).toBe(0)

    const patched = await s.req(
      'PATCH',
      `/Users/${user.id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 425 555 0100' },
        { op: 'Replace', path: `${URN.enterprise}:department`, value: 'Research' },
        { op: 'Add', path: 'title', value: 'ignored' },
        { op: 'Remove', path: 'name.givenName' },
      ),
    )
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json()).toMatchObject({
      emails: [{ value: 'updatedEmail@microsoft.com', primary: true }],
      name: { familyName: 'updatedFamilyName' },
      phoneNumbers: [{ value: '+1 425 555 0100' }],
      [URN.enterprise]: { department: 'Research' },
    })
    expect(patched.json().name).not.toHaveProperty('givenName')

    // Disable: Entra sends active as the string "False".
    const disabled = await s.req('PATCH', `/Users/${user.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }))
    expect(disabled.statusCode).toBe(200)
    expect(disabled.json().active).toBe(false)
    // Still readable, by id and by externalId; and found among the inactive.
    expect((await s.req('GET', `/Users/${user.id}`)).json().active).toBe(false)
    expect((await s.req('GET', byExternalId)).json().Resources[0]).toMatchObject({ id: user.id, active: false })
    expect((await s.req('GET', `/Users?filter=${q('active eq false')}`)).json().totalResults).toBe(1)
    expect((await s.req('GET', `/Users?filter=${q('active eq true')}`)).json().totalResults).toBe(0)
    // No-path replace (how Entra sends several attributes at once), booleans as text again.
    const back = await s.req(
      'PATCH',
      `/Users/${user.id}`,
      patchOp({ op: 'replace', value: { active: 'True', displayName: 'Back Again', 'name.givenName': 'Given' } }),
    )
    expect(back.json()).toMatchObject({ active: true, displayName: 'Back Again', name: { givenName: 'Given' } })

    // Entra deprovisions with DELETE after disabling.
    expect((await s.req('DELETE', `/Users/${user.id}`)).statusCode).toBe(204)
    expectScimError(await s.req('GET', `/Users/${user.id}`), 404)
    const hist = await s.history(user.id)
    expect(hist.every((x) => x.channel === 'scim')).toBe(true)
    expect(hist[0].action).toBe('delete')
  })

  it('RFC 7644 §3.3: creating a resource (201, Location, ETag, meta)', async () => {
    const s = await scimSetup(h)
    const r = await s.req('POST', '/Users', {
      schemas: [URN.user],
      userName: 'bjensen',
      externalId: 'bjensen',
      name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
    })
    expect(r.statusCode).toBe(201)
    const u = r.json()
    expect(r.headers.location).toBe(u.meta.location)
    expect(r.headers.location).toMatch(new RegExp(`/scim/v2/Users/${u.id}$`))
    expect(r.headers.etag).toBe('W/"1"')
    expect(u).toMatchObject({
      schemas: [URN.user],
      userName: 'bjensen',
      externalId: 'bjensen',
      name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
      meta: { resourceType: 'User', version: 'W/"1"' },
    })
    expect(u.meta.created).toBe(u.meta.lastModified)
    // A second bjensen is refused.
    expectScimError(await s.req('POST', '/Users', { schemas: [URN.user], userName: 'BJensen' }), 409, 'uniqueness')
    // Plain JSON is accepted too; behind a proxy, URLs name the address the client used.
    const proxied = await s.req('POST', '/Users', JSON.stringify({ userName: 'proxied' }), {
      'content-type': 'application/json',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'id.example.com',
    })
    expect(proxied.statusCode).toBe(201)
    expect(proxied.headers.location).toBe(`https://id.example.com/scim/v2/Users/${proxied.json().id}`)
  })

  it('RFC 7644 §3.4.1: retrieving a known resource, with If-None-Match', async () => {
    const s = await scimSetup(h)
    const u = await createUser(s, { userName: 'bjensen', externalId: 'bjensen' })
    const r = await s.req('GET', `/Users/${u.id}`, undefined, { accept: 'application/scim+json' })
    expect(r.statusCode).toBe(200)
    expect(r.headers.location).toBe(u.meta.location)
    expect(r.headers.etag).toBe('W/"1"')
    expect(r.json()).toEqual(u)
    const same = await s.req('GET', `/Users/${u.id}`, undefined, { 'if-none-match': 'W/"1"' })
    expect(same.statusCode).toBe(304)
    expect(same.body).toBe('')
    expect((await s.req('GET', `/Users/${u.id}`, undefined, { 'if-none-match': 'W/"0"' })).statusCode).toBe(200)
    expectScimError(await s.req('GET', '/Users/not-a-user'), 404)
  })

  it('RFC 7644 §3.4.2 and §3.4.3: filtering, sorting, paging, attributes; POST /.search', async () => {
    const s = await scimSetup(h, FIELDS)
    const people = [
      {
        userName: 'bjensen',
        name: { familyName: 'Jensen', givenName: 'Barbara' },
        emails: [{ value: 'bjensen@example.com' }],
        title: 'Tour Guide',
      },
      { userName: 'jsmith', name: { familyName: "O'Malley", givenName: 'John' }, emails: [{ value: 'jsmith@example.org' }] },
      { userName: 'Jjohnson', name: { familyName: 'Johnson', givenName: 'Jim' }, [URN.fields]: { team: 'blue', level: 3 } },
      {
        userName: 'mmouse',
        name: { familyName: 'Mouse', givenName: 'Minnie' },
        emails: [{ value: 'minnie@example.com' }],
        [URN.fields]: { team: 'red', level: 7 },
      },
    ]
    for (const p of people) await createUser(s, p)
    const find = async (filter: string, extra = '') => {
      const r = await s.req('GET', `/Users?filter=${q(filter)}${extra}`)
      expect(r.statusCode, r.body).toBe(200)
      return (r.json().Resources as { userName: string }[]).map((u) => u.userName)
    }
    expect(await find('userName Eq "JSMITH"')).toEqual(['jsmith'])
    expect(await find('name.familyName co "O\'Malley"')).toEqual(['jsmith'])
    expect(await find('userName sw "J"', '&sortBy=userName')).toEqual(['Jjohnson', 'jsmith'])
    expect(await find(`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, '&sortBy=userName')).toEqual(['Jjohnson', 'jsmith'])
    expect(await find('emails pr', '&sortBy=userName')).toEqual(['bjensen', 'jsmith', 'mmouse'])
    expect(await find('emails co "example.com"', '&sortBy=userName')).toEqual(['bjensen', 'mmouse'])
    expect(await find('emails[type eq "work" and value co "@example.com"]', '&sortBy=userName')).toEqual(['bjensen', 'mmouse'])
    expect(await find('meta.lastModified gt "2011-05-13T04:42:34Z"')).toHaveLength(4)
    expect(await find('meta.created lt "2011-05-13T04:42:34Z"')).toEqual([])
    expect(await find('userName eq "bjensen" or (name.givenName sw "Min" and not (emails co "example.org"))', '&sortBy=userName')).toEqual([
      'bjensen',
      'mmouse',
    ])
    expect(await find(`${URN.fields}:level gt 5`)).toEqual(['mmouse'])
    expect(await find('team eq "BLUE"')).toEqual(['Jjohnson'])

    // Sorting: descending, users without the value last.
    expect(await find('userName pr', '&sortBy=name.familyName&sortOrder=descending')).toEqual(['jsmith', 'mmouse', 'Jjohnson', 'bjensen'])
    expect(await find('userName pr', `&sortBy=${q(`${URN.fields}:level`)}`)).toEqual(['Jjohnson', 'mmouse', 'bjensen', 'jsmith'])

    // Paging: startIndex is 1-based; totalResults counts every match.
    const page = (await s.req('GET', '/Users?sortBy=userName&startIndex=2&count=2')).json()
    expect(page).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 })
    // userName sorts case-insensitively.
    expect(page.Resources.map((u: { userName: string }) => u.userName)).toEqual(['Jjohnson', 'jsmith'])
    const counted = (await s.req('GET', '/Users?count=0')).json()
    expect(counted).toMatchObject({ totalResults: 4, itemsPerPage: 0, Resources: [] })
    expect((await s.req('GET', '/Users?startIndex=10')).json()).toMatchObject({ totalResults: 4, itemsPerPage: 0 })

    // attributes and excludedAttributes: id and schemas always come.
    const only = (await s.req('GET', `/Users?filter=${q('userName eq "bjensen"')}&attributes=userName,name.familyName`)).json().Resources[0]
    expect(Object.keys(only).sort()).toEqual(['id', 'name', 'schemas', 'userName'])
    expect(only.name).toEqual({ familyName: 'Jensen' })
    const without = (await s.req('GET', `/Users?filter=${q('userName eq "bjensen"')}&excludedAttributes=emails,meta`)).json().Resources[0]
    expect(without).not.toHaveProperty('emails')
    expect(without).not.toHaveProperty('meta')
    expect(without.userName).toBe('bjensen')

    // §3.4.3: the same query as a SearchRequest.
    const search = await s.req('POST', '/Users/.search', {
      schemas: [URN.searchRequest],
      attributes: ['displayName', 'userName'],
      filter: 'name.familyName sw "J"',
      sortBy: 'userName',
      startIndex: 1,
      count: 10,
    })
    expect(search.statusCode).toBe(200)
    expect(search.json().Resources).toEqual([
      { schemas: [URN.user], id: expect.any(String), userName: 'bjensen' },
      { schemas: [URN.user], id: expect.any(String), userName: 'Jjohnson' },
    ])
  })

  it('RFC 7644 §3.5.1: replacing with PUT; extensions a client does not send are kept', async () => {
    const s = await scimSetup(h, FIELDS)
    const u = await createUser(s, {
      userName: 'bjensen',
      externalId: 'bjensen',
      name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
      emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
      [URN.fields]: { team: 'blue' },
    })
    const r = await s.req(
      'PUT',
      `/Users/${u.id}`,
      {
        schemas: [URN.user],
        id: u.id,
        userName: 'bjensen',
        externalId: 'bjensen',
        name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Babs' },
        emails: [
          { value: 'babs@jensen.org', type: 'home' },
          { value: 'bjensen@example.com', type: 'work', primary: true },
        ],
        meta: { created: '1999-01-01T00:00:00Z' },
      },
      { 'if-match': 'W/"1"' },
    )
    expect(r.statusCode, r.body).toBe(200)
    const after = r.json()
    expect(after).toMatchObject({
      name: { givenName: 'Babs' },
      emails: [{ value: 'bjensen@example.com' }],
      meta: { version: 'W/"2"', created: u.meta.created },
    })
    // The fields extension was not in the body: its values stay.
    expect(after[URN.fields]).toEqual({ team: 'blue' })
    // With the extension asserted and empty, they are cleared.
    const cleared = await s.req('PUT', `/Users/${u.id}`, { schemas: [URN.user, URN.fields], userName: 'bjensen', externalId: 'bjensen' })
    expect(cleared.json()).not.toHaveProperty(URN.fields)
    expect(cleared.json()).not.toHaveProperty('name')
  })

  it('RFC 7644 §3.5.2: PATCH add, replace and remove on a user', async () => {
    const s = await scimSetup(h)
    const u = await createUser(s, {
      userName: 'bjensen',
      name: { givenName: 'Barbara', familyName: 'Jensen' },
      emails: [{ value: 'bjensen@example.com', type: 'work' }],
    })
    const patch = (...ops: unknown[]) => s.req('PATCH', `/Users/${u.id}`, patchOp(...ops))
    // §3.5.2.1: add without a path merges an object of attributes.
    let r = await patch({ op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home', primary: true }], nickName: 'Babs' } })
    expect(r.statusCode, r.body).toBe(200)
    // Rollcall keeps one email: the one just added, marked primary.
    expect(r.json().emails).toEqual([{ value: 'babs@jensen.org', type: 'work', primary: true }])
    // §3.5.2.3: replace a sub-attribute; complex values merge.
    r = await patch({ op: 'replace', path: 'name', value: { givenName: 'Babs' } })
    expect(r.json().name).toEqual({ givenName: 'Babs', familyName: 'Jensen' })
    r = await patch({ op: 'replace', path: 'emails[type eq "work"]', value: { value: 'b@jensen.org', type: 'work' } })
    expect(r.json().emails[0].value).toBe('b@jensen.org')
    // §3.5.2.2: remove a single-valued attribute, and a value selected by a filter.
    r = await patch({ op: 'remove', path: 'name.familyName' }, { op: 'remove', path: 'emails[value eq "B@JENSEN.ORG"]' })
    expect(r.json().name).toEqual({ givenName: 'Babs' })
    expect(r.json()).not.toHaveProperty('emails')
    // A PATCH that changes nothing leaves the version alone.
    const version = r.json().meta.version
    r = await patch({ op: 'replace', path: 'userName', value: 'bjensen' })
    expect(r.json().meta.version).toBe(version)
    // Conditional PATCH with the current ETag.
    r = await s.req('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Babs J' }), { 'if-match': version })
    expect(r.statusCode).toBe(200)
  })

  it('RFC 7644 §3.5.2 on Groups: members added, removed by filter, replaced, removed; unique displayName', async () => {
    const s = await scimSetup(h)
    const a = await createUser(s, { userName: 'a' })
    const b = await createUser(s, { userName: 'b' })
    const c = await createUser(s, { userName: 'c' })
    const created = await s.req('POST', '/Groups', {
      schemas: [URN.group],
      displayName: 'Tour Guides',
      externalId: 'grp-1',
      members: [{ value: a.id, type: 'User' }],
    })
    expect(created.statusCode, created.body).toBe(201)
    const g = created.json()
    expect(g).toMatchObject({
      displayName: 'Tour Guides',
      externalId: 'grp-1',
      members: [{ value: a.id, type: 'User' }],
      meta: { resourceType: 'Group' },
    })
    expect(created.headers.location).toBe(g.meta.location)
    expectScimError(await s.req('POST', '/Groups', { schemas: [URN.group], displayName: 'Tour Guides' }), 409, 'uniqueness')

    const patch = async (...ops: unknown[]) => {
      const r = await s.req('PATCH', `/Groups/${g.id}`, patchOp(...ops))
      expect(r.statusCode, r.body).toBe(204)
      return ((await s.req('GET', `/Groups/${g.id}`)).json().members ?? []).map((m: { value: string }) => m.value).sort()
    }
    expect(
      await patch({ op: 'add', path: 'members', value: [{ display: 'b', $ref: `${g.meta.location}`, value: b.id }, { value: c.id }] }),
    ).toEqual([a.id, b.id, c.id].sort())
    expect(await patch({ op: 'remove', path: `members[value eq "${b.id}"]` })).toEqual([a.id, c.id].sort())
    // Entra ID removes by listing the members in the value.
    expect(await patch({ op: 'Remove', path: 'members', value: [{ value: c.id }] })).toEqual([a.id])
    expect(await patch({ op: 'replace', path: 'members', value: [{ value: b.id }, { value: c.id }] })).toEqual([b.id, c.id].sort())
    expect(await patch({ op: 'remove', path: 'members' })).toEqual([])
    // Okta renames with a no-path replace that repeats the id.
    expect(await patch({ op: 'replace', value: { id: g.id, displayName: 'Guides' } })).toEqual([])
    expect((await s.req('GET', `/Groups/${g.id}`)).json().displayName).toBe('Guides')
    // The member's groups show on the user.
    await patch({ op: 'add', path: 'members', value: [{ value: a.id }] })
    expect((await s.req('GET', `/Users/${a.id}`)).json().groups).toEqual([
      { value: g.id, $ref: g.meta.location, display: 'Guides', type: 'direct' },
    ])
    // A PATCH asking for attributes gets the group back.
    const withBody = await s.req(
      'PATCH',
      `/Groups/${g.id}?excludedAttributes=members`,
      patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] }),
    )
    expect(withBody.statusCode).toBe(200)
    expect(withBody.json()).not.toHaveProperty('members')
    expect(withBody.json().displayName).toBe('Guides')
  })

  it('Groups: list, filter, excludedAttributes=members, PUT, DELETE; other kinds of groups stay out', async () => {
    const s = await scimSetup(h)
    const a = await createUser(s, { userName: 'a' })
    for (const name of ['Admins', 'Sales', 'Support'])
      await s.req('POST', '/Groups', { schemas: [URN.group], displayName: name, members: [{ value: a.id }] })
    // A group of another door (a One of None team) is not a SCIM group.
    expect((await s.admin.request('POST', `/api/v1/directories/${s.dir.id}/groups`, { name: 'Team X', kind: 'team' })).statusCode).toBe(201)
    const all = (await s.req('GET', '/Groups?sortBy=displayName&sortOrder=descending')).json()
    expect(all.totalResults).toBe(3)
    expect(all.Resources.map((x: { displayName: string }) => x.displayName)).toEqual(['Support', 'Sales', 'Admins'])
    expect(all.Resources[0].members).toHaveLength(1)
    // Entra ID looks a group up by displayName, without its members.
    const entra = (await s.req('GET', `/Groups?excludedAttributes=members&filter=${q('displayName eq "sales"')}`)).json()
    expect(entra.totalResults).toBe(1)
    expect(entra.Resources[0]).not.toHaveProperty('members')
    expect((await s.req('GET', `/Groups?filter=${q(`members[value eq "${a.id}"] and displayName sw "S"`)}&count=1`)).json()).toMatchObject({
      totalResults: 2,
      itemsPerPage: 1,
    })
    const sales = entra.Resources[0]
    const put = await s.req('PUT', `/Groups/${sales.id}`, { schemas: [URN.group], displayName: 'Sales EMEA', members: [] })
    expect(put.statusCode, put.body).toBe(200)
    expect(put.json()).toMatchObject({ displayName: 'Sales EMEA' })
    expect(put.json()).not.toHaveProperty('members')
    expectScimError(await s.req('PUT', `/Groups/${sales.id}`, { schemas: [URN.group], displayName: 'Admins' }), 409, 'uniqueness')
    expect((await s.req('DELETE', `/Groups/${sales.id}`)).statusCode).toBe(204)
    expectScimError(await s.req('GET', `/Groups/${sales.id}`), 404)
    // Deleting a user takes it out of its groups.
    expect((await s.req('DELETE', `/Users/${a.id}`)).statusCode).toBe(204)
    expect((await s.req('GET', '/Groups')).json().Resources.every((x: { members?: unknown[] }) => !x.members)).toBe(true)
  })

  it('RFC 7644 §3.6: deleting a resource', async () => {
    const s = await scimSetup(h)
    const u = await createUser(s, { userName: 'bjensen' })
    expectScimError(await s.req('DELETE', `/Users/${u.id}`, undefined, { 'if-match': 'W/"7"' }), 412)
    expect((await s.req('DELETE', `/Users/${u.id}`, undefined, { 'if-match': 'W/"1"' })).statusCode).toBe(204)
    expectScimError(await s.req('GET', `/Users/${u.id}`), 404)
    expectScimError(await s.req('DELETE', `/Users/${u.id}`), 404)
  })

  it('RFC 7644 §3.7: Bulk with bulkId references, per-operation status and location', async () => {
    const s = await scimSetup(h)
    const existing = await createUser(s, { userName: 'existing', name: { givenName: 'E' } })
    const r = await s.req('POST', '/Bulk', {
      schemas: [URN.bulkRequest],
      Operations: [
        // The group is listed first but names a user created later in the request.
        {
          method: 'POST',
          path: '/Groups',
          bulkId: 'ytrewq',
          data: { schemas: [URN.group], displayName: 'Tour Guides', members: [{ type: 'User', value: 'bulkId:qwerty' }] },
        },
        { method: 'POST', path: '/Users', bulkId: 'qwerty', data: { schemas: [URN.user], userName: 'Alice' } },
        {
          method: 'PUT',
          path: `/Users/${existing.id}`,
          version: 'W/"1"',
          data: { schemas: [URN.user], userName: 'existing', name: { givenName: 'Ernest' } },
        },
        { method: 'PATCH', path: '/Users/bulkId:qwerty', data: patchOp({ op: 'add', path: 'displayName', value: 'Alice A.' }) },
        { method: 'DELETE', path: `/Users/${existing.id}`, version: 'W/"2"' },
      ],
    })
    expect(r.statusCode, r.body).toBe(200)
    const body = r.json()
    expect(body.schemas).toEqual([URN.bulkResponse])
    const [group, alice, put, patched, deleted] = body.Operations
    expect(alice).toMatchObject({ method: 'POST', bulkId: 'qwerty', status: '201', version: 'W/"1"' })
    const aliceId = alice.location.split('/').pop()
    expect(group).toMatchObject({ method: 'POST', bulkId: 'ytrewq', status: '201' })
    expect(put).toMatchObject({
      method: 'PUT',
      status: '200',
      version: 'W/"2"',
      location: expect.stringMatching(new RegExp(`/Users/${existing.id}$`)),
    })
    expect(patched).toMatchObject({ method: 'PATCH', status: '200', location: alice.location, version: 'W/"2"' })
    expect(deleted).toMatchObject({ method: 'DELETE', status: '204' })
    const g = (await s.req('GET', group.location.replace(/^.*\/scim\/v2/, ''))).json()
    expect(g.members).toEqual([{ value: aliceId, $ref: alice.location, type: 'User' }])
    expect((await s.req('GET', `/Users/${aliceId}`)).json().displayName).toBe('Alice A.')
    expectScimError(await s.req('GET', `/Users/${existing.id}`), 404)
  })

  it('Bulk: errors per operation, failOnErrors, unresolvable references', async () => {
    const s = await scimSetup(h)
    const taken = await createUser(s, { userName: 'taken' })
    const r = await s.req('POST', '/Bulk', {
      schemas: [URN.bulkRequest],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'ok', data: { userName: 'fresh' } },
        { method: 'POST', path: '/Users', bulkId: 'dup', data: { userName: 'TAKEN' } },
        { method: 'PUT', path: `/Users/${taken.id}`, version: 'W/"9"', data: { userName: 'taken' } },
        { method: 'PATCH', path: '/Users/bulkId:dup', data: patchOp({ op: 'add', path: 'displayName', value: 'x' }) },
        { method: 'POST', path: '/Groups', bulkId: 'g1', data: { displayName: 'G1', members: [{ value: 'bulkId:g2' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'g2', data: { displayName: 'G2', members: [{ value: 'bulkId:g1' }] } },
        {
          method: 'POST',
          path: '/Users',
          bulkId: 'ghost',
          data: { userName: 'ghost', [URN.enterprise]: { manager: { value: 'bulkId:nobody' } } },
        },
        { method: 'MOVE', path: '/Users' },
      ],
    })
    expect(r.statusCode).toBe(200)
    const ops = r.json().Operations as { status: string; bulkId?: string; response?: { scimType?: string; status: string } }[]
    expect(ops.map((o) => o.status)).toEqual(['201', '409', '412', '409', '409', '409', '409', '400'])
    expect(ops[1].response).toMatchObject({ scimType: 'uniqueness', status: '409' })
    expect(ops[7].response?.scimType).toBe('invalidSyntax')

    // failOnErrors: 1 stops at the first failure; what follows is not processed, nor reported.
    const stop = await s.req('POST', '/Bulk', {
      schemas: [URN.bulkRequest],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'a', data: { userName: 'one' } },
        { method: 'POST', path: '/Users', bulkId: 'b', data: { userName: 'one' } },
        { method: 'POST', path: '/Users', bulkId: 'c', data: { userName: 'three' } },
      ],
    })
    expect(stop.json().Operations.map((o: { bulkId: string; status: string }) => [o.bulkId, o.status])).toEqual([
      ['a', '201'],
      ['b', '409'],
    ])
    const names = (await s.req('GET', '/Users?sortBy=userName')).json().Resources.map((u: { userName: string }) => u.userName)
    expect(names).toEqual(['fresh', 'one', 'taken'])
  })

  it('Bulk: a thousand creations go through the bulk engine in one command, written in batches', async () => {
    const s = await scimSetup(h)
    const services = h.app().services
    const spy = vi.spyOn(services.users, 'bulk')
    try {
      const Operations = Array.from({ length: 1000 }, (_, i) => ({
        method: 'POST',
        path: '/Users',
        bulkId: `u${i}`,
        data: { schemas: [URN.user], userName: `user${i}@example.com`, emails: [{ value: `user${i}@example.com`, primary: true }] },
      }))
      const r = await s.req('POST', '/Bulk', { schemas: [URN.bulkRequest], Operations })
      expect(r.statusCode).toBe(200)
      expect(r.json().Operations.filter((o: { status: string }) => o.status === '201')).toHaveLength(1000)
      // One engine command for the thousand rows (the engine splits it into batches of batchSize).
      expect(spy).toHaveBeenCalledTimes(1)
      expect(spy.mock.calls[0][2]).toMatchObject({ mode: 'create', returnUsers: true })
    } finally {
      spy.mockRestore()
    }
    expect((await s.req('GET', '/Users?count=0')).json().totalResults).toBe(1000)
    expect((await s.req('GET', `/Users?filter=${q('userName eq "USER999@example.com"')}`)).json().totalResults).toBe(1)
  })
})
