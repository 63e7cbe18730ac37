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
    const rows = Array.from({ length: n }, (_, i) => ({ email: `u${i}@x.io`, fields: { dept: i % 3 ? 'Support' : 'Sales', seats: i % 5 } }))
    expect((await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })).statusCode).toBe(200)

    for (const filter of [
      'fields.dept=Sales',
      'fields.seats=3&fields.dept=Support',
      'email=U7@X.IO',
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

  it('is in the OpenAPI document with its operationId', async () => {
    const doc = (await h.app().app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const op = doc.paths['/api/v1/directories/{dir}/export'].get
    expect(op.operationId).toBe('exportUsers')
    expect(Object.keys(op.responses['200'].content)).toEqual(expect.arrayContaining(['text/csv', 'application/x-ndjson']))
  })
})
