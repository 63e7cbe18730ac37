import type { InjectOptions } from 'fastify'
import { expect, it } from 'vitest'
import { expectProblem, type FieldError, ok, type Problem } from './helpers/answers.js'
import { type Client, useApp } from './helpers/app.js'
import { makeDirectory } from './helpers/directories.js'
import { describeEachEngine } from './helpers/engines.js'

/**
 * Bad input through the native API: each answer is a 4xx problem+json that names the field
 * path and the rule, and nothing is written (every test re-reads the state to prove it).
 */

type Method = NonNullable<InjectOptions['method']>

interface User {
  id: string
  email: string | null
  firstName: string | null
  version: number
  [k: string]: unknown
}

interface RowResult {
  index: number
  status: string
  userId: string | null
  errors: FieldError[]
}

/** The problem names this field with this rule among its errors. */
function expectFieldError(p: Problem, field: string, code?: string): void {
  const found = (p.errors ?? []).filter((e) => e.field === field)
  expect(
    found.map((e) => e.field),
    `errors of ${JSON.stringify(p)} name '${field}'`,
  ).toContain(field)
  if (code)
    expect(
      found.map((e) => e.code),
      `rule of '${field}' in ${JSON.stringify(p)}`,
    ).toContain(code)
  for (const e of found) expect(e.message).toEqual(expect.any(String))
}

/** A tenant with a directory that has a custom text field (`dept`, at most 10 characters) and an integer field. */
async function setup(h: ReturnType<typeof useApp>) {
  const c = await h.client()
  const dir = await makeDirectory(c, { name: 'Bad input', externalId: 'bad-input' }, [
    { key: 'dept', type: 'string', maxLength: 10 },
    { key: 'score', type: 'integer' },
  ])
  const base = `/api/v1/directories/${dir.id}`
  const ada = (
    await ok(c.request('POST', `${base}/users`, { email: 'ada@x.io', firstName: 'Ada', fields: { dept: 'R&D' } }), 201)
  ).json() as User
  return { c, dir, base, ada }
}

/** Everything a client can read of the tenant, to prove that nothing was written. */
async function snapshot(c: Client, base: string) {
  const get = async (url: string) => (await ok(c.request('GET', url))).json() as unknown
  return {
    directories: await get('/api/v1/directories'),
    users: await get(`${base}/users?limit=1000`),
    history: await get(`${base}/history?limit=1000`),
    fields: await get(`${base}/fields`),
    keys: ((await get('/api/v1/keys')) as { data: { lastUsedAt: unknown }[] }).data.map(({ lastUsedAt: _l, ...k }) => k),
  }
}

const json = { 'content-type': 'application/json' }

describeEachEngine('API bad input', (engine) => {
  const h = useApp(engine)
  const small = useApp(engine, { bulkMaxRows: 5, bulkMaxBytes: 2048 })

  it('malformed JSON is a 400 invalid_json on every body route, and nothing is written', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const targets: [Method, string][] = [
      ['POST', '/api/v1/directories'],
      ['PATCH', base],
      ['POST', `${base}/users`],
      ['PATCH', `${base}/users/${ada.id}`],
      ['POST', `${base}/users/bulk`],
      ['POST', `${base}/fields`],
      ['PATCH', `${base}/fields/dept`],
      ['POST', '/api/v1/keys'],
    ]
    for (const [method, url] of targets) {
      for (const payload of ['{"email": ', "{'email': 'a@x.io'}", '{"email":"a@x.io",}', '']) {
        const p = expectProblem(
          await c.request(method, url, payload, json),
          400,
          'invalid_json',
          `${method} ${url} ${JSON.stringify(payload)}`,
        )
        expect(p.detail).toMatch(/JSON/)
      }
    }
    expectProblem(
      await c.request('PATCH', `${base}/users/${ada.id}`, '{"firstName": ', { 'content-type': 'application/merge-patch+json' }),
      400,
      'invalid_json',
      'merge-patch',
    )
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a body that is not JSON is a 415 unsupported_media_type, and nothing is written', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const body = JSON.stringify({ email: 'new@x.io', firstName: 'New' })
    for (const type of ['application/xml', 'application/x-www-form-urlencoded', 'text/csv', 'text/plain']) {
      for (const [method, url] of [
        ['POST', `${base}/users`],
        ['PATCH', `${base}/users/${ada.id}`],
        ['POST', `${base}/users/bulk`],
        ['POST', '/api/v1/directories'],
      ] as [Method, string][]) {
        const p = expectProblem(
          await c.request(method, url, method === 'POST' && url.endsWith('bulk') ? JSON.stringify({ rows: [] }) : body, {
            'content-type': type,
          }),
          415,
          'unsupported_media_type',
          `${method} ${url} as ${type}`,
          true,
        )
        expect.soft(p.detail).toContain('application/json')
      }
    }
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('create and patch name every bad field with its rule: type, unknown, email, length, country, read-only', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const cases: [Record<string, unknown>, string, string][] = [
      [{ firstName: 3 }, 'firstName', 'invalid_type'],
      [{ firstName: ['Ada'] }, 'firstName', 'invalid_type'],
      [{ metadata: 'gold' }, 'metadata', 'invalid_type'],
      [{ fields: { score: 'ten' } }, 'fields.score', 'invalid_type'],
      [{ fields: { score: 1.5 } }, 'fields.score', 'invalid_type'],
      [{ shoeSize: 42 }, 'shoeSize', 'unknown_field'],
      [{ fields: { nope: 1 } }, 'fields.nope', 'unknown_field'],
      [{ email: 'not-an-email' }, 'email', 'invalid_format'],
      [{ avatarUrl: 'not a url' }, 'avatarUrl', 'invalid_format'],
      [{ phone: 'call me' }, 'phone', 'invalid_format'],
      [{ lastLoginAt: 'yesterday' }, 'lastLoginAt', 'invalid_format'],
      [{ firstName: 'x'.repeat(256) }, 'firstName', 'too_long'],
      [{ fields: { dept: 'x'.repeat(11) } }, 'fields.dept', 'too_long'],
      [{ country: 'ZZ' }, 'country', 'invalid_value'],
      [{ country: 'usa' }, 'country', 'invalid_value'],
      [{ version: 7 }, 'version', 'read_only'],
      [{ createdAt: '2020-01-01T00:00:00.000Z' }, 'createdAt', 'read_only'],
      [{ updatedAt: '2020-01-01T00:00:00.000Z' }, 'updatedAt', 'read_only'],
      [{ loginCount: 9 }, 'loginCount', 'read_only'],
      [{ directoryId: 'elsewhere' }, 'directoryId', 'read_only'],
    ]
    for (const [extra, field, code] of cases) {
      const what = JSON.stringify(extra).slice(0, 80)
      const created = expectProblem(
        await c.request('POST', `${base}/users`, { email: 'new@x.io', ...extra }),
        400,
        'validation_failed',
        `create ${what}`,
      )
      expectFieldError(created, field, code)
      expect(created.detail, `create ${what}`).toContain(field)
      const patched = expectProblem(await c.request('PATCH', `${base}/users/${ada.id}`, extra), 400, 'validation_failed', `patch ${what}`)
      expectFieldError(patched, field, code)
      const bulk = (await ok(c.request('POST', `${base}/users/bulk`, { rows: [{ email: 'ada@x.io', ...extra }] }))).json() as {
        results: RowResult[]
      }
      expect(bulk.results[0].status, `bulk ${what}`).toBe('failed')
      expect(
        bulk.results[0].errors.map((e) => [e.field, e.code]),
        `bulk ${what}`,
      ).toContainEqual([field, code])
    }
    // Every error of a row at once, not only the first.
    const many = expectProblem(
      await c.request('POST', `${base}/users`, { email: 'bad', firstName: 3, country: 'ZZ', version: 2, shoeSize: 1 }),
      400,
      'validation_failed',
      'many',
    )
    expect((many.errors ?? []).map((e) => [e.field, e.code]).sort()).toEqual([
      ['country', 'invalid_value'],
      ['email', 'invalid_format'],
      ['firstName', 'invalid_type'],
      ['shoeSize', 'unknown_field'],
      ['version', 'read_only'],
    ])
    // A patch cannot move a user to another id.
    expectFieldError(
      expectProblem(
        await c.request('PATCH', `${base}/users/${ada.id}`, { id: '00000000-0000-4000-8000-000000000000' }),
        400,
        'validation_failed',
        'patch id',
      ),
      'id',
      'read_only',
    )
    // The body of a create or patch must be an object.
    for (const payload of ['[]', '"ada"', '3', 'null']) {
      expectProblem(await c.request('POST', `${base}/users`, payload, json), 400, 'validation_failed', `create ${payload}`)
      expectProblem(await c.request('PATCH', `${base}/users/${ada.id}`, payload, json), 400, 'validation_failed', `patch ${payload}`)
    }
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('other request bodies name their bad fields too: directories, fields, keys', async () => {
    const { c, base } = await setup(h)
    const before = await snapshot(c, base)
    const cases: [Method, string, unknown, string, string?][] = [
      ['POST', '/api/v1/directories', { name: '' }, 'name', 'too_short'],
      ['POST', '/api/v1/directories', { name: 3 }, 'name', 'invalid_type'],
      ['POST', '/api/v1/directories', { name: 'X', colour: 'red' }, 'colour', 'unknown_field'],
      ['POST', '/api/v1/directories', {}, 'name', 'required'],
      ['PATCH', base, { name: 'x'.repeat(201) }, 'name', 'too_long'],
      ['POST', `${base}/fields`, { key: 'tier', type: 'colour' }, 'type'],
      ['POST', `${base}/fields`, { key: '1tier', type: 'string' }, 'key', 'invalid_format'],
      ['POST', `${base}/fields`, { key: 'tier', type: 'string', maxLength: 0 }, 'maxLength'],
      ['POST', `${base}/fields`, { key: 'tier', type: 'integer', maxLength: 5 }, 'maxLength', 'invalid'],
      ['POST', `${base}/fields`, { key: 'tier', type: 'enum' }, 'enumValues', 'required'],
      ['POST', `${base}/fields`, { key: 'tier', type: 'string', pattern: '(' }, 'pattern', 'invalid_format'],
      ['PATCH', `${base}/fields/dept`, { type: 'integer' }, 'type', 'unknown_field'],
      ['PATCH', `${base}/fields/email`, { maxLength: 10 }, 'maxLength', 'read_only'],
      ['POST', '/api/v1/keys', { name: 'k', scopes: ['root'] }, 'scopes.0'],
      ['POST', '/api/v1/keys', { name: 'k', scopes: [] }, 'scopes'],
      ['POST', '/api/v1/keys', { name: 'k' }, 'scopes', 'required'],
    ]
    for (const [method, url, body, field, code] of cases) {
      const p = expectProblem(await c.request(method, url, body), 400, 'validation_failed', `${method} ${url} ${JSON.stringify(body)}`)
      expectFieldError(p, field, code)
    }
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a body over the sync bulk limits is a 413 that points to the async imports endpoint, and nothing is written', async () => {
    const c = await small.client()
    const dir = (await ok(c.request('POST', '/api/v1/directories', { name: 'Small', externalId: 'small' }), 201)).json() as { id: string }
    const base = `/api/v1/directories/${dir.id}`
    const before = await snapshot(c, base)

    const rows = Array.from({ length: 6 }, (_, i) => ({ email: `u${i}@x.io` }))
    const tooMany = expectProblem(await c.request('POST', `${base}/users/bulk`, { rows }), 413, 'payload_too_large', '6 rows')
    expect(tooMany.detail).toContain(`/api/v1/directories/${dir.id}/imports`)
    expect(tooMany.detail).toContain('5 rows')

    const fat = [{ email: 'fat@x.io', metadata: { note: 'x'.repeat(2100) } }]
    const tooBig = expectProblem(await c.request('POST', `${base}/users/bulk`, { rows: fat }), 413, 'payload_too_large', '2 KB')
    expect(tooBig.detail).toContain(`/api/v1/directories/${dir.id}/imports`)
    const byExt = expectProblem(
      await c.request('POST', '/api/v1/directories/small/users/bulk', { rows: fat }),
      413,
      'payload_too_large',
      '2 KB by externalId',
    )
    expect(byExt.detail).toMatch(/\/api\/v1\/directories\/(small|[0-9a-f-]{36})\/imports/)

    // At the limit it is accepted.
    const five = (await ok(c.request('POST', `${base}/users/bulk`, { rows: rows.slice(0, 5) }))).json()
    expect(five.summary.created).toBe(5)
    const after = await snapshot(c, base)
    expect((after.users as { data: User[] }).data.map((u) => u.email)).toEqual(rows.slice(0, 5).map((r) => r.email))
    expect(after.directories).toEqual(before.directories)
  })

  it('an unknown directory is a 404 directory_not_found, an unknown user a 404 user_not_found', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const missing = '00000000-0000-4000-8000-000000000000'
    for (const ref of [missing, 'no-such-dir']) {
      const d = `/api/v1/directories/${ref}`
      const probes: [Method, string, unknown?][] = [
        ['GET', d],
        ['PATCH', d, { name: 'X' }],
        ['DELETE', d],
        ['GET', `${d}/users`],
        ['POST', `${d}/users`, { email: 'new@x.io' }],
        ['POST', `${d}/users/bulk`, { rows: [{ email: 'new@x.io' }] }],
        ['GET', `${d}/users/${ada.id}`],
        ['GET', `${d}/fields`],
        ['POST', `${d}/fields`, { key: 'x', type: 'string' }],
        ['GET', `${d}/history`],
      ]
      for (const [method, url, body] of probes) {
        const p = expectProblem(await c.request(method, url, body), 404, 'directory_not_found', `${method} ${url}`)
        expect(p.detail).toContain(ref)
      }
    }
    for (const id of [missing, 'nobody']) {
      const u = `${base}/users/${id}`
      expectProblem(await c.request('GET', u), 404, 'user_not_found', `GET ${id}`, true)
      expectProblem(await c.request('PATCH', u, { firstName: 'Ghost' }), 404, 'user_not_found', `PATCH ${id}`, true)
      expectProblem(
        await c.request('PATCH', u, { firstName: 'Ghost' }, { 'if-match': 'W/"1"' }),
        404,
        'user_not_found',
        `PATCH ${id} if-match`,
        true,
      )
      expectProblem(await c.request('DELETE', u), 404, 'user_not_found', `DELETE ${id}`, true)
    }
    expectProblem(await c.request('PATCH', `${base}/fields/nope`, { label: 'X' }), 404, 'field_not_found', 'PATCH field')
    expectProblem(await c.request('DELETE', `${base}/fields/nope`), 404, 'field_not_found', 'DELETE field')
    expectProblem(await c.request('DELETE', `/api/v1/keys/${missing}`), 404, 'key_not_found', 'DELETE key')
    expectProblem(await c.request('GET', '/api/v1/nothing-here'), 404, 'route_not_found', 'no route')
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('bad query parameters are a 400 naming the parameter', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const cases: [string, string, string?][] = [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit', 'invalid_type'],
      ['limit=1.5', 'limit', 'invalid_type'],
      ['createdAfter=yesterday', 'createdAfter', 'invalid_format'],
      ['updatedBefore=2024-13-45', 'updatedBefore', 'invalid_format'],
      ['fields.nope=1', 'fields.nope', 'unknown_field'],
      ['fields.score=ten', 'fields.score', 'invalid_type'],
      ['colour=red', 'colour', 'unknown_field'],
    ]
    for (const [query, field, code] of cases) {
      const p = expectProblem(await c.request('GET', `${base}/users?${query}`), 400, 'validation_failed', query)
      expectFieldError(p, field, code)
    }
    for (const url of [`${base}/history`, `${base}/users/${ada.id}/history`]) {
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=abc', 'limit'],
        ['field=has%20space', 'field'],
        ['colour=red', 'colour'],
      ]) {
        const p = expectProblem(await c.request('GET', `${url}?${query}`), 400, 'validation_failed', `${url}?${query}`)
        expectFieldError(p, field)
      }
    }
    // Sanity: the same routes answer with good parameters.
    expect((await ok(c.request('GET', `${base}/users?limit=1&fields.score=3&createdAfter=2000-01-01T00:00:00Z`))).json().data).toEqual([])
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a cursor the server did not issue is a 400 invalid_cursor', async () => {
    const { c, base, ada } = await setup(h)
    await ok(c.request('POST', `${base}/users`, { email: 'bob@x.io' }), 201)
    const first = (await ok(c.request('GET', `${base}/users?limit=1`))).json() as { data: User[]; nextCursor: string }
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = (await ok(c.request('GET', `${base}/users?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`))).json() as {
      data: User[]
    }
    expect(second.data.map((u) => u.email)).toEqual(['bob@x.io'])
    for (const cursor of [
      'garbage',
      Buffer.from('s:-1').toString('base64url'),
      Buffer.from('x:5').toString('base64url'),
      '%00',
      `${first.nextCursor}zz`,
    ]) {
      for (const url of [`${base}/users`, `${base}/history`, `${base}/users/${ada.id}/history`]) {
        const p = expectProblem(
          await c.request('GET', `${url}?cursor=${encodeURIComponent(cursor)}`),
          400,
          'invalid_cursor',
          `${url} cursor ${cursor}`,
        )
        expect(p.detail).toMatch(/cursor/)
      }
    }
  })

  it('bulk options are validated: an unknown mode, match key or option is a 400 naming it', async () => {
    const { c, base } = await setup(h)
    const before = await snapshot(c, base)
    const rows = [{ email: 'ada@x.io', firstName: 'Changed' }, { email: 'new@x.io' }]
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ rows, mode: 'merge' }, 'mode', 'invalid_value'],
      [{ rows, match: 'phone' }, 'match'],
      [{ rows, match: ['email', 'phone'] }, 'match.1'],
      [{ rows, match: [] }, 'match'],
      [{ rows, metadata: 'deep' }, 'metadata', 'invalid_value'],
      [{ rows, atomic: 'yes' }, 'atomic', 'invalid_type'],
      [{ rows, dryRun: 1 }, 'dryRun', 'invalid_type'],
      [{ rows, maxErrors: 0 }, 'maxErrors'],
      [{ rows, upsert: true }, 'upsert', 'unknown_field'],
      [{ rows: { email: 'ada@x.io' } }, 'rows', 'invalid_type'],
      [{ users: rows }, 'rows', 'required'],
    ]
    for (const [body, field, code] of cases) {
      const p = expectProblem(
        await c.request('POST', `${base}/users/bulk`, body),
        400,
        'validation_failed',
        JSON.stringify(body).slice(0, 100),
      )
      expectFieldError(p, field, code)
    }
    expectProblem(await c.request('POST', `${base}/users/bulk`, rows), 400, 'validation_failed', 'a bare array')
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a bulk row that is not an object fails alone (200), and the good rows are written', async () => {
    const { c, base } = await setup(h)
    const res = await ok(c.request('POST', `${base}/users/bulk`, { rows: ['bob@x.io', 5, null, [], { email: 'carol@x.io' }, {}] }))
    const body = res.json() as { summary: Record<string, number>; results: RowResult[] }
    expect(body.summary).toEqual({ total: 6, created: 1, updated: 0, unchanged: 0, failed: 5 })
    expect(body.results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'created', 'failed'])
    for (const i of [0, 1, 2, 3]) expect(body.results[i].errors).toEqual([{ field: '', code: 'invalid_type', message: expect.any(String) }])
    expect(body.results[5].errors.map((e) => e.code)).toContain('empty_row')
    const users = (await ok(c.request('GET', `${base}/users`))).json().data as User[]
    expect(users.map((u) => u.email).sort()).toEqual(['ada@x.io', 'carol@x.io'])
  })

  it('an atomic bulk with one bad row is a 422 batch_failed with per-row results, and nothing is written', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const res = await c.request('POST', `${base}/users/bulk`, {
      atomic: true,
      rows: [
        { email: 'ada@x.io', firstName: 'Changed' },
        { email: 'new@x.io' },
        { email: 'bad', firstName: 3 },
        { email: 'also-new@x.io' },
      ],
    })
    const p = expectProblem(res, 422, 'batch_failed', 'atomic')
    expect(p.detail).toContain('2')
    expect(p.summary).toEqual({ total: 4, created: 0, updated: 0, unchanged: 0, failed: 4 })
    const results = p.results as RowResult[]
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3])
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'failed'])
    expect(results[2].errors.map((e) => [e.field, e.code]).sort()).toEqual([
      ['email', 'invalid_format'],
      ['firstName', 'invalid_type'],
    ])
    for (const i of [0, 1, 3]) expect(results[i].errors.map((e) => e.code)).toEqual(['rolled_back'])
    expect(await snapshot(c, base)).toEqual(before)
    expect((await ok(c.request('GET', `${base}/users/${ada.id}`))).json()).toEqual(ada)
    // dry run: the same rows answer 200 with the plan, and write nothing either.
    const dry = (await ok(c.request('POST', `${base}/users/bulk`, { atomic: true, dryRun: true, rows: [{ email: 'new@x.io' }] }))).json()
    expect(dry.summary.created).toBe(1)
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('Idempotency-Key: the same key and body replay the same answer and write once; another body is a 422', async () => {
    const { c, base, ada } = await setup(h)
    const body = { email: 'idem@x.io', firstName: 'Idem' }
    const key = { 'idempotency-key': 'create-idem-1' }
    const first = await ok(c.request('POST', `${base}/users`, body, key), 201)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    const again = await c.request('POST', `${base}/users`, body, key)
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    expect(again.headers['content-type']).toBe(first.headers['content-type'])
    expect.soft(again.headers.location, 'replayed Location').toBe(first.headers.location)
    expect.soft(again.headers.etag, 'replayed ETag').toBe(first.headers.etag)

    const created = first.json() as User
    const users = (await ok(c.request('GET', `${base}/users?email=idem@x.io`))).json().data as User[]
    expect(users.map((u) => u.id)).toEqual([created.id])
    expect((await ok(c.request('GET', `${base}/users/${created.id}/history`))).json().data).toHaveLength(1)
    const before = await snapshot(c, base)

    const other = expectProblem(
      await c.request('POST', `${base}/users`, { ...body, firstName: 'Other' }, key),
      422,
      'idempotency_key_reused',
      'other body',
    )
    expect(other.detail).toContain('create-idem-1')
    expectProblem(await c.request('PATCH', `${base}/users/${ada.id}`, body, key), 422, 'idempotency_key_reused', 'other route')
    expectProblem(await c.request('POST', `${base}/users/bulk`, { rows: [body] }, key), 422, 'idempotency_key_reused', 'other route (bulk)')
    expect(await snapshot(c, base)).toEqual(before)

    // A patch replays too, and applies once.
    const pkey = { 'idempotency-key': 'patch-idem-1' }
    const p1 = await ok(c.request('PATCH', `${base}/users/${ada.id}`, { lastName: 'Lovelace' }, pkey))
    const p2 = await ok(c.request('PATCH', `${base}/users/${ada.id}`, { lastName: 'Lovelace' }, pkey))
    expect(p2.headers['idempotent-replayed']).toBe('true')
    expect(p2.json()).toEqual(p1.json())
    expect((await ok(c.request('GET', `${base}/users/${ada.id}/history`))).json().data).toHaveLength(2)

    // A bad key is a 400, and writes nothing.
    const mid = await snapshot(c, base)
    expectProblem(
      await c.request('POST', `${base}/users`, { email: 'k@x.io' }, { 'idempotency-key': 'x'.repeat(256) }),
      400,
      'bad_request',
      'long key',
    )
    expectProblem(
      await c.request('POST', `${base}/users`, { email: 'k@x.io' }, { 'idempotency-key': 'has space' }),
      400,
      'bad_request',
      'key with a space',
    )
    expect(await snapshot(c, base)).toEqual(mid)
  })

  it('a taken email, username or externalId is a 409 user_exists naming the field, case-insensitively', async () => {
    const { c, base } = await setup(h)
    const bob = (
      await ok(c.request('POST', `${base}/users`, { email: 'bob@x.io', username: 'bob', externalId: 'B-1' }), 201)
    ).json() as User
    const before = await snapshot(c, base)
    for (const [body, field] of [
      [{ email: 'ADA@X.IO' }, 'email'],
      [{ email: 'new@x.io', username: 'BOB' }, 'username'],
      [{ email: 'new@x.io', externalId: 'B-1' }, 'externalId'],
    ] as [Record<string, string>, string][]) {
      const p = expectProblem(await c.request('POST', `${base}/users`, body), 409, 'user_exists', JSON.stringify(body))
      expectFieldError(p, field)
    }
    // Taking another user's email in a patch, too.
    const p = expectProblem(await c.request('PATCH', `${base}/users/${bob.id}`, { email: 'Ada@x.io' }), 409, 'user_exists', 'patch email')
    expectFieldError(p, 'email')
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a PATCH or DELETE with a stale If-Match is a 412 version_mismatch and changes nothing', async () => {
    const { c, base, ada } = await setup(h)
    const u = `${base}/users/${ada.id}`
    const v2 = (await ok(c.request('PATCH', u, { lastName: 'Lovelace' }))).json() as User
    expect(v2.version).toBe(2)
    const before = await snapshot(c, base)
    for (const tag of ['W/"1"', '"1"', 'W/"3"']) {
      const p = expectProblem(
        await c.request('PATCH', u, { firstName: 'Stale' }, { 'if-match': tag }),
        412,
        'version_mismatch',
        `patch ${tag}`,
      )
      expect(p.detail).toContain('2')
      expectProblem(await c.request('DELETE', u, undefined, { 'if-match': tag }), 412, 'version_mismatch', `delete ${tag}`)
    }
    for (const tag of ['1', 'W/1', 'abc', '"x"']) {
      expectProblem(await c.request('PATCH', u, { firstName: 'Stale' }, { 'if-match': tag }), 400, 'bad_request', `patch ${tag}`)
      expectProblem(await c.request('DELETE', u, undefined, { 'if-match': tag }), 400, 'bad_request', `delete ${tag}`)
    }
    expect(await snapshot(c, base)).toEqual(before)
    const got = await ok(c.request('GET', u))
    expect(got.json()).toEqual(v2)
    expect(got.headers.etag).toBe('W/"2"')
    // The current version works.
    expect((await ok(c.request('PATCH', u, { firstName: 'Fresh' }, { 'if-match': 'W/"2"' }))).json().version).toBe(3)
  })

  it('a NUL character in a user field is a 400 naming the field, and nothing is written', async () => {
    const { c, base, ada } = await setup(h)
    const before = await snapshot(c, base)
    const cases: [Record<string, unknown>, string][] = [
      [{ firstName: 'Ad\u0000a' }, 'firstName'],
      [{ fields: { dept: 'R\u0000D' } }, 'fields.dept'],
      [{ metadata: { note: 'a\u0000b' } }, 'metadata.note'],
    ]
    for (const [extra, field] of cases) {
      const what = JSON.stringify(extra)
      const created = expectProblem(
        await c.request('POST', `${base}/users`, { email: 'nul@x.io', ...extra }),
        400,
        'validation_failed',
        `create ${what}`,
      )
      expect
        .soft(
          (created.errors ?? []).map((e) => e.field),
          `create ${what}: ${JSON.stringify(created.errors)}`,
        )
        .toContain(field)
      const patched = expectProblem(await c.request('PATCH', `${base}/users/${ada.id}`, extra), 400, 'validation_failed', `patch ${what}`)
      expect
        .soft(
          (patched.errors ?? []).map((e) => e.field),
          `patch ${what}`,
        )
        .toContain(field)
      const bulk = (await ok(c.request('POST', `${base}/users/bulk`, { rows: [{ email: 'ada@x.io', ...extra }] }))).json() as {
        results: RowResult[]
      }
      expect(bulk.results[0].status).toBe('failed')
      expect
        .soft(
          bulk.results[0].errors.map((e) => e.field),
          `bulk ${what}`,
        )
        .toContain(field)
    }
    expect(await snapshot(c, base)).toEqual(before)
  })

  it('a NUL character anywhere else (directory, field, key, query) is a 400, and nothing is written', async () => {
    const { c, base } = await setup(h)
    const before = await snapshot(c, base)
    const cases: [Method, string, unknown?][] = [
      ['POST', '/api/v1/directories', { name: 'Bad\u0000name' }],
      ['POST', '/api/v1/directories', { name: 'Ok', externalId: 'ext\u0000' }],
      ['PATCH', base, { name: 'Bad\u0000name' }],
      ['POST', `${base}/fields`, { key: 'tier', type: 'string', label: 'Ti\u0000er' }],
      ['POST', `${base}/fields`, { key: 'level', type: 'enum', enumValues: ['a\u0000'] }],
      ['PATCH', `${base}/fields/dept`, { label: 'De\u0000pt' }],
      ['POST', '/api/v1/keys', { name: 'k\u0000', scopes: ['read'] }],
      ['GET', `${base}/users?email=a%00b@x.io`],
      ['GET', `${base}/users?fields.dept=a%00b`],
      ['GET', `${base}/history?userId=a%00b`],
      ['GET', `${base}/users/a%00b`],
      ['PATCH', `${base}/users/a%00b`, { firstName: 'X' }],
      ['DELETE', `${base}/users/a%00b`],
      ['GET', '/api/v1/directories/a%00b'],
      ['DELETE', '/api/v1/keys/a%00b'],
    ]
    for (const [method, url, body] of cases) {
      const res = await c.request(method, url, body)
      const what = `${method} ${url} ${JSON.stringify(body) ?? ''}`
      const problem = res.headers['content-type']?.toString().includes('json') ? (res.json() as Problem) : undefined
      // A write: 400, never stored. A lookup: 400, or nothing found (404, or an empty page); never a 500.
      const allowed = url.includes('%00') ? (url.includes('?') ? [200, 400] : [400, 404]) : [400]
      expect.soft(allowed, `${what} answered ${res.statusCode} ${problem?.code ?? ''}: ${res.body.slice(0, 300)}`).toContain(res.statusCode)
      if (res.statusCode === 200 && method === 'GET') expect.soft(res.json().data, what).toEqual([])
      else expect.soft(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
    }
    expect(await snapshot(c, base)).toEqual(before)
  })
})
