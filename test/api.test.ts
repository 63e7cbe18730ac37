import { expect, it } from 'vitest'
import { describeEachEngine } from './helpers/engines.js'
import { useApp } from './helpers/app.js'
import { makeDirectory } from './helpers/directories.js'

describeEachEngine('native API', (engine) => {
  const h = useApp(engine)

  it('directories: create, get by id and externalId, list, rename, delete', async () => {
    const c = await h.client()
    const d = await makeDirectory(c, { name: 'HR', externalId: 'hr-main' })
    expect(d).toMatchObject({ name: 'HR', externalId: 'hr-main' })
    expect(Number.isInteger(d.number)).toBe(true)
    expect((await c.request('GET', `/api/v1/directories/${d.id}`)).json().name).toBe('HR')
    expect((await c.request('GET', '/api/v1/directories/hr-main')).json().id).toBe(d.id)
    const dup = await c.request('POST', '/api/v1/directories', { name: 'Other', externalId: 'hr-main' })
    expect(dup.statusCode).toBe(409)
    expect(dup.json().code).toBe('directory_exists')
    const renamed = await c.request('PATCH', '/api/v1/directories/hr-main', { name: 'Human Resources' })
    expect(renamed.json().name).toBe('Human Resources')
    expect((await c.request('GET', '/api/v1/directories')).json().data.map((x: { id: string }) => x.id)).toEqual([d.id])
    expect((await c.request('DELETE', `/api/v1/directories/${d.id}`)).statusCode).toBe(204)
    expect((await c.request('GET', `/api/v1/directories/${d.id}`)).statusCode).toBe(404)
  })

  it('directory stats count its users and custom fields, and follow creates and deletes', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const other = await makeDirectory(c)
    const stats = async (dir: string) => (await c.request('GET', `/api/v1/directories/${dir}/stats`)).json()
    expect(await stats(d.id)).toEqual({ users: 0, customFields: 0 })
    await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'dept', type: 'string' })
    const rows = Array.from({ length: 25 }, (_, i) => ({ email: `u${i}@example.com` }))
    expect((await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, { rows })).statusCode).toBe(200)
    await c.request('POST', `/api/v1/directories/${other.id}/users`, { email: 'elsewhere@example.com' })
    expect(await stats(d.id)).toEqual({ users: 25, customFields: 1 })
    const one = (await c.request('GET', `/api/v1/directories/${d.id}/users?email=u3@example.com`)).json().data[0]
    expect((await c.request('DELETE', `/api/v1/directories/${d.id}/users/${one.id}`)).statusCode).toBe(204)
    expect(await stats(d.id)).toEqual({ users: 24, customFields: 1 })
    expect(await stats(other.id)).toEqual({ users: 1, customFields: 0 })
  })

  it('users: create, get with ETag, merge-patch, conditional patch, delete; history names the channel', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const created = await c.request('POST', `/api/v1/directories/${d.id}/users`, {
      email: 'ada@example.com',
      firstName: 'Ada',
      metadata: { tier: 'gold', seats: 2 },
    })
    expect(created.statusCode).toBe(201)
    const ada = created.json()
    expect(created.headers.location).toBe(`/api/v1/directories/${d.id}/users/${ada.id}`)
    expect(ada).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', version: 1, loginCount: 0, fields: {} })

    const got = await c.request('GET', `/api/v1/directories/${d.id}/users/${ada.id}`)
    expect(got.headers.etag).toBe('W/"1"')
    expect(got.json()).toEqual(ada)

    const patched = await c.request(
      'PATCH',
      `/api/v1/directories/${d.id}/users/${ada.id}`,
      JSON.stringify({ lastName: 'Lovelace', metadata: { seats: null } }),
      {
        'content-type': 'application/merge-patch+json',
        'rollcall-channel': 'cli',
      },
    )
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', metadata: { tier: 'gold' }, version: 2 })
    expect(patched.json().metadata).not.toHaveProperty('seats')

    const stale = await c.request('PATCH', `/api/v1/directories/${d.id}/users/${ada.id}`, { firstName: 'X' }, { 'if-match': 'W/"1"' })
    expect(stale.statusCode).toBe(412)
    const fresh = await c.request('PATCH', `/api/v1/directories/${d.id}/users/${ada.id}`, { firstName: 'Augusta' }, { 'if-match': 'W/"2"' })
    expect(fresh.json().firstName).toBe('Augusta')

    const hist = (await c.request('GET', `/api/v1/directories/${d.id}/users/${ada.id}/history`)).json()
    expect(hist.data.map((x: { action: string; channel: string }) => [x.action, x.channel])).toEqual([
      ['update', 'native'],
      ['update', 'cli'],
      ['create', 'native'],
    ])
    expect(hist.data[1].changes).toEqual({ lastName: [null, 'Lovelace'], 'metadata.seats': [2, null] })
    expect(hist.data[0].keyId).toEqual(expect.any(String))
    expect(hist.data[0].requestId).toEqual(expect.any(String))

    expect((await c.request('DELETE', `/api/v1/directories/${d.id}/users/${ada.id}`)).statusCode).toBe(204)
    expect((await c.request('GET', `/api/v1/directories/${d.id}/users/${ada.id}`)).statusCode).toBe(404)
    const after = (await c.request('GET', `/api/v1/directories/${d.id}/users/${ada.id}/history`)).json()
    expect(after.data[0]).toMatchObject({
      action: 'delete',
      changes: { email: ['ada@example.com', null], 'metadata.tier': ['gold', null] },
    })
  })

  it('lists users with filters and cursor pagination', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'dept', type: 'string' })
    const rows = Array.from({ length: 25 }, (_, i) => ({
      email: `user${i}@example.com`,
      username: `user${i}`,
      externalId: `E${i}`,
      fields: { dept: i % 2 ? 'Sales' : 'R&D' },
    }))
    const b = await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, { rows })
    expect(b.json().summary.created).toBe(25)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const url: string = `/api/v1/directories/${d.id}/users?limit=10${cursor ? `&cursor=${cursor}` : ''}`
      const res = (await c.request('GET', url)).json() as { data: { email: string }[]; nextCursor: string | null }
      seen.push(...res.data.map((u) => u.email))
      cursor = res.nextCursor
    } while (cursor)
    expect(seen).toEqual(rows.map((r) => r.email))

    const q = (s: string) => c.request('GET', `/api/v1/directories/${d.id}/users?${s}`).then((r) => r.json().data as { email: string }[])
    expect((await q('email=USER3@example.com')).map((u) => u.email)).toEqual(['user3@example.com'])
    expect((await q('username=User4')).map((u) => u.email)).toEqual(['user4@example.com'])
    expect((await q('externalId=E5')).map((u) => u.email)).toEqual(['user5@example.com'])
    expect(await q('fields.dept=Sales')).toHaveLength(12)
    expect(await q(`createdAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toHaveLength(0)
    expect(await q(`updatedBefore=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&limit=1000`)).toHaveLength(25)
  })

  it('bulk over HTTP: per-row results, dry run plan, and summary counts', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const url = `/api/v1/directories/${d.id}/users/bulk`
    const first = await c.request('POST', url, { rows: [{ email: 'a@x.io', firstName: 'A' }, { email: 'b@x.io' }, { email: 'nope' }] })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toMatchObject({
      summary: { total: 3, created: 2, updated: 0, unchanged: 0, failed: 1 },
      results: [
        { index: 0, status: 'created', changedFields: ['email', 'firstName'], errors: [] },
        { index: 1, status: 'created' },
        {
          index: 2,
          status: 'failed',
          userId: null,
          errors: [{ field: 'email', code: 'invalid_format', message: 'must be a valid email address' }],
        },
      ],
      dryRun: false,
      stopped: false,
    })
    const plan = await c.request('POST', url, { rows: [{ email: 'a@x.io', firstName: 'Z' }], dryRun: true, mode: 'update' })
    expect(plan.json().results[0]).toMatchObject({ status: 'updated', changes: { firstName: ['A', 'Z'] } })
    const list = (await c.request('GET', `/api/v1/directories/${d.id}/users?email=a@x.io`)).json()
    expect(list.data[0].firstName).toBe('A')
  })

  it('field definitions: create, list after built-ins, JSON Schema, patch, delete', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const base = `/api/v1/directories/${d.id}/fields`
    const f = await c.request('POST', base, {
      key: 'level',
      label: 'Level',
      type: 'enum',
      enumValues: ['junior', 'senior'],
      required: false,
    })
    expect(f.statusCode).toBe(201)
    const list = (await c.request('GET', base)).json().data as { key: string; builtIn: boolean }[]
    expect(list.filter((x) => x.builtIn).map((x) => x.key)).toContain('email')
    expect(list[list.length - 1]).toMatchObject({ key: 'level', builtIn: false })
    expect((await c.request('POST', base, { key: 'email', type: 'string' })).statusCode).toBe(409)
    expect((await c.request('POST', base, { key: 'x', type: 'enum' })).json().errors[0].field).toBe('enumValues')

    const schema = (await c.request('GET', `/api/v1/directories/${d.id}/schema`)).json()
    expect(schema.properties.fields.properties.level.enum).toEqual(['junior', 'senior', null])
    expect(schema.additionalProperties).toBe(false)

    const patched = await c.request('PATCH', `${base}/level`, { enumValues: ['junior', 'senior', 'staff'], required: true })
    expect(patched.json()).toMatchObject({ required: true, enumValues: ['junior', 'senior', 'staff'] })
    const row = await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, {
      rows: [{ email: 'q@x.io' }, { email: 'r@x.io', fields: { level: 'staff' } }],
    })
    expect(row.json().results.map((r: { status: string }) => r.status)).toEqual(['failed', 'created'])
    expect((await c.request('PATCH', `${base}/email`, { type: 'string' })).statusCode).toBe(400)
    expect((await c.request('PATCH', `${base}/email`, { label: 'E-mail', required: true })).json().label).toBe('E-mail')
    expect((await c.request('DELETE', `${base}/email`)).statusCode).toBe(400)
    expect((await c.request('DELETE', `${base}/level`)).statusCode).toBe(204)
    expect((await c.request('DELETE', `${base}/level`)).statusCode).toBe(404)
  })

  it('unique custom fields: refused duplicates within a request and against stored users', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const bulkUrl = `/api/v1/directories/${d.id}/users/bulk`
    await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'team', type: 'string' })
    await c.request('POST', bulkUrl, {
      rows: [
        { email: 'a@x.io', fields: { team: 'red' } },
        { email: 'b@x.io', fields: { team: 'red' } },
      ],
    })
    const clash = await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'team2', type: 'string', unique: true })
    expect(clash.statusCode).toBe(201)
    const dupData = await c.request('PATCH', `/api/v1/directories/${d.id}/fields/team`, { required: false })
    expect(dupData.statusCode).toBe(200)
    const refused = await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'badge', type: 'json', unique: true })
    expect(refused.json().errors[0]).toMatchObject({ field: 'unique', code: 'invalid' })

    const f = await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'employeeNo', type: 'string', unique: true })
    expect(f.json().unique).toBe(true)
    const r = await c.request('POST', bulkUrl, {
      rows: [
        { email: 'a@x.io', fields: { employeeNo: 'E-1' } },
        { email: 'b@x.io', fields: { employeeNo: 'E-1' } },
        { email: 'b@x.io', fields: { employeeNo: 'E-2' } },
      ],
    })
    expect(r.json().results.map((x: { status: string }) => x.status)).toEqual(['updated', 'failed', 'updated'])
    expect(r.json().results[1].errors[0]).toMatchObject({ field: 'fields.employeeNo', code: 'not_unique' })
    const later = await c.request('POST', `/api/v1/directories/${d.id}/users`, { email: 'c@x.io', fields: { employeeNo: 'E-2' } })
    expect(later.statusCode).toBe(409)
    // Freeing a value lets another user take it in the same request, in order.
    const swap = await c.request('POST', bulkUrl, {
      rows: [
        { email: 'a@x.io', fields: { employeeNo: null } },
        { email: 'c@x.io', fields: { employeeNo: 'E-1' } },
      ],
    })
    expect(swap.json().summary).toMatchObject({ updated: 1, created: 1, failed: 0 })
    // A field whose stored values already repeat cannot become unique.
    const dup = await c.request('POST', `/api/v1/directories/${d.id}/fields`, { key: 'team', type: 'string', unique: true })
    expect(dup.statusCode).toBe(409)
    await c.request('DELETE', `/api/v1/directories/${d.id}/fields/team2`)
    await c.request('POST', bulkUrl, {
      rows: [
        { email: 'a@x.io', fields: { team: 'blue' } },
        { email: 'b@x.io', fields: { team: 'green' } },
      ],
    })
  })

  it('directory history filters by field', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, {
      rows: [{ email: 'a@x.io', phone: '+1 555 0100' }, { email: 'b@x.io' }],
    })
    await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, { rows: [{ email: 'b@x.io', metadata: { plan: 'pro' } }] })
    const phone = (await c.request('GET', `/api/v1/directories/${d.id}/history?field=phone`)).json()
    expect(phone.data).toHaveLength(1)
    const plan = (await c.request('GET', `/api/v1/directories/${d.id}/history?field=metadata.plan`)).json()
    expect(plan.data.map((x: { changes: unknown }) => x.changes)).toEqual([{ 'metadata.plan': [null, 'pro'] }])
    const all = (await c.request('GET', `/api/v1/directories/${d.id}/history?limit=2`)).json()
    expect(all.data).toHaveLength(2)
    const rest = (await c.request('GET', `/api/v1/directories/${d.id}/history?cursor=${all.nextCursor}`)).json()
    expect(rest.data).toHaveLength(1)
    expect(rest.nextCursor).toBeNull()
  })

  it('API keys: create shows the secret once, list never does, revoke takes effect', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const created = await c.request('POST', '/api/v1/keys', { name: 'sync job', scopes: ['write'], directories: [d.id] })
    expect(created.statusCode).toBe(201)
    const k = created.json()
    expect(k.secret).toMatch(/^rc_/)
    expect(k).toMatchObject({ name: 'sync job', scopes: ['write'], directories: [d.id] })
    const listed = (await c.request('GET', '/api/v1/keys')).json().data
    expect(JSON.stringify(listed)).not.toContain(k.secret)
    const asNew = await h
      .app()
      .app.inject({ method: 'GET', url: `/api/v1/directories/${d.id}`, headers: { authorization: `Bearer ${k.secret}` } })
    expect(asNew.statusCode).toBe(200)
    expect((await c.request('DELETE', `/api/v1/keys/${k.id}`)).statusCode).toBe(204)
    const revoked = await h
      .app()
      .app.inject({ method: 'GET', url: `/api/v1/directories/${d.id}`, headers: { authorization: `Bearer ${k.secret}` } })
    expect(revoked.statusCode).toBe(401)
  })

  it('groups: create, unique names, members from the same directory only, rename, delete', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    const other = await makeDirectory(c, { name: 'Other' })
    const users = (await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, { rows: [{ email: 'a@x.io' }, { email: 'b@x.io' }] }))
      .json()
      .results.map((r: { userId: string }) => r.userId)
    const stranger = (await c.request('POST', `/api/v1/directories/${other.id}/users`, { email: 's@x.io' })).json().id
    const base = `/api/v1/directories/${d.id}/groups`
    const g = await c.request('POST', base, { name: 'Engineering' })
    expect(g.statusCode).toBe(201)
    const gid = g.json().id
    expect((await c.request('POST', base, { name: 'Engineering' })).statusCode).toBe(409)
    const bad = await c.request('POST', `${base}/${gid}/members`, { userIds: [users[0], stranger] })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0]).toMatchObject({ field: 'userIds', code: 'user_not_found' })
    expect((await c.request('GET', `${base}/${gid}`)).json().members).toEqual([])
    expect((await c.request('POST', `${base}/${gid}/members`, { userIds: users })).json().added.sort()).toEqual([...users].sort())
    expect((await c.request('DELETE', `${base}/${gid}/members/${users[1]}`)).statusCode).toBe(204)
    const got = (await c.request('GET', `${base}/${gid}`)).json()
    expect(got).toMatchObject({ name: 'Engineering', kind: 'group', members: [users[0]] })
    // A user's groups, from the user's side; a user of another directory is not found there.
    const groupsOf = (dir: string, id: string) => c.request('GET', `/api/v1/directories/${dir}/users/${id}/groups`)
    expect((await groupsOf(d.id, users[0])).json().data.map((x: { name: string }) => x.name)).toEqual(['Engineering'])
    expect((await groupsOf(d.id, users[1])).json().data).toEqual([])
    expect((await groupsOf(d.id, stranger)).statusCode).toBe(404)
    expect((await c.request('PATCH', `${base}/${gid}`, { name: 'Eng' })).json().name).toBe('Eng')
    expect((await c.request('GET', `${base}?name=Eng`)).json().data).toHaveLength(1)
    expect((await c.request('GET', `/api/v1/directories/${other.id}/groups/${gid}`)).statusCode).toBe(404)
    expect((await c.request('DELETE', `${base}/${gid}`)).statusCode).toBe(204)
    expect((await c.request('GET', `${base}/${gid}`)).statusCode).toBe(404)
  })

  it('ops: health, readiness, metrics with bulk row counters, OpenAPI 3.1 and /docs', async () => {
    const c = await h.client()
    const d = await makeDirectory(c)
    await c.request('POST', `/api/v1/directories/${d.id}/users/bulk`, { rows: [{ email: 'm@x.io' }, { email: 'bad' }] })
    const app = h.app().app
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', database: engine.name })
    const metrics = (await app.inject('/metrics')).body
    expect(metrics).toMatch(/rollcall_bulk_rows_total\{channel="native",status="created"\} \d+/)
    expect(metrics).toMatch(/rollcall_http_requests_total\{method="POST",route="\/api\/v1\/directories\/:dir\/users\/bulk",status="200"\}/)
    const doc = (await app.inject('/openapi.json')).json()
    expect(doc.openapi).toBe('3.1.0')
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((p) =>
      Object.values(p).map((o) => o.operationId),
    )
    for (const id of ['createDirectory', 'listUsers', 'bulkUsers', 'createField', 'getUserHistory', 'createKey', 'revokeKey'])
      expect(ops).toContain(id)
    const docs = await app.inject('/docs/')
    expect(docs.statusCode).toBe(200)
    expect(docs.body).toContain('swagger')
  })
})
