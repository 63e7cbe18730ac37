import { expect, it } from 'vitest'
import { type Client, useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { waitForJob } from '../helpers/jobs.js'
import { expectScimError, scimSetup, URN } from '../helpers/scim.js'
import { makeDirectory } from '../helpers/directories.js'

/**
 * Doors whose vendor fields are custom fields of the directory (Returning.AI's `xp` and `coins`,
 * Dynamic's profile fields) define them with their first write that stores a user: a request that
 * fails writes nothing, its schema included, and a read never writes. SCIM's `active` is the
 * built-in (schema 6 on; before, a custom field SCIM defined): SCIM defines no field at all.
 */

async function customKeys(admin: Client, dir: string): Promise<string[]> {
  const r = await admin.request('GET', `/api/v1/directories/${dir}/fields`)
  expect(r.statusCode, r.body).toBe(200)
  return (r.json().data as { key: string; builtIn: boolean }[]).filter((f) => !f.builtIn).map((f) => f.key)
}

describeEachEngine('door fields are defined only by a write that stores a user', (engine) => {
  const h = useApp(engine)

  it('SCIM: neither a POST answered 400 nor a stored user with active defines a field: active is the built-in', async () => {
    const scim = await scimSetup(h)
    const bad = await scim.req('POST', '/Users', {
      schemas: [URN.user],
      userName: 'ada',
      active: true,
      emails: [{ value: 'not-an-email', primary: true }],
    })
    expectScimError(bad, 400, 'invalidValue')
    const conflict = await scim.req('POST', '/Users', { schemas: [URN.user], userName: 'has space', active: false })
    expect(conflict.statusCode).toBe(400)
    expect(await customKeys(scim.admin, scim.dir.id)).toEqual([])
    const listed = await scim.req('GET', '/Users?filter=active%20eq%20true')
    expect(listed.statusCode, listed.body).toBe(200)
    expect(await customKeys(scim.admin, scim.dir.id)).toEqual([])
    const ok = await scim.req('POST', '/Users', { schemas: [URN.user], userName: 'ada', active: false })
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json().active).toBe(false)
    expect(await customKeys(scim.admin, scim.dir.id)).toEqual([])
    const native = await scim.admin.request('GET', `/api/v1/directories/${scim.dir.id}/users/${ok.json().id}`)
    expect(native.json()).toMatchObject({ active: false, fields: {} })
  })

  it('Returning.AI: a create answered 400 and a read-scoped filter define nothing; a stored user defines xp and coins', async () => {
    const admin = await h.client()
    const dir = (await makeDirectory(admin, { name: 'Community' })).id
    const reader = await admin.newKey(['read'], [dir])
    const writer = await admin.newKey(['write'], [dir])
    const filter = await reader.request('POST', '/returning/apis/v1/users/filter', {
      fields: ['email', 'xp'],
      filter: { coins: { gte: 1 } },
    })
    expect(filter.statusCode, filter.body).toBe(200)
    expect(filter.json()).toEqual({ status: 'success', data: { users: [], next_cursor: null } })
    const bad = await writer.request('POST', '/returning/apis/v1/users', {
      email: 'not-an-email',
      customFields: [{ fieldIdorName: 'xp', value: 5 }],
    })
    expect(bad.statusCode, bad.body).toBe(400)
    const wrongType = await writer.request('POST', '/returning/apis/v1/users', {
      email: 'a@x.io',
      customFields: [{ fieldIdorName: 'xp', value: 'lots' }],
    })
    expect(wrongType.statusCode, wrongType.body).toBe(400)
    expect(await customKeys(admin, dir)).toEqual([])
    // A queued bulk update whose every row fails defines nothing either.
    const form = (csv: string) => {
      const boundary = 'x-boundary'
      return {
        body: `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="u.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      }
    }
    const upload = form('email,xp\nnobody@x.io,5\n')
    const queued = await writer.request('POST', '/returning/apis/v1/users/bulk-update', upload.body, upload.headers)
    expect(queued.statusCode, queued.body).toBe(200)
    const jobs = (await admin.request('GET', `/api/v1/directories/${dir}/imports`)).json().data as { id: string }[]
    expect(jobs).toHaveLength(1)
    expect(await waitForJob(admin, jobs[0].id)).toMatchObject({ state: 'completed', counts: { failed: 1 } })
    expect(await customKeys(admin, dir)).toEqual([])

    const ok = await writer.request('POST', '/returning/apis/v1/users', {
      email: 'a@x.io',
      customFields: [{ fieldIdorName: 'xp', value: 5 }],
    })
    expect(ok.statusCode, ok.body).toBe(201)
    expect((await customKeys(admin, dir)).sort()).toEqual(['coins', 'xp'])
  })

  it('Dynamic: failed creates define nothing; the first stored user defines the profile fields', async () => {
    const admin = await h.client()
    const env = (await makeDirectory(admin, { name: 'Env' })).id
    const base = `/dynamic/api/v0/environments/${env}/users`
    expect((await admin.request('POST', base, { email: 'bad', jobTitle: 'Dev' })).statusCode).toBe(400)
    const bulk = await admin.request('POST', `${base}/bulk`, [{ email: 'bad', team: 'A' }, { country: 'ZZ' }])
    expect(bulk.statusCode, bulk.body).toBe(201)
    expect(bulk.json().failed).toHaveLength(2)
    expect((await admin.request('GET', `${base}?filter[filterColumn]=jobTitle&filter[filterValue]=Dev`)).json()).toEqual({
      count: 0,
      users: [],
    })
    expect(await customKeys(admin, env)).toEqual([])
    expect((await admin.request('POST', base, { email: 'ok@x.io', jobTitle: 'Dev' })).statusCode).toBe(201)
    expect(await customKeys(admin, env)).toContain('jobTitle')
  })
})
