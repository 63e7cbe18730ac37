import { expect, it } from 'vitest'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'

/**
 * A directory is not deleted from under its imports: while one is uploading, queued, running or
 * reverting, DELETE answers 409 naming it, and nothing is deleted; once it has ended, the
 * directory goes with everything in it.
 */
describeEachEngine('deleting a directory with an import in progress', (engine) => {
  // No worker in this process: an uploaded import stays queued until it is cancelled.
  const h = useApp(engine, { role: 'api' })

  it('answers 409 while an import is queued, then deletes once it is cancelled', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Busy' })).id
    await c.request('POST', `/api/v1/directories/${dir}/fields`, { key: 'code', type: 'string', unique: true })
    const queued = await c.request('POST', `/api/v1/directories/${dir}/imports`, 'email\na@x.io\n', { 'content-type': 'text/csv' })
    expect(queued.statusCode, queued.body).toBe(202)
    const job = queued.json() as { id: string; state: string }
    expect(job.state).toBe('queued')

    const refused = await c.request('DELETE', `/api/v1/directories/${dir}`)
    expect(refused.statusCode, refused.body).toBe(409)
    expect(refused.json()).toMatchObject({ code: 'conflict', detail: expect.stringContaining(`${job.id}: queued`) })
    expect(refused.json().detail).toContain('/api/v1/imports/{id}/cancel')
    // Nothing was deleted: the directory, its field and the unique index behind it.
    expect((await c.request('GET', `/api/v1/directories/${dir}`)).statusCode).toBe(200)
    expect((await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'b@x.io', fields: { code: 'X' } })).statusCode).toBe(201)
    const dup = await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'c@x.io', fields: { code: 'X' } })
    expect(dup.statusCode, dup.body).toBe(409)

    const cancelled = await c.request('POST', `/api/v1/imports/${job.id}/cancel`)
    expect(cancelled.json().state).toBe('cancelled')
    expect((await c.request('DELETE', `/api/v1/directories/${dir}`)).statusCode).toBe(204)
    expect((await c.request('GET', `/api/v1/directories/${dir}`)).statusCode).toBe(404)
    expect((await c.request('GET', `/api/v1/imports/${job.id}`)).statusCode).toBe(404)
    expect((await c.request('DELETE', `/api/v1/directories/${dir}`)).statusCode).toBe(404)
  })
})
