import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { expect, it } from 'vitest'
import { type Client, useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'
import { community, type Community, expectReturningError } from '../helpers/returning.js'
import { sleep } from '../helpers/sleep.js'

/**
 * The Returning.AI door's queued CSV endpoints and its Api Log: the seed's request and response
 * replayed field by field, `<field>_op` arithmetic, update vs import, row errors named by the
 * file's columns, bad uploads, auth, tenant isolation, and history naming the job.
 */

const BASE = '/returning/apis/v1'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const END = new Set(['completed', 'failed', 'cancelled'])

/** The seed's 200 example, word for word. */
const QUEUED_UPDATE = {
  status: 'success',
  message: 'Bulk update user process is queued',
  data: { message: 'Bulk update user process is queued. You can check in Api Log ( community settings )' },
}
const QUEUED_IMPORT = {
  status: 'success',
  message: 'Bulk import user process is queued',
  data: { message: 'Bulk import user process is queued. You can check in Api Log ( community settings )' },
}

interface Part {
  name: string
  value: string | Buffer
  filename?: string
  type?: string
}

/** A multipart/form-data body, as curl's `--form` sends it. */
function form(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----rollcall${randomUUID()}`
  const chunks: Buffer[] = []
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n`
    if (p.type) head += `Content-Type: ${p.type}\r\n`
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

const csvPart = (csv: string | Buffer, filename = 'users.csv', type = 'text/csv'): Part => ({ name: 'data', value: csv, filename, type })

function send(c: Client, kind: 'update' | 'import', parts: Part[], headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const f = form(parts)
  return c.request('POST', `${BASE}/users/bulk-${kind}`, f.payload, { ...f.headers, ...headers })
}

interface LogEntry {
  _id: string
  type: string
  fileName: string | null
  status: string
  totalRows: number | null
  succeeded: number
  failed: number
  errors: { row: number | null; email: string | null; message: string }[]
  created: number
  updated: number
  unchanged: number
  error: string | null
  channel: string
}

/** Queues a CSV and waits for its Api Log entry to reach an end state. */
async function run(c: Community, kind: 'update' | 'import', csv: string, more: Part[] = []): Promise<LogEntry> {
  const r = await send(c.key, kind, [...more, csvPart(csv)])
  expect(r.statusCode, r.body).toBe(200)
  expect(r.json()).toEqual(kind === 'update' ? QUEUED_UPDATE : QUEUED_IMPORT)
  return waitForLog(c, logIdOf(r, c))
}

function logIdOf(r: LightMyRequestResponse, c: Community): string {
  const m = new RegExp(`^${BASE}/communities/${c.cid}/api-logs/([0-9a-f-]{36})$`).exec(String(r.headers.location))
  expect(m, String(r.headers.location)).not.toBeNull()
  return (m as RegExpExecArray)[1]
}

async function waitForLog(c: Community, id: string): Promise<LogEntry> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await c.key.request('GET', `${BASE}/communities/${c.cid}/api-logs/${id}`)
    expect(r.statusCode, r.body).toBe(200)
    const entry = r.json().data as LogEntry
    if (END.has(entry.status)) return entry
    if (Date.now() > deadline) throw new Error(`api log ${id} still ${entry.status}`)
    await sleep(50)
  }
}

async function userData(c: Community, idOrEmail: string) {
  const r = await c.key.request('POST', `${BASE}/users/info`, { idOrEmail })
  expect(r.statusCode, r.body).toBe(200)
  return r.json().data
}

async function makeUser(c: Community, body: Record<string, unknown>): Promise<string> {
  const r = await c.key.request('POST', `${BASE}/users`, body)
  expect(r.statusCode, r.body).toBe(201)
  return r.json().data.userId as string
}

async function apiLog(c: Community, query = ''): Promise<{ data: LogEntry[]; next_cursor: string | null }> {
  const r = await c.key.request('GET', `${BASE}/communities/${c.cid}/api-logs${query}`)
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}

describeEachEngine('Returning.AI door: bulk update, bulk import and the Api Log', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  it("replays the seed and doors.md's example: 200 with the exact queued message, then the job applies the file", async () => {
    const c = await community(h)
    await c.key.request('POST', `${BASE}/communities/${c.cid}/user-fields`, { field: 'vip-level', name: 'VIP level', type: 'text' })
    const id = await makeUser(c, {
      email: 'a@x.com',
      customFields: [
        { fieldIdorName: 'xp', value: 100 },
        { fieldIdorName: 'coins', value: 30 },
      ],
    })

    const csv = 'email,xp_op,xp,coins_op,coins,vip-level\na@x.com,add,50,subtract,10,Gold\n'
    const r = await send(c.key, 'update', [csvPart(csv, 'template.csv')])
    expect(r.statusCode, r.body).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    const body = r.json()
    expect(body).toEqual(QUEUED_UPDATE)
    expect(body.status).toBe('success')
    expect(body.message).toBe('Bulk update user process is queued')
    expect(body.data.message).toBe('Bulk update user process is queued. You can check in Api Log ( community settings )')
    const logId = logIdOf(r, c)
    expect(logId).toMatch(UUID)

    const entry = await waitForLog(c, logId)
    expect(entry).toEqual({
      _id: logId,
      communityId: c.cid,
      type: 'bulk-update',
      fileName: 'template.csv',
      status: 'completed',
      totalRows: 1,
      succeeded: 1,
      failed: 0,
      errors: [],
      createdAt: expect.any(String),
      finishedAt: expect.any(String),
      processedRows: 1,
      created: 0,
      updated: 1,
      unchanged: 0,
      error: null,
      channel: 'returning',
    })
    const data = await userData(c, 'a@x.com')
    expect(data).toMatchObject({ userId: id, xp: 150, coins: 20, customFields: { 'vip-level': 'Gold' } })

    // The vendor's curl sends the form with nothing but the file: the import's answer is the same pattern.
    const imp = await send(c.key, 'import', [{ name: 'communityId', value: c.cid }, csvPart('email,first_name\nnew@x.com,Nia\n')])
    expect(imp.statusCode, imp.body).toBe(200)
    expect(imp.json()).toEqual(QUEUED_IMPORT)
    expect(await waitForLog(c, logIdOf(imp, c))).toMatchObject({ type: 'bulk-import', status: 'completed', created: 1 })
  })

  it('`_op` columns: add, subtract, overwrite (also blank) on xp and coins, with exact results; the same user twice applies in order', async () => {
    const c = await community(h)
    await makeUser(c, {
      email: 'u1@x.io',
      customFields: [
        { fieldIdorName: 'xp', value: 100 },
        { fieldIdorName: 'coins', value: 50 },
      ],
    })
    await makeUser(c, {
      email: 'u2@x.io',
      customFields: [
        { fieldIdorName: 'xp', value: 10 },
        { fieldIdorName: 'coins', value: 5 },
      ],
    })
    await makeUser(c, {
      email: 'u3@x.io',
      customFields: [
        { fieldIdorName: 'xp', value: 7 },
        { fieldIdorName: 'coins', value: 7 },
      ],
    })
    await makeUser(c, { email: 'u4@x.io' })
    const csv = [
      'email,xp_op,xp,coins_op,coins',
      'u1@x.io,add,25,subtract,20',
      'u2@x.io,overwrite,300,,3',
      'u3@x.io,subtract,2.5,add,0',
      'u4@x.io,add,5,subtract,5',
      'U1@X.IO,add,1,,',
      'u2@x.io,overwrite,300,overwrite,3',
    ].join('\r\n')
    const entry = await run(c, 'update', `${csv}\r\n`)
    expect(entry).toMatchObject({ status: 'completed', totalRows: 6, succeeded: 6, failed: 0, errors: [], updated: 5, unchanged: 1 })
    const values = async (email: string) => {
      const d = await userData(c, email)
      return [d.xp, d.coins]
    }
    expect(await values('u1@x.io')).toEqual([126, 30])
    expect(await values('u2@x.io')).toEqual([300, 3])
    expect(await values('u3@x.io')).toEqual([4.5, 7])
    expect(await values('u4@x.io')).toEqual([5, -5])

    // The operator column may also follow its value column.
    expect(await run(c, 'update', 'email,coins,coins_op\nu4@x.io,15,add\n')).toMatchObject({ succeeded: 1, failed: 0 })
    expect(await values('u4@x.io')).toEqual([5, 10])
  })

  it('an unknown email fails its row in bulk-update and is created by bulk-import; communityId may come before or after the file', async () => {
    const c = await community(h)
    await makeUser(c, { email: 'known@x.io', firstname: 'Kim' })
    const upd = await run(c, 'update', 'email,first_name,xp\nknown@x.io,Kimberly,3\nghost@x.io,Casper,9\n')
    expect(upd).toMatchObject({ type: 'bulk-update', status: 'completed', totalRows: 2, succeeded: 1, failed: 1, updated: 1, created: 0 })
    expect(upd.errors).toEqual([{ row: 3, email: 'ghost@x.io', message: 'email: no user with this email' }])
    expectReturningError(await c.key.request('POST', `${BASE}/users/info`, { idOrEmail: 'ghost@x.io' }), 404, 'User not found')
    expect(await userData(c, 'known@x.io')).toMatchObject({ firstName: 'Kimberly', xp: 3 })

    const csv =
      'email,firstname,lastname,username,displayname,xp_op,xp\nknown@x.io,,Kay,,,add,2\nghost@x.io,Casper,Ghost,casper,Casper G.,add,9\n'
    const imp = await run(c, 'import', csv, [{ name: 'communityId', value: c.cid }])
    expect(imp).toMatchObject({
      type: 'bulk-import',
      fileName: 'users.csv',
      status: 'completed',
      totalRows: 2,
      succeeded: 2,
      failed: 0,
      created: 1,
      updated: 1,
      errors: [],
    })
    expect(await userData(c, 'ghost@x.io')).toMatchObject({
      firstName: 'Casper',
      lastName: 'Ghost',
      username: 'casper',
      displayName: 'Casper G.',
      xp: 9,
      coins: 0,
    })
    // An empty cell leaves the field as it is.
    expect(await userData(c, 'known@x.io')).toMatchObject({ firstName: 'Kimberly', lastName: 'Kay', xp: 5 })

    // communityId after the file, by the directory's UUID: still checked before the job is queued.
    const after = await send(c.key, 'import', [csvPart('email\nlate@x.io\n'), { name: 'communityId', value: c.dir }])
    expect(after.statusCode, after.body).toBe(200)
    expect(await waitForLog(c, logIdOf(after, c))).toMatchObject({ created: 1 })
    const before = (await apiLog(c)).data.length
    expectReturningError(
      await send(c.key, 'import', [csvPart('email\nnope@x.io\n'), { name: 'communityId', value: 'ffffffffffffffffffffffff' }]),
      404,
      "No community 'ffffffffffffffffffffffff' for this API key",
    )
    expectReturningError(
      await send(c.key, 'import', [{ name: 'communityId', value: 'ffffffffffffffffffffffff' }, csvPart('email\nnope@x.io\n')]),
      404,
      "No community 'ffffffffffffffffffffffff' for this API key",
    )
    expect((await apiLog(c)).data).toHaveLength(before)
    expectReturningError(await c.key.request('POST', `${BASE}/users/info`, { idOrEmail: 'nope@x.io' }), 404, 'User not found')
  })

  it('a CSV with CR-only line endings (old Mac files) reads one row per line, header included, past the first 64 KB', async () => {
    const c = await community(h)
    const rows = Array.from({ length: 3_000 }, (_, i) => `cr${i}@x.io,Name ${i},${i}`)
    const imp = await run(c, 'import', `email,firstname,xp\r${rows.join('\r')}\r`)
    expect(imp).toMatchObject({ status: 'completed', totalRows: 3_000, succeeded: 3_000, failed: 0, created: 3_000 })
    expect(await userData(c, 'cr2999@x.io')).toMatchObject({ firstName: 'Name 2999', xp: 2999 })
  })

  it('bad operators and bad values are row errors in the Api Log, named by the file’s own columns; the rest of the file applies', async () => {
    const c = await community(h)
    await c.key.request('POST', `${BASE}/communities/${c.cid}/user-fields`, { field: 'vip-level', name: 'VIP level', type: 'text' })
    for (const e of ['a', 'b', 'c', 'd', 'e'])
      await makeUser(c, { email: `${e}@x.io`, firstname: e.toUpperCase(), customFields: [{ fieldIdorName: 'xp', value: 10 }] })
    const csv = [
      'email,xp_op,xp,vip-level_op,vip-level,first_name',
      'a@x.io,multiply,5,,Gold,Ann',
      'b@x.io,add,ten,,,',
      'c@x.io,,,add,Silver,',
      `d@x.io,add,5,,,${'x'.repeat(256)}`,
      'e@x.io,Subtract,4,,Bronze,Eve',
    ].join('\n')
    const entry = await run(c, 'update', csv)
    expect(entry).toMatchObject({ status: 'completed', totalRows: 5, succeeded: 1, failed: 4, updated: 1 })
    expect(entry.errors).toEqual([
      { row: 2, email: 'a@x.io', message: "xp_op: must be add, subtract or overwrite, got 'multiply'" },
      { row: 3, email: 'b@x.io', message: 'xp: must be number or null' },
      { row: 4, email: 'c@x.io', message: "vip-level_op: 'add' needs a numeric field; 'vip-level' is not one" },
      { row: 5, email: 'd@x.io', message: 'first_name: must be at most 255 characters' },
    ])
    // A failed row writes nothing of itself.
    expect(await userData(c, 'a@x.io')).toMatchObject({ firstName: 'A', xp: 10, customFields: {} })
    expect(await userData(c, 'd@x.io')).toMatchObject({ firstName: 'D', xp: 10 })
    // Operators are read without regard to case (the vendor asks for lower case; Rollcall forgives).
    expect(await userData(c, 'e@x.io')).toMatchObject({ firstName: 'Eve', xp: 6, customFields: { 'vip-level': 'Bronze' } })
  })

  it('bad uploads are refused before anything is stored: missing data, a non-CSV file, bad headers, wrong body type', async () => {
    const c = await community(h)
    const u = (parts: Part[], kind: 'update' | 'import' = 'update') => send(c.key, kind, parts)
    expectReturningError(await u([{ name: 'communityId', value: c.cid }]), 400, "data: upload the CSV file in field 'data'")
    expectReturningError(await u([]), 400, "data: upload the CSV file in field 'data'")
    expectReturningError(
      await u([{ name: 'file', value: 'email\na@x.io\n', filename: 'a.csv', type: 'text/csv' }]),
      400,
      "file: unexpected file; send the CSV file as 'data'",
    )
    expectReturningError(
      await u([{ name: 'mode', value: 'create' }, csvPart('email\na@x.io\n')], 'import'),
      400,
      "mode: unexpected field; send the CSV file as 'data' and the community as 'communityId'",
    )
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d])
    expectReturningError(
      await u([csvPart(png, 'logo.png', 'image/png')]),
      415,
      "The 'data' file must be a CSV file; got 'logo.png' of type image/png",
    )
    expectReturningError(
      await u([csvPart('[{"email":"a@x.io"}]', 'users.json', 'application/json')]),
      415,
      "The 'data' file must be a CSV file; got 'users.json' of type application/json",
    )
    expectReturningError(await u([csvPart(png, 'users.csv', 'text/csv')]), 400, 'data: the file is not a CSV file (it holds binary data)')
    expectReturningError(
      await u([csvPart(png, 'blob', 'application/octet-stream')]),
      400,
      'data: the file is not a CSV file (it holds binary data)',
    )
    expectReturningError(
      await u([csvPart('[{"email":"a@x.io"}]', 'users.csv')]),
      400,
      'data: the header line is not valid CSV: a quote inside an unquoted cell at column 1',
    )
    expectReturningError(
      await u([csvPart(Buffer.from([0x65, 0x6d, 0xc3, 0x28, 0x0a]))]),
      400,
      'data: the header line is not valid UTF-8 text',
    )
    expectReturningError(await u([csvPart('')]), 400, 'data: the file is empty')
    expectReturningError(
      await u([csvPart('email,shoe,hat\na@x.io,1,2\n')]),
      400,
      "data: columns 'shoe', 'hat' name no user field of this community",
    )
    expectReturningError(
      await u([csvPart('first_name,xp\nAnn,1\n')]),
      400,
      "data: the CSV needs an 'email' column: rows are matched to users by email",
    )
    expectReturningError(
      await u([csvPart('email,coins_op\na@x.io,add\n')]),
      400,
      "data: operator column 'coins_op' has no value column 'coins'",
    )
    expectReturningError(await u([csvPart('email,email\na@x.io,b@x.io\n')]), 400, "data: duplicate column 'email' (columns 1 and 2)")
    expectReturningError(
      await u([csvPart('email,first_name,firstname\na@x.io,A,B\n')]),
      400,
      "data: columns 'first_name' and 'firstname' both map to firstName",
    )
    expectReturningError(await u([csvPart('email,,xp\na@x.io,,1\n')]), 400, 'data: a column of the header has no name')
    expectReturningError(await u([csvPart('email\na@x.io\n'), csvPart('email\nb@x.io\n')]), 413, 'reach files limit')
    expectReturningError(
      await c.key.request('POST', `${BASE}/users/bulk-update`, { data: 'email\na@x.io\n' }),
      415,
      "Send multipart/form-data with the CSV file in field 'data'",
    )
    expectReturningError(
      await c.key.request('POST', `${BASE}/users/bulk-import`, 'email\na@x.io\n', { 'content-type': 'text/csv' }),
      415,
      "Send multipart/form-data with the CSV file in field 'data'",
    )
    expect((await apiLog(c)).data).toEqual([])

    // Semicolons (a spreadsheet's CSV in many locales) are detected like commas.
    await makeUser(c, { email: 'semi@x.io' })
    expect(await run(c, 'update', 'email;xp_op;xp\r\nsemi@x.io;add;4\r\n')).toMatchObject({ succeeded: 1 })
    expect((await userData(c, 'semi@x.io')).xp).toBe(4)
    // A header with no rows is stored, and the job fails as a whole: the Api Log says why.
    const empty = await run(c, 'update', 'email,xp\n')
    expect(empty).toMatchObject({
      status: 'failed',
      totalRows: null,
      succeeded: 0,
      failed: 0,
      error: 'the file has a header but no rows',
      errors: [{ row: null, email: null, message: 'the file has a header but no rows' }],
    })
  })

  it('auth: the Bearer key is required on both endpoints and the Api Log; other tenants never see the community’s jobs', async () => {
    const c = await community(h)
    const app = h.app().app
    const f = form([csvPart('email\na@x.io\n')])
    for (const kind of ['update', 'import']) {
      const url = `${BASE}/users/bulk-${kind}`
      const anon = await app.inject({ method: 'POST', url, payload: f.payload, headers: f.headers })
      expectReturningError(anon, 401, 'Send the API key as "Authorization: Bearer <key>"')
      expect(anon.headers['www-authenticate']).toBe('Bearer')
      expectReturningError(
        await app.inject({ method: 'POST', url, payload: f.payload, headers: { ...f.headers, authorization: 'Bearer wrong' } }),
        401,
        'The API key is unknown or revoked',
      )
      expectReturningError(
        await c.admin.request('POST', url, f.payload, f.headers),
        403,
        'This API key is not limited to one community: create a key limited to exactly one directory',
      )
      const reader = await c.admin.newKey(['read'], [c.dir])
      expectReturningError(await reader.request('POST', url, f.payload, f.headers), 403, "This operation needs the 'write' scope")
    }
    await makeUser(c, { email: 'a@x.io' })
    const entry = await run(c, 'update', 'email,xp\na@x.io,1\n')
    expectReturningError(
      await app.inject({ method: 'GET', url: `${BASE}/communities/${c.cid}/api-logs` }),
      401,
      'Send the API key as "Authorization: Bearer <key>"',
      'application',
    )
    const reader = await c.admin.newKey(['read'], [c.dir])
    expect((await reader.request('GET', `${BASE}/communities/${c.cid}/api-logs`)).json().data.map((e: LogEntry) => e._id)).toEqual([
      entry._id,
    ])

    const other = await community(h)
    expectReturningError(
      await other.key.request('GET', `${BASE}/communities/${c.cid}/api-logs`),
      404,
      `No community '${c.cid}' for this API key`,
      'application',
    )
    expectReturningError(
      await other.key.request('GET', `${BASE}/communities/${c.cid}/api-logs/${entry._id}`),
      404,
      `No community '${c.cid}' for this API key`,
      'application',
    )
    expectReturningError(
      await other.key.request('GET', `${BASE}/communities/${other.cid}/api-logs/${entry._id}`),
      404,
      `No api log '${entry._id}' in this community`,
      'application',
    )
    expect((await apiLog(other)).data).toEqual([])
    const spoof = form([{ name: 'communityId', value: c.cid }, csvPart('email\nx@x.io\n')])
    expectReturningError(
      await other.key.request('POST', `${BASE}/users/bulk-import`, spoof.payload, spoof.headers),
      404,
      `No community '${c.cid}' for this API key`,
    )
    expect((await other.admin.request('GET', `/api/v1/imports/${entry._id}`)).statusCode).toBe(404)
    // The same tenant's key limited to another directory does not see it either.
    const otherDir = (await makeDirectory(c.admin, { name: 'Second' })).id
    const sibling = await c.admin.newKey(['admin'], [otherDir])
    expectReturningError(
      await sibling.request('GET', `${BASE}/communities/${c.cid}/api-logs/${entry._id}`),
      404,
      `No community '${c.cid}' for this API key`,
      'application',
    )
  })

  it("history: a changed user's history names channel returning and the job; user field histories carry the job id", async () => {
    const c = await community(h)
    const id = await makeUser(c, { email: 'h@x.io', customFields: [{ fieldIdorName: 'coins', value: 5 }] })
    const entry = await run(c, 'update', 'email,first_name,coins_op,coins\nh@x.io,Hal,add,7\n')
    expect(entry).toMatchObject({ updated: 1 })
    const native = (await c.admin.request('GET', `/api/v1/directories/${c.dir}/users/${id}/history`)).json().data
    expect(native.map((x: { action: string; channel: string; jobId: string | null }) => [x.action, x.channel, x.jobId])).toEqual([
      ['update', 'returning', entry._id],
      ['create', 'returning', null],
    ])
    expect(native[0].changes).toEqual({ firstName: [null, 'Hal'], 'fields.coins': [5, 12] })
    const items = (await c.key.request('GET', `${BASE}/communities/${c.cid}/user-field-histories/users/${id}`)).json().data
    expect(items[0]).toMatchObject({
      field: 'coins',
      userId: id,
      previousValue: 5,
      value: 12,
      source: 'bulk-update',
      channel: 'returning',
      jobId: entry._id,
    })
    // The native import API sees the same job, with its per-row results.
    const job = (await c.key.request('GET', `/api/v1/imports/${entry._id}`)).json()
    expect(job).toMatchObject({
      id: entry._id,
      state: 'completed',
      options: {
        channel: 'returning',
        mode: 'update',
        match: ['email'],
        opSuffix: '_op',
        mapping: { email: 'email', first_name: 'firstName', coins: 'fields.coins' },
      },
    })
  })

  it('the Api Log: newest first, paged by cursor, filtered by status; Idempotency-Key replays the queued answer without a second job', async () => {
    const c = await community(h)
    await makeUser(c, { email: 'p@x.io' })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await run(c, 'update', `email,xp\np@x.io,${i}\n`))._id)
    const failed = await run(c, 'update', 'email\n')
    const all = await apiLog(c)
    expect(all.data.map((e) => e._id)).toEqual([failed._id, ...ids.reverse()])
    expect(all.next_cursor).toBeNull()
    const p1 = await apiLog(c, '?limit=2')
    expect(p1.data.map((e) => e._id)).toEqual([failed._id, ids[0]])
    const p2 = await apiLog(c, `?limit=2&cursor=${p1.next_cursor}`)
    expect(p2.data.map((e) => e._id)).toEqual(ids.slice(1))
    expect((await apiLog(c, '?status=failed')).data.map((e) => e._id)).toEqual([failed._id])
    expect((await apiLog(c, '?status=processing')).data).toEqual([])
    expectReturningError(
      await c.key.request('GET', `${BASE}/communities/${c.cid}/api-logs?cursor=nope`),
      400,
      'The cursor is not one this server issued; start again without it',
      'application',
    )
    expectReturningError(
      await c.key.request('GET', `${BASE}/communities/${c.cid}/api-logs?status=done`),
      400,
      'querystring.status: must be one of "queued", "processing", "needs_confirmation", "completed", "failed", "cancelled", "reverting", "reverted"',
      'application',
    )
    const ghost = randomUUID()
    expectReturningError(
      await c.key.request('GET', `${BASE}/communities/${c.cid}/api-logs/${ghost}`),
      404,
      `No api log '${ghost}' in this community`,
      'application',
    )

    const f = form([csvPart('email,xp\np@x.io,99\n')])
    const first = await c.key.request('POST', `${BASE}/users/bulk-update`, f.payload, { ...f.headers, 'idempotency-key': 'ret-1' })
    const again = await c.key.request('POST', `${BASE}/users/bulk-update`, f.payload, { ...f.headers, 'idempotency-key': 'ret-1' })
    expect(first.json()).toEqual(QUEUED_UPDATE)
    expect(again.json()).toEqual(QUEUED_UPDATE)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.headers.location).toBe(first.headers.location)
    await waitForLog(c, logIdOf(first, c))
    expect((await apiLog(c)).data).toHaveLength(5)
  })
})

describeEachEngine('Returning.AI door: a file larger than one stored chunk', (engine) => {
  const h = useApp(engine, { batchSize: 1000 })

  it(
    '8,000 rows of about 140 bytes (over one 1 MiB stored chunk): every row created, then updated by operator, no byte lost at the header or chunk seams',
    { timeout: 90_000 },
    async () => {
      const c = await community(h)
      const n = 8_000
      const pad = (ch: string) => ch.repeat(120)
      const rows = (f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n')
      const imp = await run(c, 'import', `email,first_name,xp\n${rows((i) => `u${i}@x.io,${pad('p')}${i},${i}`)}\n`)
      expect(imp).toMatchObject({ status: 'completed', totalRows: n, created: n, failed: 0, errors: [] })
      const upd = await run(
        c,
        'update',
        `email,first_name,xp_op,xp,coins_op,coins\r\n${rows((i) => `u${i}@x.io,${pad('q')}${i},add,${i},subtract,1`)}\r\n`,
      )
      expect(upd).toMatchObject({ status: 'completed', totalRows: n, updated: n, failed: 0, errors: [] })
      for (const i of [0, 1, 4321, n - 1])
        expect(await userData(c, `u${i}@x.io`)).toMatchObject({ firstName: `${pad('q')}${i}`, xp: 2 * i, coins: -1 })
    },
  )
})
