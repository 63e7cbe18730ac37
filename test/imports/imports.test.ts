import { expect, it } from 'vitest'
import { describeEachEngine } from '../helpers/engines.js'
import { useApp } from '../helpers/app.js'
import { upload, waitForJob } from '../helpers/jobs.js'
import { makeDirectory } from '../helpers/directories.js'

describeEachEngine('imports', (engine) => {
  const h = useApp(engine, { batchSize: 3 })

  it('a CSV upload runs to completion: per-row results, counts, users written with the job in history', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const csv =
      'E-mail,First Name,last_name,metadata.plan\r\nada@x.io,Ada,Lovelace,pro\r\ngrace@x.io,Grace,,basic\r\nnot-an-email,X,,\r\nlinus@x.io,Linus,T,\r\n'
    const job = await upload(c, dir, csv)
    // Queued, and past it if this process's worker has already leased it: never still uploading.
    expect(['queued', 'running', 'completed']).toContain(job.state)
    const done = await waitForJob(c, job.id)
    expect(done).toMatchObject({
      state: 'completed',
      error: null,
      counts: { total: 4, processed: 4, created: 3, updated: 0, unchanged: 0, failed: 1 },
    })
    const users = (await c.request('GET', `/api/v1/directories/${dir}/users?email=ada@x.io`)).json().data
    expect(users[0]).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', metadata: { plan: 'pro' } })
    const grace = (await c.request('GET', `/api/v1/directories/${dir}/users?email=grace@x.io`)).json().data[0]
    expect(grace.lastName).toBeNull()
    const hist = (await c.request('GET', `/api/v1/directories/${dir}/users/${users[0].id}/history`)).json().data
    expect(hist[0]).toMatchObject({ action: 'create', jobId: job.id })

    const dup = await waitForJob(c, (await upload(c, dir, 'email,firstName\nd@x.io,One\nother@x.io,X\nD@x.io,Two\nd2@x.io,Y\n')).id)
    const rows = (await c.request('GET', `/api/v1/imports/${dup.id}/results`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows.map((r: { status: string; warnings?: { code: string }[] }) => [r.status, r.warnings?.[0]?.code ?? null])).toEqual([
      ['created', 'duplicate_in_input'],
      ['created', null],
      ['updated', 'duplicate_in_input'],
      ['created', null],
    ])
    // Pages (after the last index, a limit) and the rows that carry a warning, as the console reads them.
    const lines = async (q: string) =>
      (await c.request('GET', `/api/v1/imports/${dup.id}/results?${q}`)).body
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { index: number }).index)
    expect(await lines('limit=2')).toEqual([0, 1])
    expect(await lines('after=1&limit=2')).toEqual([2, 3])
    expect(await lines('after=3')).toEqual([])
    expect(await lines('warning=duplicate_in_input')).toEqual([0, 2])
    expect(await lines('warning=duplicate_in_input&after=0&limit=5')).toEqual([2])
    expect(await lines('status=created&after=0&limit=1')).toEqual([1])

    const again = await waitForJob(c, (await upload(c, dir, csv)).id)
    expect(again.counts).toMatchObject({ created: 0, unchanged: 3, failed: 1 })
  })

  it('/metrics tells where imports spend their time: seconds per stage, within the duration of the job times the batches in flight', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Stages' })).id
    const stages = async (): Promise<Record<string, number>> => {
      const text = (await h.app().app.inject('/metrics')).body
      return Object.fromEntries(
        [...text.matchAll(/^rollcall_import_stage_seconds_total\{stage="(\w+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]),
      )
    }
    const before = await stages()
    const rows = Array.from({ length: 20 }, (_, i) => `u${i}@x.io,User ${i}`).join('\n')
    const job = await waitForJob(c, (await upload(c, dir, `email,firstName\n${rows}\n`)).id)
    expect(job.counts).toMatchObject({ created: 20, failed: 0 })
    const after = await stages()
    const spent = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]))
    expect(Object.keys(spent).sort()).toEqual(['commit', 'lookup', 'plan', 'read', 'results', 'validate', 'write'])
    for (const v of Object.values(spent)) expect(v).toBeGreaterThanOrEqual(0)
    const sum = Object.values(spent).reduce((a, b) => a + b, 0)
    expect(sum).toBeGreaterThan(0)
    // The stages are parts of the job: together no longer than it ran (its timestamps are in ms),
    // times the batches in flight at once (two where transactions run side by side: PostgreSQL).
    const inFlight = engine.store().capabilities.concurrentTransactions ? 2 : 1
    expect(sum).toBeLessThanOrEqual((inFlight * (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')) + 2) / 1000)
  })
})

describeEachEngine('imports: formats, bad input, results and failed rows', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  it('NDJSON and a JSON array import the same way; bad records fail alone with their line', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const nd = '{"email":"a@x.io","firstName":"A"}\n{oops\n\n{"email":"b@x.io","metadata":{"k":[1,2]}}\n'
    const j1 = await waitForJob(c, (await upload(c, dir, nd, 'application/x-ndjson')).id)
    expect(j1.counts).toMatchObject({ total: 3, created: 2, failed: 1 })
    const failed = (await c.request('GET', `/api/v1/imports/${j1.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(failed).toEqual([
      expect.objectContaining({
        index: 1,
        line: 2,
        status: 'failed',
        errors: [expect.objectContaining({ code: 'malformed_row', message: expect.stringContaining('line 2: not valid JSON') })],
      }),
    ])

    const arr = JSON.stringify([{ email: 'c@x.io' }, { email: 'a@x.io', lastName: 'Z' }, 7])
    const j2 = await waitForJob(c, (await upload(c, dir, arr, 'application/json')).id)
    expect(j2.counts).toMatchObject({ total: 3, created: 1, updated: 1, failed: 1 })
  })

  it('rows with the wrong number of cells, an unbalanced quote or invalid UTF-8 fail alone, with their line number', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const csv = Buffer.concat([
      Buffer.from('email,firstName\nok1@x.io,A\nshort@x.io\nok2@x.io,"B"x\n'),
      Buffer.from([0x62, 0x61, 0x64, 0xc3, 0x28, 0x40, 0x78, 0x2e, 0x69, 0x6f, 0x2c, 0x43, 0x0a]),
      Buffer.from('ok3@x.io,"never closed\n'),
    ])
    const job = await waitForJob(c, (await upload(c, dir, csv.toString('latin1'), 'text/csv')).id)
    expect(job.state).toBe('completed')
    expect(job.counts).toMatchObject({ created: 1 })
    const rows = (await c.request('GET', `/api/v1/imports/${job.id}/results`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows.map((r: { line: number; status: string }) => [r.line, r.status])).toEqual([
      [2, 'created'],
      [3, 'failed'],
      [4, 'failed'],
      [5, 'failed'],
      [6, 'failed'],
    ])
    expect(rows[1].errors[0].message).toBe('line 3: expected 2 cells, got 1')
  })

  it('the whole input fails before any write: binary, header only, duplicate or unmapped columns', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const cases: [string | Buffer, string][] = [
      [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x10, 0x00]), 'not text'],
      ['email,firstName\n', 'header but no rows'],
      ['email,email\na@x.io,b@x.io\n', "duplicate column 'email'"],
      ['email,Shoe Size\na@x.io,42\n', "columns that map to no field: 'Shoe Size'"],
    ]
    for (const [body, reason] of cases) {
      const job = await waitForJob(c, (await upload(c, dir, Buffer.isBuffer(body) ? body.toString('latin1') : body)).id)
      expect(job.state, reason).toBe('failed')
      expect(job.error).toContain(reason)
      expect(job.counts.processed).toBe(0)
    }
    const empty = await c.request('POST', `/api/v1/directories/${dir}/imports`, '', { 'content-type': 'text/csv' })
    expect(empty.statusCode).toBe(400)
    expect((await c.request('GET', `/api/v1/directories/${dir}/users`)).json().data).toEqual([])
    const kept = await waitForJob(c, (await upload(c, dir, 'email,Shoe Size\na@x.io,42\n', 'text/csv', 'unmapped=metadata')).id)
    expect(kept.counts.created).toBe(1)
    expect((await c.request('GET', `/api/v1/directories/${dir}/users`)).json().data[0].metadata).toEqual({ 'Shoe Size': '42' })
  })

  it('failed.csv gives the failed rows in their own columns plus error, formulas neutralised', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const csv = 'email,firstName,lastName\nbad-email,"=HYPERLINK(""x"")","Smith, J"\ngood@x.io,@admin,+1\n+bad,-x,ok\n'
    const job = await waitForJob(c, (await upload(c, dir, csv)).id)
    expect(job.counts).toMatchObject({ created: 1, failed: 2 })
    const res = await c.request('GET', `/api/v1/imports/${job.id}/failed.csv`)
    expect(res.headers['content-type']).toContain('text/csv')
    expect(res.body).toBe(
      'email,firstName,lastName,error\r\n' +
        'bad-email,"\'=HYPERLINK(""x"")","Smith, J",line 2: email: must be a valid email address\r\n' +
        "'+bad,'-x,ok,line 4: email: must be a valid email address\r\n",
    )
    const all = await c.request('GET', `/api/v1/imports/${job.id}/results?format=csv`)
    expect(all.body.split('\r\n')[0]).toBe('index,line,status,userId,changedFields,errors')
    expect(all.body.split('\r\n').filter(Boolean)).toHaveLength(4)
  })

  it('multipart upload with options as fields; the API log lists imports newest first; another tenant sees none', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const boundary = '----rollcall'
    const body = [
      `--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\ncreate\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\nContent-Type: text/csv\r\n\r\n`,
      'email;firstName\r\nm@x.io;M\r\n',
      `\r\n--${boundary}--\r\n`,
    ].join('')
    const r = await c.request('POST', `/api/v1/directories/${dir}/imports`, body, {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    })
    expect(r.statusCode, r.body).toBe(202)
    const job = await waitForJob(c, r.json().id)
    expect(job.counts.created).toBe(1)
    expect(r.json().options).toMatchObject({ mode: 'create' })
    const second = await waitForJob(c, (await upload(c, dir, 'email\nm@x.io\n', 'text/csv', 'mode=create')).id)
    expect(second.counts.failed).toBe(1)
    const log = (await c.request('GET', `/api/v1/directories/${dir}/imports`)).json().data
    expect(log.map((j: { id: string }) => j.id)).toEqual([second.id, job.id])
    expect((await c.request('GET', `/api/v1/directories/${dir}/imports?state=failed`)).json().data).toEqual([])

    const other = await h.client()
    for (const path of [
      `/api/v1/imports/${job.id}`,
      `/api/v1/imports/${job.id}/results`,
      `/api/v1/imports/${job.id}/failed.csv`,
      `/api/v1/directories/${dir}/imports`,
    ])
      expect((await other.request('GET', path)).statusCode, path).toBe(404)
    expect((await other.request('POST', `/api/v1/imports/${job.id}/cancel`)).statusCode).toBe(404)
  })

  it('bad options and content types are refused at upload, with nothing stored', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const bad = await c.request('POST', `/api/v1/directories/${dir}/imports?match=phone&mapping=nope`, 'email\na@x.io\n', {
      'content-type': 'text/csv',
    })
    expect(bad.statusCode).toBe(400)
    expect(
      bad
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort(),
    ).toEqual(['mapping', 'match'])
    const type = await c.request('POST', `/api/v1/directories/${dir}/imports`, '<xml/>', { 'content-type': 'application/xml' })
    expect(type.statusCode).toBe(415)
    expect((await c.request('GET', `/api/v1/directories/${dir}/imports`)).json().data).toEqual([])
  })

  it('Idempotency-Key: a retried upload returns the same job', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const send = () =>
      c.request('POST', `/api/v1/directories/${dir}/imports`, 'email\ni@x.io\n', {
        'content-type': 'text/csv',
        'idempotency-key': 'upload-1',
      })
    const a = await send()
    const b = await send()
    expect(b.headers['idempotent-replayed']).toBe('true')
    expect(b.json().id).toBe(a.json().id)
    expect((await c.request('GET', `/api/v1/directories/${dir}/imports`)).json().data).toHaveLength(1)
  })

  it('server-sent events report progress and end with the final summary', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const job = await upload(c, dir, 'email\ne1@x.io\ne2@x.io\ne3@x.io\n')
    const res = await h
      .app()
      .app.inject({ method: 'GET', url: `/api/v1/imports/${job.id}/events`, headers: { authorization: `Bearer ${c.key}` } })
    expect(res.headers['content-type']).toBe('text/event-stream')
    const events = res.body
      .split('\n\n')
      .filter(Boolean)
      .map((e) => ({ event: /event: (\w+)/.exec(e)?.[1], data: JSON.parse(/data: (.*)/.exec(e)?.[1] ?? 'null') }))
    expect(events[events.length - 1]).toMatchObject({ event: 'end', data: { state: 'completed', counts: { created: 3, total: 3 } } })
  })
})

describeEachEngine('imports: the sync bulk endpoint with Prefer: respond-async', (engine) => {
  const h = useApp(engine, { bulkMaxRows: 3 })

  it('over the row limit, Prefer: respond-async turns the request into an import (202); without it, 413', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const rows = Array.from({ length: 5 }, (_, i) => ({ email: `r${i}@x.io` }))
    const refused = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows })
    expect(refused.statusCode).toBe(413)
    expect(refused.json().detail).toContain('respond-async')
    const r = await c.request(
      'POST',
      `/api/v1/directories/${dir}/users/bulk`,
      { rows, mode: 'create' },
      { prefer: 'respond-async, wait=0' },
    )
    expect(r.statusCode).toBe(202)
    expect(r.headers['preference-applied']).toBe('respond-async')
    expect(r.headers.location).toBe(`/api/v1/imports/${r.json().id}`)
    const job = await waitForJob(c, r.json().id)
    expect(job.counts).toMatchObject({ total: 5, created: 5 })
    const within = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows: rows.slice(0, 2) }, { prefer: 'respond-async' })
    expect(within.statusCode).toBe(200)
    expect(within.json().summary.unchanged).toBe(2)
  })
})
