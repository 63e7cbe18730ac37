import { describe, expect, it, vi } from 'vitest'
import { buildSchemas } from '../../src/doors/scim/scim-schema.js'
import { resourceSchemas } from '../../src/doors/scim/scim-attributes.js'
import { ScimError } from '../../src/doors/scim/scim-errors.js'
import { parseFilter, parsePatchPath, type ScimFilter } from '../../src/doors/scim/scim-filter.js'
import { userFilterOf } from '../../src/doors/scim/scim-user-query.js'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { expectScimError, scimSetup, URN } from '../helpers/scim.js'

/** Compact rendering of a filter tree, to state precedence in one line. */
function show(f: ScimFilter): string {
  const path = (p: { uri: string | null; name: string; sub: string | null }) =>
    `${p.uri ? `${p.uri}:` : ''}${p.name}${p.sub ? `.${p.sub}` : ''}`
  switch (f.type) {
    case 'and':
    case 'or':
      return `(${show(f.left)} ${f.type} ${show(f.right)})`
    case 'not':
      return `not ${show(f.filter)}`
    case 'pr':
      return `${path(f.path)} pr`
    case 'cmp':
      return `${path(f.path)} ${f.op} ${JSON.stringify(f.value)}`
    case 'valuePath':
      return `${path(f.path)}[${show(f.filter)}]`
  }
}

function invalid(text: string, expected: RegExp): void {
  try {
    parseFilter(text)
  } catch (e) {
    expect(e).toBeInstanceOf(ScimError)
    expect((e as ScimError).status).toBe(400)
    expect((e as ScimError).scimType).toBe('invalidFilter')
    expect((e as ScimError).message).toMatch(expected)
    return
  }
  throw new Error(`'${text}' parsed, but should not have`)
}

describe('SCIM filter parser', () => {
  it('every operator, case-insensitively, with every kind of value', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']) {
      expect(show(parseFilter(`userName ${op} "x"`))).toBe(`userName ${op} "x"`)
      expect(show(parseFilter(`userName ${op.toUpperCase()} "x"`))).toBe(`userName ${op} "x"`)
    }
    expect(show(parseFilter('title pr'))).toBe('title pr')
    expect(show(parseFilter('title PR'))).toBe('title pr')
    expect(show(parseFilter('level ge 10'))).toBe('level ge 10')
    expect(show(parseFilter('score lt -1.5e3'))).toBe('score lt -1500')
    expect(show(parseFilter('active eq TRUE'))).toBe('active eq true')
    expect(show(parseFilter('active eq false'))).toBe('active eq false')
    expect(show(parseFilter('manager eq null'))).toBe('manager eq null')
  })

  it('precedence: not and parentheses bind tightest, then and, then or', () => {
    expect(show(parseFilter('a eq "1" or b eq "2" and c eq "3"'))).toBe('(a eq "1" or (b eq "2" and c eq "3"))')
    expect(show(parseFilter('a eq "1" and b eq "2" or c eq "3"'))).toBe('((a eq "1" and b eq "2") or c eq "3")')
    expect(show(parseFilter('(a eq "1" or b eq "2") and c eq "3"'))).toBe('((a eq "1" or b eq "2") and c eq "3")')
    expect(show(parseFilter('a pr and not (b eq "2" or c pr)'))).toBe('(a pr and not (b eq "2" or c pr))')
    expect(show(parseFilter('a pr or b pr or c pr'))).toBe('((a pr or b pr) or c pr)')
    expect(show(parseFilter('a pr AND b pr Or c pr'))).toBe('((a pr and b pr) or c pr)')
    expect(show(parseFilter('((a pr))'))).toBe('a pr')
  })

  it('attribute paths: sub-attributes, URNs, value filters', () => {
    expect(show(parseFilter('name.familyName co "O\'Malley"'))).toBe('name.familyName co "O\'Malley"')
    expect(show(parseFilter(`${URN.user}:name.givenName sw "B"`))).toBe(`${URN.user}:name.givenName sw "B"`)
    expect(show(parseFilter(`${URN.enterprise}:manager.value eq "26118915"`))).toBe(`${URN.enterprise}:manager.value eq "26118915"`)
    expect(show(parseFilter('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]'))).toBe(
      '(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])',
    )
    expect(show(parseFilter('members[value eq "2819c223"]'))).toBe('members[value eq "2819c223"]')
    expect(show(parseFilter('meta.lastModified gt "2011-05-13T04:42:34Z"'))).toBe('meta.lastModified gt "2011-05-13T04:42:34Z"')
  })

  it('strings are JSON strings: escapes, quotes, unicode, and operator words inside them', () => {
    const value = (text: string) => (parseFilter(text) as { value: unknown }).value
    expect(value('displayName eq "say \\"hi\\""')).toBe('say "hi"')
    expect(value('displayName eq "back\\\\slash"')).toBe('back\\slash')
    expect(value('displayName eq "caf\\u00e9"')).toBe('café')
    expect(value('displayName eq "tab\\there"')).toBe('tab\there')
    expect(value('displayName eq "a or b and not (c)"')).toBe('a or b and not (c)')
    expect(value('displayName eq "100% [sure] _x_"')).toBe('100% [sure] _x_')
    expect(value('displayName eq ""')).toBe('')
  })

  it('bad filters are invalidFilter, with where it went wrong', () => {
    invalid('', /empty/)
    invalid('   ', /empty/)
    invalid('userName', /expected an operator/)
    invalid('userName eq', /expected a value/)
    invalid('userName eq john', /expected a value/)
    invalid('userName equals "john"', /not an operator/)
    invalid('userName eq "john', /unterminated string/)
    invalid('userName eq "bad \\q escape"', /bad escape/)
    invalid('userName eq "x" and', /expected an attribute/)
    invalid('userName eq "x" userName eq "y"', /unexpected 'userName'/)
    invalid('(userName eq "x"', /expected '\)'/)
    invalid('userName eq "x")', /unexpected '\)'/)
    invalid('not userName eq "x"', /not an operator/)
    invalid('emails[type eq "work"', /expected '\]'/)
    invalid('emails[type[value eq "x"]]', /cannot nest/)
    invalid('name.given.name eq "x"', /not a valid attribute path/)
    invalid('9lives eq "x"', /expected an attribute, found the number/)
    invalid('userName eq "x" & active eq true', /unexpected '&'/)
    invalid(`${'('.repeat(100)}a pr${')'.repeat(100)}`, /nests deeper/)
  })

  it('PATCH paths: attributes, sub-attributes, value filters with a trailing sub-attribute', () => {
    expect(parsePatchPath('members')).toEqual({ path: { uri: null, name: 'members', sub: null }, filter: null, sub: null })
    expect(parsePatchPath('name.familyName')).toMatchObject({ path: { name: 'name', sub: 'familyName' }, sub: 'familyName' })
    const p = parsePatchPath('emails[type eq "work"].value')
    expect(p.path).toEqual({ uri: null, name: 'emails', sub: null })
    expect(p.sub).toBe('value')
    expect(show(p.filter as ScimFilter)).toBe('type eq "work"')
    expect(parsePatchPath(`${URN.enterprise}:department`).path).toEqual({ uri: URN.enterprise, name: 'department', sub: null })
    for (const bad of ['emails[type eq "work"', 'emails[type eq "work"]value', 'name.x[type eq "a"]', 'a..b', 'emails[type eq]']) {
      try {
        parsePatchPath(bad)
        throw new Error(`'${bad}' parsed`)
      } catch (e) {
        expect((e as ScimError).scimType, bad).toBe('invalidPath')
      }
    }
  })

  it('translates to the core filter tree: userName falls back to email; active is the built-in column', () => {
    const rs = resourceSchemas(buildSchemas([]), 'User')
    const tree = userFilterOf(parseFilter('userName eq "Ada"'), rs, new Map())
    expect(tree).toEqual({
      op: 'or',
      of: [
        {
          op: 'and',
          of: [
            { op: 'pr', field: { column: 'username' } },
            { op: 'eq', field: { column: 'username' }, value: 'Ada' },
          ],
        },
        {
          op: 'and',
          of: [
            { op: 'not', of: { op: 'pr', field: { column: 'username' } } },
            { op: 'eq', field: { column: 'email' }, value: 'Ada' },
          ],
        },
      ],
    })
    expect(userFilterOf(parseFilter('active eq true'), rs, new Map())).toEqual({ op: 'eq', field: { column: 'active' }, value: true })
    expect(userFilterOf(parseFilter('externalId eq "E1"'), rs, new Map())).toEqual({
      op: 'eq',
      field: { column: 'externalId' },
      value: 'E1',
      caseExact: true,
    })
  })
})

describeEachEngine('SCIM filters run in the store', (engine) => {
  const h = useApp(engine)

  async function seeded() {
    const s = await scimSetup(h, [
      { key: 'level', type: 'integer' },
      { key: 'vip', type: 'boolean' },
      { key: 'team', type: 'string' },
      { key: 'prefs', type: 'json' },
    ])
    const rows = [
      {
        userName: 'alice',
        name: { givenName: 'Alice', familyName: 'Archer' },
        emails: [{ value: 'alice@corp.example' }],
        [URN.fields]: { level: 1, vip: true, team: 'Red' },
      },
      {
        userName: 'Bob',
        name: { givenName: 'Bob', familyName: 'Baker' },
        emails: [{ value: 'bob@home.example' }],
        [URN.fields]: { level: 5, team: 'blue' },
      },
      { userName: 'carol', name: { givenName: 'Carol', familyName: "O'Connor" }, [URN.fields]: { level: 10, vip: false } },
      { userName: '100%_real', displayName: 'Percent [under] score', active: false },
      { userName: 'dave', externalId: 'EXT-Dave', displayName: 'say "hi"' },
    ]
    for (const r of rows) expect((await s.req('POST', '/Users', { schemas: [URN.user], ...r })).statusCode).toBe(201)
    // A user written by another door: no username, so its userName is its email.
    expect(
      (await s.admin.request('POST', `/api/v1/directories/${s.dir.id}/users`, { email: 'Erin@Native.example', firstName: 'Erin' }))
        .statusCode,
    ).toBe(201)
    const find = async (filter: string, extra = '&sortBy=userName') => {
      const r = await s.req('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`)
      expect(r.statusCode, `${filter}: ${r.body}`).toBe(200)
      const body = r.json()
      if (!extra.includes('count=')) expect(body.totalResults).toBe(body.Resources.length)
      return (body.Resources as { userName: string }[]).map((u) => u.userName)
    }
    return { s, find }
  }

  it('each operator on text, case-insensitively; wildcard and quote characters are plain text', async () => {
    const { find } = await seeded()
    expect(await find('userName eq "BOB"')).toEqual(['Bob'])
    expect(await find('userName ne "bob"')).toEqual(['100%_real', 'alice', 'carol', 'dave', 'Erin@Native.example'])
    expect(await find('userName co "AR"')).toEqual(['carol'])
    expect(await find('userName sw "c"')).toEqual(['carol'])
    expect(await find('userName ew "E"')).toEqual(['alice', 'dave', 'Erin@Native.example'])
    expect(await find('userName gt "c"')).toEqual(['carol', 'dave', 'Erin@Native.example'])
    expect(await find('userName ge "carol"')).toEqual(['carol', 'dave', 'Erin@Native.example'])
    expect(await find('userName lt "b"')).toEqual(['100%_real', 'alice'])
    expect(await find('userName le "bob"')).toEqual(['100%_real', 'alice', 'Bob'])
    expect(await find('displayName pr')).toEqual(['100%_real', 'dave'])
    // % and _ are LIKE wildcards elsewhere: here they match only themselves.
    expect(await find('userName co "%"')).toEqual(['100%_real'])
    expect(await find('userName co "_"')).toEqual(['100%_real'])
    expect(await find('displayName co "[under]"')).toEqual(['100%_real'])
    expect(await find('displayName eq "say \\"hi\\""')).toEqual(['dave'])
    expect(await find('name.familyName eq "o\'connor"')).toEqual(['carol'])
    // caseExact attributes compare exactly.
    expect(await find('externalId eq "EXT-Dave"')).toEqual(['dave'])
    expect(await find('externalId eq "ext-dave"')).toEqual([])
    expect(await find('externalId sw "EXT"')).toEqual(['dave'])
    expect(await find('externalId sw "ext"')).toEqual([])
  })

  it('userName reads as the email of users without a username, and filters the same way', async () => {
    const { find } = await seeded()
    expect(await find('userName eq "erin@native.example"')).toEqual(['Erin@Native.example'])
    expect(await find('userName sw "ERIN@"')).toEqual(['Erin@Native.example'])
    expect(await find('emails co "example"')).toEqual(['alice', 'Bob', 'Erin@Native.example'])
    expect(await find('emails.value ew "corp.example"')).toEqual(['alice'])
    expect(await find('emails[type eq "work" and value sw "bob"]')).toEqual(['Bob'])
    expect(await find('emails[type eq "home"]')).toEqual([])
    expect(await find('not (emails pr)')).toEqual(['100%_real', 'carol', 'dave'])
  })

  it('numbers, booleans, dates, active, null, and logic', async () => {
    const { find } = await seeded()
    expect(await find('level gt 1')).toEqual(['Bob', 'carol'])
    expect(await find(`${URN.fields}:level le 5`)).toEqual(['alice', 'Bob'])
    expect(await find('level eq 10')).toEqual(['carol'])
    expect(await find('vip eq true')).toEqual(['alice'])
    expect(await find('vip eq false')).toEqual(['carol'])
    expect(await find('vip ne true')).toEqual(['100%_real', 'Bob', 'carol', 'dave', 'Erin@Native.example'])
    expect(await find('vip pr')).toEqual(['alice', 'carol'])
    expect(await find('team eq "red"')).toEqual(['alice'])
    expect(await find('active eq false')).toEqual(['100%_real'])
    expect(await find('active eq true and level pr')).toEqual(['alice', 'Bob', 'carol'])
    expect(await find('level eq null')).toEqual(['100%_real', 'dave', 'Erin@Native.example'])
    expect(await find('level ne null')).toEqual(['alice', 'Bob', 'carol'])
    expect(await find(`meta.created gt "${new Date(Date.now() - 3_600_000).toISOString()}"`)).toHaveLength(6)
    expect(await find('meta.created gt "2999-01-01T00:00:00+02:00"')).toEqual([])
    expect(await find('meta.resourceType eq "User"')).toHaveLength(6)
    expect(await find('(level lt 3 or level gt 7) and not (vip eq false)')).toEqual(['alice'])
    expect(await find('userName eq "alice" or userName eq "bob" and level gt 1')).toEqual(['alice', 'Bob'])
    expect(await find('(userName eq "alice" or userName eq "bob") and level gt 1')).toEqual(['Bob'])
  })

  it('sorting puts users without a value last; paging counts in the store', async () => {
    const { find } = await seeded()
    expect(await find('userName pr', '&sortBy=level&sortOrder=descending')).toEqual([
      'carol',
      'Bob',
      'alice',
      '100%_real',
      'dave',
      'Erin@Native.example',
    ])
    expect(await find('userName pr', '&sortBy=level')).toEqual(['alice', 'Bob', 'carol', '100%_real', 'dave', 'Erin@Native.example'])
    expect(await find('level pr', '&sortBy=name.familyName')).toEqual(['alice', 'Bob', 'carol'])
    // Text sorts ignore case ("blue" < "Red").
    expect(await find('level pr', `&sortBy=${URN.fields}:team`)).toEqual(['Bob', 'alice', 'carol'])
    const page = await find('userName pr', '&sortBy=userName&startIndex=3&count=2')
    expect(page).toEqual(['Bob', 'carol'])
  })

  it('filters are store queries: one search with the translated tree, no user loaded to be filtered', async () => {
    const { s } = await seeded()
    const store = engine.store()
    const search = vi.spyOn(store, 'searchUsers')
    const list = vi.spyOn(store, 'listUsers')
    try {
      const r = await s.req('GET', `/Users?filter=${encodeURIComponent('team eq "blue" or level ge 10')}&count=1&sortBy=userName`)
      expect(r.json()).toMatchObject({ totalResults: 2, itemsPerPage: 1 })
      expect(list).not.toHaveBeenCalled()
      expect(search).toHaveBeenCalledTimes(1)
      expect(search.mock.calls[0][1]).toMatchObject({
        filter: {
          op: 'or',
          of: [
            { op: 'eq', field: { custom: 'team', kind: 'text' }, value: 'blue' },
            { op: 'ge', field: { custom: 'level', kind: 'number' }, value: 10 },
          ],
        },
        offset: 0,
        limit: 1,
      })
      // The page came back with only its one user.
      expect((await search.mock.results[0].value).items).toHaveLength(1)
    } finally {
      search.mockRestore()
      list.mockRestore()
    }
  })

  it('non-ASCII text always matches itself; userName folds all of Unicode on both engines', async () => {
    const s = await scimSetup(h)
    expect(
      (
        await s.req('POST', '/Users', {
          schemas: [URN.user],
          userName: 'ÉVA',
          name: { familyName: 'Érdős' },
          emails: [{ value: 'EVA@Example.com' }],
        })
      ).statusCode,
    ).toBe(201)
    const total = async (filter: string) => (await s.req('GET', `/Users?filter=${encodeURIComponent(filter)}`)).json().totalResults
    expect(await total('name.familyName eq "Érdős"')).toBe(1)
    expect(await total('name.familyName co "rdő"')).toBe(1)
    expect(await total('name.familyName sw "Érd"')).toBe(1)
    expect(await total('userName eq "éva"')).toBe(1)
    expect(await total('emails.value eq "eva@example.COM"')).toBe(1)
    expect(await total('userName sw "É"')).toBe(1)
  })

  it("long filters stay within the engines' limits (SQLite's expression depth)", async () => {
    const { find } = await seeded()
    const many = Array.from({ length: 300 }, (_, i) => `userName eq "nobody${i}"`).join(' or ')
    expect(await find(`${many} or userName eq "alice"`)).toEqual(['alice'])
  })

  it('what cannot be filtered on is invalidFilter', async () => {
    const { s } = await seeded()
    const bad = async (filter: string) =>
      expectScimError(await s.req('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter')
    await bad('userName eq')
    await bad('nosuch eq "x"')
    await bad('name.nosuch eq "x"')
    await bad('title eq "Engineer"')
    await bad('prefs eq "x"')
    await bad('active gt true')
    await bad('active eq "yes"')
    await bad('level co "1"')
    await bad('level eq "ten"')
    await bad('userName eq 5')
    await bad('meta.created gt "yesterday"')
    await bad('meta.location eq "x"')
    await bad('groups.value eq "x"')
    await bad('name eq "x"')
    await bad('urn:example:unknown:User:userName eq "x"')
    await bad('emails[nosuch eq "x"]')
    await bad('name[givenName eq "x"]')
    expectScimError(await s.req('GET', '/Users?sortBy=nosuch'), 400, 'invalidValue')
    expectScimError(await s.req('GET', '/Users?sortBy=userName&sortOrder=sideways'), 400, 'invalidValue')
    expectScimError(await s.req('GET', '/Users?startIndex=two'), 400, 'invalidValue')
  })
})
