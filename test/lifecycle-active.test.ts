import { expect, it } from 'vitest'
import { useApp } from './helpers/app.js'
import { parseCsv } from './helpers/csv.js'
import { describeEachEngine } from './helpers/engines.js'
import { makeDirectory } from './helpers/directories.js'
import { upload, waitForJob } from './helpers/jobs.js'

interface User {
  id: string
  email: string
  active: boolean
  version: number
  fields: Record<string, unknown>
}

/**
 * `active`, the built-in lifecycle field: true for a new user, never null, written like any
 * other field (history, revert), filtered and exported; deactivated users stay readable and
 * matchable.
 */
describeEachEngine('users: active', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  it('a new user is active; deactivation is a change in history; the list filters by it; null cannot clear it', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Lifecycle' })).id
    const users = `/api/v1/directories/${dir}/users`
    const ada = (await c.request('POST', users, { email: 'ada@example.com' })).json() as User
    expect(ada.active).toBe(true)
    const bob = (await c.request('POST', users, { email: 'bob@example.com', active: false })).json() as User
    expect(bob.active).toBe(false)

    const off = await c.request('PATCH', `${users}/${ada.id}`, { active: false })
    expect(off.statusCode, off.body).toBe(200)
    expect(off.json()).toMatchObject({ active: false, version: 2 })
    // Deactivated users stay readable.
    expect((await c.request('GET', `${users}/${ada.id}`)).json().active).toBe(false)
    const history = (await c.request('GET', `${users}/${ada.id}/history`)).json().data
    expect(history[0]).toMatchObject({ action: 'update', changes: { active: [true, false] } })
    // Created active by default: nothing recorded for it; created deactivated: recorded.
    expect(history[1].changes).not.toHaveProperty('active')
    expect((await c.request('GET', `${users}/${bob.id}/history`)).json().data[0].changes).toMatchObject({ active: [true, false] })

    const carl = (await c.request('POST', users, { email: 'carl@example.com' })).json() as User
    const emails = async (q: string) => ((await c.request('GET', `${users}?${q}`)).json().data as User[]).map((u) => u.email)
    expect(await emails('active=false')).toEqual(['ada@example.com', 'bob@example.com'])
    expect(await emails('active=true')).toEqual(['carl@example.com'])
    expect(await emails('')).toHaveLength(3)
    const bad = await c.request('GET', `${users}?active=maybe`)
    expect(bad.statusCode).toBe(400)

    for (const value of [null, 'yes', 1]) {
      const r = await c.request('PATCH', `${users}/${carl.id}`, { active: value })
      expect(r.statusCode, JSON.stringify(value)).toBe(400)
      expect(r.json().errors).toEqual([expect.objectContaining({ field: 'active', code: 'invalid_type' })])
    }
    expect((await c.request('GET', `${users}/${carl.id}`)).json()).toMatchObject({ active: true, version: 1 })
  })

  it('imports: a CSV column active reads yes/no/true/false/1/0, matches deactivated users, and a revert reactivates', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Imports' })).id
    const users = `/api/v1/directories/${dir}/users`
    const created = await waitForJob(
      c,
      (await upload(c, dir, 'email,active\na@example.com,yes\nb@example.com,no\nc@example.com,TRUE\nd@example.com,0\ne@example.com,\n')).id,
    )
    expect(created.counts).toMatchObject({ created: 5, failed: 0 })
    const state = async () =>
      Object.fromEntries(((await c.request('GET', `${users}?limit=100`)).json().data as User[]).map((u) => [u.email, u.active]))
    // An empty cell is skipped by default: the new user is active.
    expect(await state()).toEqual({
      'a@example.com': true,
      'b@example.com': false,
      'c@example.com': true,
      'd@example.com': false,
      'e@example.com': true,
    })

    // Deactivated users are matched like any other; `maybe` fails its row alone, and an empty
    // cell read as null (emptyMeans=null) cannot clear the field.
    const upd = await waitForJob(
      c,
      (
        await upload(
          c,
          dir,
          'email,active\na@example.com,false\nb@example.com,true\nc@example.com,maybe\ne@example.com,\n',
          'text/csv',
          'emptyMeans=null',
        )
      ).id,
    )
    expect(upd.counts).toMatchObject({ created: 0, updated: 2, failed: 2 })
    const failed = (await c.request('GET', `/api/v1/imports/${upd.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(failed.map((r) => [r.index, r.errors[0].field, r.errors[0].code])).toEqual([
      [2, 'active', 'invalid_type'],
      [3, 'active', 'invalid_type'],
    ])
    expect(await state()).toMatchObject({ 'a@example.com': false, 'b@example.com': true })

    const revert = await c.request('POST', `/api/v1/imports/${upd.id}/revert`)
    expect(revert.statusCode, revert.body).toBe(202)
    expect((await waitForJob(c, upd.id)).state).toBe('reverted')
    expect(await state()).toMatchObject({ 'a@example.com': true, 'b@example.com': false })
  })

  it('export carries active, filtered by it; a bulk request sets it', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Export' })).id
    const bulk = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, {
      mode: 'upsert',
      match: 'email',
      rows: [{ email: 'x@example.com' }, { email: 'y@example.com', active: false }],
    })
    expect(bulk.statusCode, bulk.body).toBe(200)
    expect(bulk.json().summary).toMatchObject({ created: 2 })
    const csv = parseCsv((await c.request('GET', `/api/v1/directories/${dir}/export?format=csv`)).body)
    const col = csv[0].indexOf('active')
    expect(col).toBeGreaterThan(-1)
    expect(csv.slice(1).map((r) => [r[csv[0].indexOf('email')], r[col]])).toEqual([
      ['x@example.com', 'true'],
      ['y@example.com', 'false'],
    ])
    const off = (await c.request('GET', `/api/v1/directories/${dir}/export?active=false`)).body.trim().split('\n')
    expect(off.map((l) => JSON.parse(l).email)).toEqual(['y@example.com'])
    // A signed link keeps the filter (a browser download of the deactivated users).
    const link = await c.request('POST', `/api/v1/directories/${dir}/export/link?active=false`)
    expect(link.statusCode, link.body).toBe(201)
    const linked = await h.app().app.inject({ method: 'GET', url: link.json().url })
    expect(linked.statusCode).toBe(200)
    expect(
      linked.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).email),
    ).toEqual(['y@example.com'])
    // The schema endpoint lists it as a built-in boolean that cannot be null.
    const schema = (await c.request('GET', `/api/v1/directories/${dir}/schema`)).json()
    expect(schema.properties.active).toMatchObject({ type: 'boolean' })
  })
})
