import { expect, it } from 'vitest'
import { EXPORT_COLUMNS, EXPORT_PAGE } from '../src/http/routes/export.js'
import { useApp, type Client } from './helpers/app.js'
import { parseCsv } from './helpers/csv.js'
import { describeEachEngine } from './helpers/engines.js'
import { makeDirectory } from './helpers/directories.js'

interface User {
  id: string
  email: string | null
  firstName: string | null
  lastName: string | null
  displayName: string | null
  metadata: Record<string, unknown>
  fields: Record<string, unknown>
  [k: string]: unknown
}

/** Every user through the list endpoint, page by page: what an export must equal. */
async function listAll(c: Client, dir: string): Promise<User[]> {
  const out: User[] = []
  let cursor: string | null = null
  do {
    const r = await c.request('GET', `/api/v1/directories/${dir}/users?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
    expect(r.statusCode).toBe(200)
    out.push(...(r.json().data as User[]))
    cursor = r.json().nextCursor
  } while (cursor)
  return out
}

describeEachEngine('GET /api/v1/directories/{dir}/export', (engine) => {
  const h = useApp(engine, { batchSize: 500 })

  it('NDJSON (the default) and CSV carry every user across more than one page, in creation order', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Export' }, [{ key: 'seats', type: 'integer' }])).id
    const n = EXPORT_PAGE * 2 + 7
    const rows = Array.from({ length: n }, (_, i) => ({
      email: `u${i}@x.io`,
      firstName: `U${i}`,
      fields: { seats: i },
      metadata: i % 2 ? { odd: true } : {},
    }))
    const bulk = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })
    expect(bulk.statusCode, bulk.body).toBe(200)
    expect(bulk.json().summary.created).toBe(n)
    const users = await listAll(c, dir)
    expect(users).toHaveLength(n)

    const nd = await c.request('GET', `/api/v1/directories/${dir}/export`)
    expect(nd.statusCode).toBe(200)
    expect(nd.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(nd.headers['content-disposition']).toBe(`attachment; filename="users-${dir}.ndjson"`)
    const lines = nd.body.split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((l) => JSON.parse(l))).toEqual(users)

    const csv = await c.request('GET', `/api/v1/directories/${dir}/export?format=csv`)
    expect(csv.statusCode).toBe(200)
    expect(csv.headers['content-type']).toMatch(/^text\/csv/)
    const [header, ...records] = parseCsv(csv.body)
    expect(header).toEqual([...EXPORT_COLUMNS, 'metadata', 'fields.seats'])
    expect(records).toHaveLength(n)
    expect(records.map((r) => r[header.indexOf('email')])).toEqual(users.map((u) => u.email))
    expect(records.map((r) => Number(r[header.indexOf('fields.seats')]))).toEqual(users.map((u) => u.fields.seats))
    expect(records.map((r) => JSON.parse(r[header.indexOf('metadata')]))).toEqual(users.map((u) => u.metadata))
    expect(records[5][header.indexOf('loginCount')]).toBe('0')
    expect(records[5][header.indexOf('version')]).toBe('1')
  })

  it("takes the users list's filters: a custom field's value, a search key, a range; each export equals the filtered list", async () => {
    const c = await h.client()
    const dir = (
      await makeDirectory(c, { name: 'Export' }, [
        { key: 'dept', type: 'string' },
        { key: 'seats', type: 'integer' },
      ])
    ).id
    const n = EXPORT_PAGE + 30
    const rows = Array.from({ length: n }, (_, i) => ({
      email: `u${i}@x.io`,
      fields: { dept: i % 3 ? 'Support' : 'Sales', seats: i % 5 },
      // Metadata as channels leave it: a source on most users, a number on some, none on others.
      metadata: i % 4 === 0 ? {} : { source: i % 2 ? 'hr' : 'crm', 'sub.key': 'x', seats: i % 5 },
    }))
    expect((await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })).statusCode).toBe(200)

    for (const filter of [
      'fields.dept=Sales',
      'fields.seats=3&fields.dept=Support',
      'email=U7@X.IO',
      'metadata.source=hr',
      'metadata.source=hr&fields.dept=Sales',
      'metadata.sub.key=x',
      `createdBefore=2000-01-01T00:00:00Z`,
    ]) {
      const listed: User[] = []
      let cursor: string | null = null
      do {
        const r = await c.request('GET', `/api/v1/directories/${dir}/users?limit=1000&${filter}${cursor ? `&cursor=${cursor}` : ''}`)
        listed.push(...(r.json().data as User[]))
        cursor = r.json().nextCursor
      } while (cursor)
      const nd = await c.request('GET', `/api/v1/directories/${dir}/export?${filter}`)
      expect(nd.statusCode, filter).toBe(200)
      const exported =
        nd.body === ''
          ? []
          : nd.body
              .trimEnd()
              .split('\n')
              .map((l) => JSON.parse(l) as User)
      expect(exported, filter).toEqual(listed)
      const csv = parseCsv((await c.request('GET', `/api/v1/directories/${dir}/export?format=csv&${filter}`)).body)
      expect(csv.length - 1, filter).toBe(listed.length)
    }
    // The filters narrow for real: Sales is every third user.
    const sales = (await c.request('GET', `/api/v1/directories/${dir}/export?fields.dept=Sales`)).body.trimEnd().split('\n')
    expect(sales).toHaveLength(Math.ceil(n / 3))
    // Metadata equality is exact text: every odd user is from hr; a number is never text, nor is case ignored.
    const hr = (await c.request('GET', `/api/v1/directories/${dir}/export?metadata.source=hr`)).body.trimEnd().split('\n')
    expect(hr.map((l) => JSON.parse(l).email)).toEqual(rows.filter((_, i) => i % 4 !== 0 && i % 2).map((r) => r.email))
    expect((await c.request('GET', `/api/v1/directories/${dir}/export?metadata.source=HR`)).body).toBe('')
    expect((await c.request('GET', `/api/v1/directories/${dir}/export?metadata.seats=3`)).body).toBe('')
    expect((await c.request('GET', `/api/v1/directories/${dir}/users?metadata.nothere=x`)).json().data).toEqual([])

    // A value the field's type refuses, or an unknown parameter, is a 400 before anything is sent.
    expect((await c.request('GET', `/api/v1/directories/${dir}/export?fields.seats=many`)).statusCode).toBe(400)
    expect((await c.request('GET', `/api/v1/directories/${dir}/export?team=x`)).statusCode).toBe(400)
  })

  it('CSV: custom fields of every type, metadata as JSON, nulls empty, quoting, and formula cells escaped', async () => {
    const c = await h.client()
    const dir = (
      await makeDirectory(c, { name: 'Export' }, [
        { key: 'dept', type: 'string' },
        { key: 'seats', type: 'number' },
        { key: 'vip', type: 'boolean' },
        { key: 'prefs', type: 'json' },
      ])
    ).id
    const rows = [
      {
        email: 'ada@x.io',
        firstName: '=HYPERLINK("http://evil","x")',
        lastName: '+1+2',
        displayName: '@SUM(A1)',
        externalId: '-5',
        metadata: { plan: 'pro', tags: ['a', 'b'], note: 'line1\nline2, "quoted"' },
        fields: { dept: 'R&D, Labs', seats: -3.5, vip: true, prefs: { theme: 'dark' } },
      },
      { email: 'grace@x.io', fields: { vip: false } },
    ]
    expect((await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })).json().summary.created).toBe(2)
    const [ada, grace] = await listAll(c, dir)

    const res = await c.request('GET', `/api/v1/directories/${dir}/export?format=csv`)
    expect(res.statusCode).toBe(200)
    expect(res.body.split('\r\n')[0]).toBe(
      [...EXPORT_COLUMNS, 'metadata', 'fields.dept', 'fields.seats', 'fields.vip', 'fields.prefs'].join(','),
    )
    const [header, a, g] = parseCsv(res.body)
    const cell = (r: string[], col: string) => r[header.indexOf(col)]
    expect(cell(a, 'id')).toBe(ada.id)
    expect(cell(a, 'firstName')).toBe(`'=HYPERLINK("http://evil","x")`)
    expect(cell(a, 'lastName')).toBe("'+1+2")
    expect(cell(a, 'displayName')).toBe("'@SUM(A1)")
    expect(cell(a, 'externalId')).toBe("'-5")
    expect(cell(a, 'fields.seats')).toBe("'-3.5")
    expect(JSON.parse(cell(a, 'metadata'))).toEqual(ada.metadata)
    expect(cell(a, 'fields.dept')).toBe('R&D, Labs')
    expect(cell(a, 'fields.vip')).toBe('true')
    expect(JSON.parse(cell(a, 'fields.prefs'))).toEqual({ theme: 'dark' })
    expect(cell(a, 'createdAt')).toBe(ada.createdAt)
    // Nulls and absent custom fields are empty cells; an empty metadata object is {}.
    expect(cell(g, 'id')).toBe(grace.id)
    expect(cell(g, 'firstName')).toBe('')
    expect(cell(g, 'lastLoginAt')).toBe('')
    expect(cell(g, 'metadata')).toBe('{}')
    expect(cell(g, 'fields.dept')).toBe('')
    expect(cell(g, 'fields.vip')).toBe('false')
    // The raw text: the escaped cell is quoted as a whole, its quotes doubled.
    expect(res.body).toContain(`,"'=HYPERLINK(""http://evil"",""x"")",`)

    // NDJSON is the lossless form: values exactly as stored, nothing escaped.
    const nd = (await c.request('GET', `/api/v1/directories/${dir}/export?format=ndjson`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(nd).toEqual([ada, grace])
    expect(nd[0].lastName).toBe('+1+2')
  })

  it('an empty directory exports a header (CSV) or nothing (NDJSON); bad input and other tenants are refused', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Export' })).id
    const csv = await c.request('GET', `/api/v1/directories/${dir}/export?format=csv`)
    expect(csv.body).toBe(`${[...EXPORT_COLUMNS, 'metadata'].join(',')}\r\n`)
    expect((await c.request('GET', `/api/v1/directories/${dir}/export`)).body).toBe('')

    const bad = await c.request('GET', `/api/v1/directories/${dir}/export?format=xlsx`)
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining('format') })
    expect((await c.request('GET', '/api/v1/directories/no-such-dir/export')).json().code).toBe('directory_not_found')

    const reader = await c.newKey(['read'])
    expect((await reader.request('GET', `/api/v1/directories/${dir}/export`)).statusCode).toBe(200)
    const other = await h.client()
    expect((await other.request('GET', `/api/v1/directories/${dir}/export`)).statusCode).toBe(404)
    const anon = await h.app().app.inject({ method: 'GET', url: `/api/v1/directories/${dir}/export` })
    expect(anon.statusCode).toBe(401)
  })

  it('a signed link (POST …/export/link) streams the same export without the key, until it expires or its key is revoked', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Linked' }, [{ key: 'dept', type: 'string' }])).id
    const rows = Array.from({ length: 30 }, (_, i) => ({ email: `l${i}@x.io`, fields: { dept: i % 3 ? 'Ops' : 'Sales' } }))
    expect((await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })).statusCode).toBe(200)
    const anon = (url: string) => h.app().app.inject({ method: 'GET', url })

    const reader = await c.newKey(['read'])
    const made = await reader.request('POST', `/api/v1/directories/${dir}/export/link?format=csv&fields.dept=Sales&expiresIn=60`)
    expect(made.statusCode, made.body).toBe(201)
    const { url, expiresAt } = made.json() as { url: string; expiresAt: string }
    expect(url).toMatch(new RegExp(`^/api/v1/directories/${dir}/export\\?`))
    const left = Date.parse(expiresAt) - Date.now()
    expect(left).toBeGreaterThan(50_000)
    expect(left).toBeLessThanOrEqual(61_000)
    const viaLink = await anon(url)
    expect(viaLink.statusCode, viaLink.body).toBe(200)
    expect(viaLink.headers['content-type']).toMatch(/^text\/csv/)
    expect(viaLink.body).toBe((await c.request('GET', `/api/v1/directories/${dir}/export?format=csv&fields.dept=Sales`)).body)
    expect(parseCsv(viaLink.body)).toHaveLength(1 + 10)

    // Any change to the parameters voids it: another filter, another format, a parameter more, another path.
    for (const changed of [
      url.replace('Sales', 'Ops'),
      url.replace('format=csv', 'format=ndjson'),
      `${url}&email=l0%40x.io`,
      url.replace('/export?', '/users?'),
    ]) {
      const r = await anon(changed)
      expect(r.statusCode, changed).toBe(401)
      expect(r.json().code).toBe('unauthorized')
    }
    const forged = await anon(url.replace(/signature=[0-9a-f]{4}/, 'signature=0000'))
    expect(forged.json().detail).toMatch(/not valid/)

    // Expired: the expiry is signed, so it cannot be moved; a past one is refused by name.
    const past = new URL(url, 'http://x')
    past.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 5))
    const expired = await anon(`${past.pathname}${past.search}`)
    expect(expired.statusCode).toBe(401)
    expect(expired.json().detail).toMatch(/expired/)

    // The link is no way into the users list, nor into another tenant's export.
    const other = await h.client()
    const otherDir = (await makeDirectory(other, { name: 'Theirs' })).id
    expect((await anon(url.replace(dir, otherDir))).statusCode).toBe(401)
    expect((await c.request('POST', `/api/v1/directories/${otherDir}/export/link`)).statusCode).toBe(404)

    // Bad input is refused when the link is made, not when it is opened.
    const badField = await reader.request('POST', `/api/v1/directories/${dir}/export/link?fields.nope=1`)
    expect(badField.statusCode).toBe(400)
    expect((await reader.request('POST', `/api/v1/directories/${dir}/export/link?expiresIn=7200`)).statusCode).toBe(400)
    expect((await anon(`/api/v1/directories/${dir}/export/link`)).statusCode).toBe(404)

    // Revoking the key that signed it voids the link at once.
    const keys = (await c.request('GET', '/api/v1/keys')).json().data as { id: string; name: string }[]
    const readerKey = new URL(url, 'http://x').searchParams.get('keyId')
    expect(keys.map((k) => k.id)).toContain(readerKey)
    expect((await c.request('DELETE', `/api/v1/keys/${readerKey}`)).statusCode).toBe(204)
    const revoked = await anon(url)
    expect(revoked.statusCode).toBe(401)
    expect(revoked.json().detail).toMatch(/revoked/)
  })

  it('is in the OpenAPI document with its operationId', async () => {
    const doc = (await h.app().app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const op = doc.paths['/api/v1/directories/{dir}/export'].get
    expect(op.operationId).toBe('exportUsers')
    expect(Object.keys(op.responses['200'].content)).toEqual(expect.arrayContaining(['text/csv', 'application/x-ndjson']))
    expect(doc.paths['/api/v1/directories/{dir}/export/link'].post.operationId).toBe('linkUsersExport')
  })
})
