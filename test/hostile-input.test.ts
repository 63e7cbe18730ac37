import type { LightMyRequestResponse } from 'fastify'
import { expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../src/core/input-guard.js'
import { type Client, useApp } from './helpers/app.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'
import { upload, waitForJob } from './helpers/jobs.js'
import { makeDirectory } from './helpers/directories.js'

/**
 * Input an attacker sends on purpose, through every door: bodies nested thousands of levels,
 * numbers beyond what a parameter or a field can hold, bytes that are not UTF-8, lone surrogates,
 * keys with line breaks or named `__proto__`. Each is a 4xx in the door's own envelope that names
 * what is wrong, and nothing is written; nothing the store keeps differs from what was sent.
 */

interface Door {
  name: string
  /** Sends a raw body to the door's create/write endpoint. */
  send(payload: string | Buffer, contentType?: string): Promise<LightMyRequestResponse>
  /** The error message of the door's envelope (and checks the envelope's shape). */
  message(r: LightMyRequestResponse): string
}

/** A tenant with a directory (custom integer field `score`) and a key for each door. */
async function setup(h: ReturnType<typeof useApp>) {
  const admin = await h.client()
  const dir = await makeDirectory(admin, { name: 'Hostile', externalId: 'hostile' })
  expect((await admin.request('POST', `/api/v1/directories/${dir.id}/fields`, { key: 'score', type: 'integer' })).statusCode).toBe(201)
  const key = await admin.newKey(['write'], [dir.id])
  const { key: velt, secret } = await h.app().services.keys.create(admin.tenantId, { name: 'velt', scopes: ['admin'] })
  const inject = (url: string, payload: string | Buffer, headers: Record<string, string>) =>
    h.app().app.inject({ method: 'POST', url, payload, headers })
  const json = 'application/json'
  const doors: Door[] = [
    {
      name: 'native',
      send: (p, ct = json) => admin.request('POST', `/api/v1/directories/${dir.id}/users`, p, { 'content-type': ct }),
      message: (r) => {
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/)
        return r.json().detail as string
      },
    },
    {
      name: 'oneofnone',
      send: (p, ct = json) => inject('/oneofnone/v1/users/batch-update', p, { 'x-api-key': key.key, 'content-type': ct }),
      message: (r) => {
        expect(Object.keys(r.json())).toEqual(['message'])
        return r.json().message as string
      },
    },
    {
      name: 'dynamic',
      send: (p, ct = json) => key.request('POST', `/dynamic/api/v0/environments/${dir.id}/users`, p, { 'content-type': ct }),
      message: (r) => r.json().error as string,
    },
    {
      name: 'returning',
      send: (p, ct = json) => key.request('POST', '/returning/apis/v1/users', p, { 'content-type': ct }),
      message: (r) => {
        expect(r.json().status).toBe('error')
        return r.json().message as string
      },
    },
    {
      name: 'velt',
      send: (p, ct = json) =>
        inject('/velt/v1/users/add', p, { 'x-velt-api-key': velt.id, 'x-velt-auth-token': secret, 'content-type': ct }),
      message: (r) => {
        expect(r.json().error.status).toBe('INVALID_ARGUMENT')
        return r.json().error.message as string
      },
    },
    {
      name: 'scim',
      send: (p, ct = 'application/scim+json') => key.request('POST', '/scim/v2/Users', p, { 'content-type': ct }),
      message: (r) => {
        expect(r.headers['content-type']).toMatch(/^application\/scim\+json/)
        expect(r.json().schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
        return r.json().detail as string
      },
    },
  ]
  const base = `/api/v1/directories/${dir.id}`
  return { admin, dir, key, doors, base }
}

/** What a user of the tenant can read back: users and every history record. */
async function snapshot(c: Client, base: string) {
  return {
    users: (await c.request('GET', `${base}/users?limit=1000`)).json(),
    history: (await c.request('GET', `${base}/history?limit=1000`)).json(),
  }
}

/** A JSON text nested `levels` deep (arrays), as a value to put in a body. */
const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`

/** A body of each door carrying `value` (raw JSON text) in a free-form place. */
function bodyWith(door: string, value: string): string {
  switch (door) {
    case 'native':
      return `{"email":"deep@x.io","metadata":{"v":${value}}}`
    case 'oneofnone':
      return `{"users":[{"email":"deep@x.io","metadata":{"v":${value}}}]}`
    case 'dynamic':
      return `{"email":"deep@x.io","metadata":{"v":${value}}}`
    case 'returning':
      return `{"email":"deep@x.io","customFields":[{"fieldIdorName":"score","value":${value}}]}`
    case 'velt':
      return `{"data":{"organizationId":"hostile","users":[{"userId":"u1","name":${value}}]}}`
    default:
      return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"deep","x":${value}}`
  }
}

describeEachEngine('hostile input', (engine) => {
  const h = useApp(engine)

  it(`a body nested deeper than ${MAX_JSON_DEPTH} levels is a 400 naming the limit on every door, in its envelope; nothing is written`, async () => {
    const { admin, doors, base } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      for (const levels of [MAX_JSON_DEPTH + 1, 2_000, 100_000]) {
        const r = await door.send(bodyWith(door.name, nested(levels)))
        expect.soft(r.statusCode, `${door.name} ${levels}: ${r.body.slice(0, 300)}`).toBe(400)
        if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`))
      }
    }
    // The bulk routes (whose rows stand alone) are refused whole: the body is not a list of rows at all.
    const bulk = await admin.request('POST', `${base}/users/bulk`, `{"rows":[{"email":"a@x.io","metadata":{"v":${nested(5_000)}}}]}`, {
      'content-type': 'application/json',
    })
    expect(bulk.statusCode, bulk.body.slice(0, 300)).toBe(400)
    expect(bulk.json()).toMatchObject({ code: 'bad_request', errors: [{ code: 'too_deep' }] })
    const merge = await admin.request('POST', `${base}/users`, { email: 'ok@x.io' })
    const patch = await admin.request('PATCH', `${base}/users/${merge.json().id}`, `{"metadata":{"v":${nested(3_000)}}}`, {
      'content-type': 'application/merge-patch+json',
    })
    expect(patch.statusCode).toBe(400)
    await admin.request('DELETE', `${base}/users/${merge.json().id}`)
    expect((await snapshot(admin, base)).users).toEqual(before.users)
  })

  it('a body just within the depth limit is stored and reads back as sent', async () => {
    const { admin, base } = await setup(h)
    // body (1) → metadata (2) → v (3) → arrays: the deepest array sits at MAX_JSON_DEPTH.
    const value = nested(MAX_JSON_DEPTH - 2)
    const r = await admin.request('POST', `${base}/users`, `{"email":"deep@x.io","metadata":{"v":${value}}}`, {
      'content-type': 'application/json',
    })
    expect(r.statusCode, r.body.slice(0, 300)).toBe(201)
    expect(JSON.stringify(r.json().metadata.v)).toBe(value)
    const again = await admin.request('GET', `${base}/users/${r.json().id}`)
    expect(JSON.stringify(again.json().metadata.v)).toBe(value)
  })

  it('an import whose row is nested too deep fails that row only', async () => {
    const { admin, dir, base } = await setup(h)
    const ndjson = `{"email":"a@x.io"}\n{"email":"b@x.io","metadata":{"v":${nested(10_000)}}}\n{"email":"c@x.io"}\n`
    const job = await waitForJob(admin, (await upload(admin, dir.id, ndjson, 'application/x-ndjson')).id)
    expect(job).toMatchObject({ state: 'completed', counts: { created: 2, failed: 1 } })
    const failed = (await admin.request('GET', `/api/v1/imports/${job.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(failed).toMatchObject([{ status: 'failed', errors: [{ code: 'too_deep', field: expect.stringMatching(/^metadata\.v/) }] }])
    expect((await admin.request('GET', `${base}/users?email=b@x.io`)).json().data).toEqual([])
  })

  it('huge numbers in paging and filter parameters are a 400 naming the parameter, on every door', async () => {
    const { admin, key, dir } = await setup(h)
    const huge = '99999999999999999999'
    const cases: [string, Promise<LightMyRequestResponse>, RegExp][] = [
      ['scim startIndex', key.request('GET', `/scim/v2/Users?startIndex=${huge}`), /startIndex/],
      ['scim Groups startIndex', key.request('GET', `/scim/v2/Groups?startIndex=${huge}`), /startIndex/],
      [
        'oneofnone offset',
        h.app().app.inject({ method: 'GET', url: '/oneofnone/v1/users?offset=1e20', headers: { 'x-api-key': key.key } }),
        /offset/,
      ],
      [
        'oneofnone min_login_count',
        h.app().app.inject({ method: 'GET', url: `/oneofnone/v1/users?min_login_count=${huge}`, headers: { 'x-api-key': key.key } }),
        /min_login_count/,
      ],
      [
        'oneofnone max_login_count',
        h.app().app.inject({ method: 'GET', url: `/oneofnone/v1/users?max_login_count=${huge}`, headers: { 'x-api-key': key.key } }),
        /max_login_count/,
      ],
      [
        'oneofnone app_id',
        h.app().app.inject({ method: 'GET', url: `/oneofnone/v1/users?app_id=${huge}`, headers: { 'x-api-key': key.key } }),
        /app_id/,
      ],
      [
        'returning page',
        key.request('POST', '/returning/apis/v1/users/filter', '{"page":1e20}', { 'content-type': 'application/json' }),
        /page/,
      ],
      ['dynamic offset', key.request('GET', `/dynamic/api/v0/environments/${dir.id}/users?offset=${huge}`), /offset/],
      [
        'returning filter value',
        key.request('POST', '/returning/apis/v1/users/filter', `{"filter":{"score":{"gte":${huge}}}}`, {
          'content-type': 'application/json',
        }),
        /filter\.score\.gte/,
      ],
      ['native limit', admin.request('GET', `/api/v1/directories/${dir.id}/users?limit=${huge}`), /limit/],
      [
        'native bulk maxErrors',
        admin.request('POST', `/api/v1/directories/${dir.id}/users/bulk`, `{"rows":[],"maxErrors":${huge}}`, {
          'content-type': 'application/json',
        }),
        /maxErrors/,
      ],
      ['scim filter NUL', key.request('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "\\u0000"')}`), /NUL/],
      [
        'scim filter lone surrogate',
        key.request('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "\\ud800"')}`),
        /surrogate/,
      ],
      ['scim filter 1e400', key.request('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq 1e400')}`), /too large/],
      [
        'scim filter nesting',
        key.request('GET', `/scim/v2/Users?filter=${encodeURIComponent(`${'('.repeat(3000)}userName eq "a"${')'.repeat(3000)}`)}`),
        /nests deeper|longer than/,
      ],
    ]
    for (const [what, res, names] of cases) {
      const r = await res
      expect.soft(r.statusCode, `${what}: ${r.body.slice(0, 300)}`).toBe(400)
      expect.soft(r.body, what).toMatch(names)
    }
    // Where a huge number is a value to compare, it answers as such: nobody has it.
    const ada = await admin.request('POST', `/api/v1/directories/${dir.id}/users`, { email: 'ada@x.io', fields: { score: 1 } })
    const answered: [string, Promise<LightMyRequestResponse>, number][] = [
      ['native fields.score', admin.request('GET', `/api/v1/directories/${dir.id}/users?fields.score=${huge}`), 200],
      [
        'native If-Match',
        admin.request('PATCH', `/api/v1/directories/${dir.id}/users/${ada.json().id}`, { firstName: 'A' }, { 'if-match': `W/"${huge}"` }),
        412,
      ],
    ]
    for (const [what, res, status] of answered) {
      const r = await res
      expect.soft(r.statusCode, `${what}: ${r.body.slice(0, 300)}`).toBe(status)
    }
    // The longest filter a client may send, one long chain of `or`, is answered.
    const chain = await key.request('POST', '/scim/v2/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: Array.from({ length: 1_100 }, () => 'id pr').join(' or '),
    })
    expect(chain.statusCode, chain.body.slice(0, 300)).toBe(200)
  })

  it('a filter on a 32-bit column with a value beyond its range or a fraction answers as integers would, on both engines', async () => {
    const store = engine.store()
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }])
    const count = async (op: 'eq' | 'gt' | 'ge' | 'lt' | 'le', value: number, column: 'loginCount' | 'version' = 'loginCount') =>
      (await store.searchUsers(dir.id, { filter: { op, field: { column }, value }, offset: 0, limit: 10 })).items.length
    // Both users have loginCount 0 and version 1.
    expect(await count('ge', 1e20)).toBe(0)
    expect(await count('le', 1e20)).toBe(2)
    expect(await count('lt', Number('99999999999999999999'))).toBe(2)
    expect(await count('gt', -1e20)).toBe(2)
    expect(await count('ge', -1e20)).toBe(2)
    expect(await count('le', -1e20)).toBe(0)
    expect(await count('eq', 1e20)).toBe(0)
    expect(await count('ge', 0.5)).toBe(0)
    expect(await count('gt', -0.5)).toBe(2)
    expect(await count('le', 0.5)).toBe(2)
    expect(await count('lt', 0.5)).toBe(2)
    expect(await count('eq', 0.5)).toBe(0)
    expect(await count('eq', 0)).toBe(2)
    expect(await count('eq', 1, 'version')).toBe(2)
    expect(await count('gt', 2147483647, 'version')).toBe(0)
    expect(await count('le', 2147483647.5, 'version')).toBe(2)
  })

  it('an integer field refuses integers beyond 2^53-1 instead of rounding them, through the native API and the doors', async () => {
    const { admin, base, key } = await setup(h)
    const snap = await snapshot(admin, base)
    for (const v of ['9007199254740993', '9007199254740992', '1.23e29', '-9007199254740993']) {
      const r = await admin.request('POST', `${base}/users`, `{"email":"n@x.io","fields":{"score":${v}}}`, {
        'content-type': 'application/json',
      })
      expect(r.statusCode, `${v}: ${r.body}`).toBe(400)
      expect(r.json().errors).toContainEqual(expect.objectContaining({ field: 'fields.score', code: 'out_of_range' }))
      const ret = await key.request(
        'POST',
        '/returning/apis/v1/users',
        `{"email":"n@x.io","customFields":[{"fieldIdorName":"score","value":${v}}]}`,
        { 'content-type': 'application/json' },
      )
      expect(ret.statusCode, `returning ${v}: ${ret.body}`).toBe(400)
      // The door names the place in its own body: the first custom field's value.
      expect(ret.json().message).toMatch(/score|customFields\.0\.value/)
    }
    expect(await snapshot(admin, base)).toEqual(snap)
    const max = await admin.request('POST', `${base}/users`, `{"email":"n@x.io","fields":{"score":9007199254740991}}`, {
      'content-type': 'application/json',
    })
    expect(max.statusCode).toBe(201)
    expect((await admin.request('GET', `${base}/users/${max.json().id}`)).body).toContain('"score":9007199254740991')
  })

  it('an integer literal no double holds (9007199254740993) is refused with its path on every door, in metadata too; others are kept as sent', async () => {
    const { admin, base, doors, dir } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      const r = await door.send(bodyWith(door.name, '9007199254740993'))
      expect.soft(r.statusCode, `${door.name}: ${r.body}`).toBe(400)
      if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(/cannot be kept exactly/)
    }
    const r = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","metadata":{"big":[12345678901234567890123]}}', {
      'content-type': 'application/json',
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().errors).toEqual([expect.objectContaining({ field: 'metadata.big.0', code: 'out_of_range' })])
    expect(await snapshot(admin, base)).toEqual(before)
    const exact =
      '{"email":"a@x.io","metadata":{"id":"12345678901234567890","e":1e21,"f":0.12345678901234567890,"max":9007199254740992,"neg":-9007199254740991}}'
    const ok = await admin.request('POST', `${base}/users`, exact, { 'content-type': 'application/json' })
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json().metadata).toEqual(JSON.parse(exact).metadata)
    // In an import, the record fails alone.
    const job = await waitForJob(
      admin,
      (await upload(admin, dir.id, '{"email":"b@x.io","metadata":{"n":9007199254740993}}\n{"email":"c@x.io"}\n', 'application/x-ndjson'))
        .id,
    )
    expect(job).toMatchObject({ state: 'completed', counts: { created: 1, failed: 1 } })
    const failed = (await admin.request('GET', `/api/v1/imports/${job.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(JSON.stringify(failed[0].errors)).toMatch(/metadata\.n: the integer is beyond/)
  })

  it('numbers that are not finite (1e400) are refused with their path, in metadata too, on every door', async () => {
    const { admin, base, doors } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      for (const n of ['1e400', '-1e400']) {
        const r = await door.send(bodyWith(door.name, n))
        expect.soft(r.statusCode, `${door.name} ${n}: ${r.body}`).toBe(400)
        if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(/too large/)
      }
    }
    const r = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","metadata":{"deep":{"list":[1,2,1e400]}}}', {
      'content-type': 'application/json',
    })
    expect(r.json().errors).toEqual([{ field: 'metadata.deep.list.2', code: 'invalid_value', message: expect.stringMatching(/too large/) }])
    expect(await snapshot(admin, base)).toEqual(before)
    // In a bulk, the row fails alone.
    const bulk = await admin.request(
      'POST',
      `${base}/users/bulk`,
      '{"rows":[{"email":"ok@x.io"},{"email":"bad@x.io","metadata":{"n":1e400}}]}',
      { 'content-type': 'application/json' },
    )
    expect(bulk.statusCode).toBe(200)
    expect(bulk.json().results.map((x: { status: string }) => x.status)).toEqual(['created', 'failed'])
    expect(bulk.json().results[1].errors).toEqual([expect.objectContaining({ field: 'metadata.n', code: 'invalid_value' })])
  })

  it('a body that is not valid UTF-8 is a 400 "not valid UTF-8" on every door, never stored as U+FFFD', async () => {
    const { admin, base, doors } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      const text = bodyWith(door.name, '"Ad\u00e9"')
      const bytes = Buffer.from(text, 'utf8')
      // é is C3 A9 in UTF-8; a lone A9 (or C3 followed by ") is not UTF-8.
      const at = bytes.indexOf(0xc3)
      const bad = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 2)])
      const r = await door.send(bad)
      expect.soft(r.statusCode, `${door.name}: ${r.body}`).toBe(400)
      if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(/not valid UTF-8/)
    }
    expect(await snapshot(admin, base)).toEqual(before)
    // Valid UTF-8 (and a byte-order mark) still goes through.
    const ok = await admin.request(
      'POST',
      `${base}/users`,
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"email":"a@x.io","firstName":"Adé"}')]),
      { 'content-type': 'application/json' },
    )
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json().firstName).toBe('Adé')
  })

  it('a lone surrogate in a value or a key is a 400 naming its path on every door; a pair is kept', async () => {
    const { admin, base, doors } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      const r = await door.send(bodyWith(door.name, '"x\\ud800y"'))
      expect.soft(r.statusCode, `${door.name}: ${r.body}`).toBe(400)
      if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(/surrogate/)
    }
    const key = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","metadata":{"k\\udc00":1}}', {
      'content-type': 'application/json',
    })
    expect(key.statusCode).toBe(400)
    expect(key.json().errors).toEqual([expect.objectContaining({ field: 'metadata.k\\udc00', code: 'invalid_character' })])
    const value = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","firstName":"\\ud800"}', {
      'content-type': 'application/json',
    })
    expect(value.json().errors).toEqual([expect.objectContaining({ field: 'firstName', code: 'invalid_character' })])
    expect(await snapshot(admin, base)).toEqual(before)
    const pair = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","firstName":"\\ud83d\\ude00"}', {
      'content-type': 'application/json',
    })
    expect(pair.statusCode).toBe(201)
    expect(pair.json().firstName).toBe('😀')
    // Sent again, it is unchanged: what is stored is what was sent.
    const again = await admin.request('POST', `${base}/users/bulk`, { rows: [{ email: 'a@x.io', firstName: '😀' }] })
    expect(again.json().results[0].status).toBe('unchanged')
  })

  it('an import row with a lone surrogate or 1e400 fails on its own', async () => {
    const { admin, dir } = await setup(h)
    const ndjson = '{"email":"a@x.io"}\n{"email":"b@x.io","firstName":"\\ud800"}\n{"email":"c@x.io","metadata":{"n":1e400}}\n'
    const job = await waitForJob(admin, (await upload(admin, dir.id, ndjson, 'application/x-ndjson')).id)
    expect(job).toMatchObject({ state: 'completed', counts: { created: 1, failed: 2 } })
    const failed = (await admin.request('GET', `/api/v1/imports/${job.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(failed.map((f: { errors: { field: string; code: string }[] }) => f.errors.map((e) => [e.field, e.code]))).toEqual([
      [['firstName', 'invalid_character']],
      [['metadata.n', 'invalid_value']],
    ])
  })

  it('metadata keys with a control character are refused by name, at any depth, on the doors that carry metadata', async () => {
    const { admin, base, key, dir } = await setup(h)
    const empty = await snapshot(admin, base)
    for (const body of [
      '{"email":"a@x.io","metadata":{"role\\n":"admin"}}',
      '{"email":"a@x.io","metadata":{"a":{"b\\u0007":1}}}',
      '{"email":"a@x.io","metadata":{"a":[{"\\u007f":1}]}}',
    ]) {
      const r = await admin.request('POST', `${base}/users`, body, { 'content-type': 'application/json' })
      expect(r.statusCode, body).toBe(400)
      expect(r.json().errors).toEqual([expect.objectContaining({ code: 'invalid_character', field: expect.stringMatching(/^metadata\./) })])
      expect(r.json().detail).toMatch(/metadata key '.*' contains a control character/)
    }
    expect(await snapshot(admin, base)).toEqual(empty)
    expect((await admin.request('POST', `${base}/users`, { email: 'a@x.io' })).statusCode).toBe(201)
    const before = await snapshot(admin, base)
    const one = await h.app().app.inject({
      method: 'POST',
      url: '/oneofnone/v1/users/batch-update',
      headers: { 'x-api-key': key.key, 'content-type': 'application/json' },
      payload: '{"users":[{"email":"a@x.io","metadata":{"role\\n":"admin"}}]}',
    })
    expect(one.statusCode, one.body).toBe(400)
    expect(one.json().message).toMatch(/role\\n/)
    const dyn = await key.request(
      'POST',
      `/dynamic/api/v0/environments/${dir.id}/users`,
      '{"email":"a@x.io","metadata":{"role\\r":"admin"}}',
      { 'content-type': 'application/json' },
    )
    expect(dyn.statusCode, dyn.body).toBe(400)
    expect(dyn.json().error).toMatch(/role\\r/)
    expect(await snapshot(admin, base)).toEqual(before)
  })

  it('history never drops a change: a key with a line separator (U+2028) shows in user and directory history and in a dry run', async () => {
    const { admin, base } = await setup(h)
    const r = await admin.request('POST', `${base}/users`, { email: 'a@x.io', metadata: { 'a\u2028b': 1, 'c\u0085': 2 } })
    expect(r.statusCode, r.body).toBe(201)
    const id = r.json().id as string
    const user = (await admin.request('GET', `${base}/users/${id}/history`)).json().data
    expect(Object.keys(user[0].changes)).toEqual(expect.arrayContaining(['metadata.a\u2028b', 'metadata.c\u0085']))
    const dir = (await admin.request('GET', `${base}/history`)).json().data
    expect(Object.keys(dir[0].changes)).toEqual(expect.arrayContaining(['metadata.a\u2028b', 'metadata.c\u0085']))
    const dry = await admin.request('POST', `${base}/users/bulk`, {
      rows: [{ email: 'a@x.io', metadata: { 'a\u2028b': 2 } }],
      dryRun: true,
    })
    expect(Object.keys(dry.json().results[0].changes)).toEqual(['metadata.a\u2028b'])
  })

  it('ids with a control character are refused by name: Velt userId, externalId, a directory externalId', async () => {
    const { admin, base, dir, doors } = await setup(h)
    const velt = doors.find((d) => d.name === 'velt') as Door
    const before = await snapshot(admin, base)
    const v = await velt.send(JSON.stringify({ data: { organizationId: 'hostile', users: [{ userId: 'u\n1', name: 'Ada' }] } }))
    expect(v.statusCode, v.body).toBe(400)
    expect(velt.message(v)).toMatch(/userId.*control character/)
    const ext = await admin.request('POST', `${base}/users`, { email: 'a@x.io', externalId: 'e\t1' })
    expect(ext.statusCode).toBe(400)
    expect(ext.json().errors).toEqual([expect.objectContaining({ field: 'externalId', code: 'invalid_character' })])
    const d = await admin.request('PATCH', `/api/v1/directories/${dir.id}`, { externalId: 'x\ny' })
    expect(d.statusCode).toBe(400)
    expect(d.json().errors).toContainEqual(expect.objectContaining({ field: 'externalId', code: 'invalid_character' }))
    const group = await admin.request('POST', `${base}/groups`, { name: 'G', externalId: 'g\n1' })
    expect(group.statusCode).toBe(400)
    expect(group.json().errors).toContainEqual(expect.objectContaining({ field: 'externalId', code: 'invalid_character' }))
    const scimKey = await admin.newKey(['write'], [dir.id])
    const scimGroup = await scimKey.request(
      'POST',
      '/scim/v2/Groups',
      JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G', externalId: 'g\u00071' }),
      { 'content-type': 'application/scim+json' },
    )
    expect(scimGroup.statusCode, scimGroup.body).toBe(400)
    expect(scimGroup.json().detail).toMatch(/externalId.*control character/)
    expect((await admin.request('GET', `${base}/groups`)).json().data).toEqual([])
    expect(await snapshot(admin, base)).toEqual(before)
    // A userId with a character the old key pattern skipped (U+2028) is in the result map.
    const ok = await velt.send(JSON.stringify({ data: { organizationId: 'hostile', users: [{ userId: 'u\u20281', name: 'Ada' }] } }))
    expect(ok.statusCode, ok.body).toBe(200)
    expect(Object.keys(ok.json().result.data)).toEqual(['u\u20281'])
  })

  it("'__proto__' is refused by name on every door (not as malformed JSON); 'constructor' and 'prototype' are ordinary keys", async () => {
    const { admin, base, doors } = await setup(h)
    const before = await snapshot(admin, base)
    for (const door of doors) {
      const r = await door.send(bodyWith(door.name, '{"__proto__":{"admin":true}}'))
      expect.soft(r.statusCode, `${door.name}: ${r.body}`).toBe(400)
      if (r.statusCode === 400) expect.soft(door.message(r), door.name).toMatch(/'__proto__' is not allowed/)
    }
    const r = await admin.request('POST', `${base}/users`, '{"email":"a@x.io","metadata":{"__proto__":{"admin":true}}}', {
      'content-type': 'application/json',
    })
    expect(r.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'metadata.__proto__', code: 'forbidden_key' }] })
    expect(await snapshot(admin, base)).toEqual(before)
    const bulk = await admin.request(
      'POST',
      `${base}/users/bulk`,
      '{"rows":[{"email":"a@x.io","metadata":{"__proto__":{"admin":true}}}]}',
      { 'content-type': 'application/json' },
    )
    expect(bulk.json().results[0]).toMatchObject({ status: 'failed', errors: [{ field: 'metadata.__proto__', code: 'forbidden_key' }] })
    expect(({} as Record<string, unknown>).admin).toBeUndefined()

    const metadata = { constructor: { prototype: { x: 1 } }, prototype: 2, toString: 'text' }
    const ok = await admin.request('POST', `${base}/users`, JSON.stringify({ email: 'c@x.io', metadata }), {
      'content-type': 'application/json',
    })
    expect(ok.statusCode, ok.body).toBe(201)
    expect((await admin.request('GET', `${base}/users/${ok.json().id}`)).json().metadata).toEqual(metadata)
    // Merged on top of itself: unchanged; a merge patch on those keys changes only them.
    const patch = await admin.request(
      'PATCH',
      `${base}/users/${ok.json().id}`,
      JSON.stringify({ metadata: { constructor: null, valueOf: 3 } }),
      { 'content-type': 'application/merge-patch+json' },
    )
    expect(patch.statusCode, patch.body).toBe(200)
    expect(patch.json().metadata).toEqual({ prototype: 2, toString: 'text', valueOf: 3 })
  })

  it("a revert restores a metadata key named like an Object property ('constructor') without a false conflict", async () => {
    const { admin, dir, base } = await setup(h)
    await admin.request('POST', `${base}/users/bulk`, { rows: [{ email: 'a@x.io', metadata: { constructor: 'c', toString: 't' } }] })
    const job = await waitForJob(
      admin,
      (await upload(admin, dir.id, 'email,metadata.constructor\na@x.io,\n', 'text/csv', 'emptyMeans=null')).id,
    )
    expect(job.counts).toMatchObject({ updated: 1 })
    const byEmail = async () => (await admin.request('GET', `${base}/users?email=a@x.io`)).json().data[0]
    expect((await byEmail()).metadata).toEqual({ toString: 't' })
    expect((await admin.request('POST', `/api/v1/imports/${job.id}/revert`)).statusCode).toBe(202)
    const done = await waitForJob(admin, job.id)
    expect((done as unknown as { revert: unknown }).revert).toMatchObject({ restored: 1, conflicts: 0 })
    expect((await byEmail()).metadata).toEqual({ constructor: 'c', toString: 't' })
  })

  it('custom fields named like Object members (toString, valueOf, hasOwnProperty) are ordinary fields through the doors and the export', async () => {
    const admin = await h.client()
    const dir = (await makeDirectory(admin, { name: 'Members' })).id
    for (const field of [
      { key: 'hasOwnProperty', type: 'integer' },
      { key: 'toString', type: 'string', unique: true },
      { key: 'valueOf', type: 'boolean' },
    ])
      expect((await admin.request('POST', `/api/v1/directories/${dir}/fields`, field)).statusCode).toBe(201)
    const a = await admin.request('POST', `/api/v1/directories/${dir}/users`, {
      email: 'a@x.io',
      username: 'a',
      fields: { hasOwnProperty: 5 },
    })
    expect(a.statusCode, a.body).toBe(201)
    expect(a.json().fields).toEqual({ hasOwnProperty: 5 })
    const b = await admin.request('POST', `/api/v1/directories/${dir}/users/bulk`, {
      rows: [
        { email: 'b@x.io', username: 'b' },
        { email: 'c@x.io', fields: { valueOf: true } },
      ],
    })
    expect(b.json().results.map((r: { status: string }) => r.status)).toEqual(['created', 'created'])
    const key = await admin.newKey(['write'], [dir])
    const scim = await key.request('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "b"')}`)
    expect(scim.statusCode, scim.body).toBe(200)
    expect(scim.json().Resources[0].schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User'])
    const csv = (await admin.request('GET', `/api/v1/directories/${dir}/export?format=csv`)).body
    expect(csv).not.toMatch(/native code|function/)
  })

  it("a '__proto__' CSV column with unmapped=metadata fails its rows by name instead of vanishing", async () => {
    const { admin, dir, base } = await setup(h)
    const job = await waitForJob(
      admin,
      (await upload(admin, dir.id, 'email,__proto__,constructor\na@x.io,x,y\nb@x.io,,z\n', 'text/csv', 'unmapped=metadata')).id,
    )
    expect(job).toMatchObject({ state: 'completed', counts: { created: 1, failed: 1 } })
    const failed = (await admin.request('GET', `/api/v1/imports/${job.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(failed).toMatchObject([
      {
        status: 'failed',
        errors: [{ field: 'metadata.__proto__', code: 'forbidden_key', message: "metadata key '__proto__' is not allowed" }],
      },
    ])
    const b = (await admin.request('GET', `${base}/users?email=b@x.io`)).json().data
    expect(b.map((u: { metadata: unknown }) => u.metadata)).toEqual([{ constructor: 'z' }])
  })

  it('a CSV import with CR-only line endings reads one row per line', async () => {
    const { admin, dir, base } = await setup(h)
    const job = await waitForJob(admin, (await upload(admin, dir.id, 'email,firstName\ra@x.io,Ada\rb@x.io,"Bo\rb"\r', 'text/csv')).id)
    expect(job).toMatchObject({ state: 'completed', counts: { created: 2, failed: 0 } })
    const users = (await admin.request('GET', `${base}/users`))
      .json()
      .data.map((u: { email: string; firstName: string }) => [u.email, u.firstName])
    expect(users.sort()).toEqual([
      ['a@x.io', 'Ada'],
      ['b@x.io', 'Bo\rb'],
    ])
  })
})
