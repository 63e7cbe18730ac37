import { expect, it } from 'vitest'
import { describeEachEngine } from '../helpers/engines.js'
import { type Client, useApp } from '../helpers/app.js'
import { upload, waitForJob } from '../helpers/jobs.js'
import { makeDirectory } from '../helpers/directories.js'

const byEmail = async (c: Client, dir: string, email: string) =>
  (await c.request('GET', `/api/v1/directories/${dir}/users?email=${email}`)).json().data[0]

describeEachEngine('imports: revert and plan/apply', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  it('revert undoes every change of the import, leaves fields changed since as conflicts, deletes users it created', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Revert' })).id
    await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, {
      rows: [
        { email: 'a@x.io', firstName: 'Ada', metadata: { plan: 'free' } },
        { email: 'b@x.io', firstName: 'Bob', lastName: 'B' },
      ],
    })
    const job = await waitForJob(
      c,
      (
        await upload(
          c,
          dir,
          'email,firstName,lastName,metadata.plan\na@x.io,Adaline,L,pro\nb@x.io,Robert,,\nn@x.io,New,N,\nn@x.io,Newer,,\n',
        )
      ).id,
    )
    expect(job.counts).toMatchObject({ created: 1, updated: 3 })
    // Someone changes Bob's first name after the import, and edits the new user.
    const bob = await byEmail(c, dir, 'b@x.io')
    await c.request('PATCH', `/api/v1/directories/${dir}/users/${bob.id}`, { firstName: 'Bobby' })

    const r = await c.request('POST', `/api/v1/imports/${job.id}/revert`)
    expect(r.statusCode).toBe(202)
    expect(r.json().state).toBe('reverting')
    const done = await waitForJob(c, job.id)
    expect(done).toMatchObject({ state: 'reverted' })
    expect((done as unknown as { revert: unknown }).revert).toEqual({ users: 3, restored: 1, deleted: 1, conflicts: 1 })

    const ada = await byEmail(c, dir, 'a@x.io')
    expect(ada).toMatchObject({ firstName: 'Ada', lastName: null, metadata: { plan: 'free' } })
    expect((await byEmail(c, dir, 'b@x.io')).firstName).toBe('Bobby')
    expect(await byEmail(c, dir, 'n@x.io')).toBeUndefined()
    const conflicts = (await c.request('GET', `/api/v1/imports/${job.id}/conflicts`)).json()
    expect(conflicts.data).toEqual([{ userId: bob.id, field: 'firstName', expected: 'Robert', actual: 'Bobby' }])
    const hist = (await c.request('GET', `/api/v1/directories/${dir}/users/${ada.id}/history`)).json().data
    expect(hist[0]).toMatchObject({
      action: 'update',
      requestId: `revert:${job.id}`,
      changes: { firstName: ['Adaline', 'Ada'], lastName: ['L', null], 'metadata.plan': ['pro', 'free'] },
    })

    const again = await c.request('POST', `/api/v1/imports/${job.id}/revert`)
    expect(again.statusCode).toBe(409)
  })

  it('revert gives back a changed email and external id: the user is found by the old ones again, not the new', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Revert keys' })).id
    await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, {
      rows: [
        { email: 'old@x.io', externalId: 'K1', firstName: 'Kim' },
        { email: 'same@x.io', externalId: 'K2', firstName: 'Lee' },
      ],
    })
    const job = await waitForJob(
      c,
      (await upload(c, dir, 'externalId,email,firstName\nK1,new@x.io,Kim\nK2,same@x.io,Leo\n', 'text/csv', 'match=externalId')).id,
    )
    expect(job.counts).toMatchObject({ updated: 2 })
    expect(await byEmail(c, dir, 'old@x.io')).toBeUndefined()

    expect((await waitForJob(c, (await c.request('POST', `/api/v1/imports/${job.id}/revert`)).json().id)).state).toBe('reverted')
    expect(await byEmail(c, dir, 'old@x.io')).toMatchObject({ externalId: 'K1', firstName: 'Kim' })
    expect(await byEmail(c, dir, 'new@x.io')).toBeUndefined()
    expect(await byEmail(c, dir, 'same@x.io')).toMatchObject({ externalId: 'K2', firstName: 'Lee' })
    const byExternal = (await c.request('GET', `/api/v1/directories/${dir}/users?externalId=K1`)).json().data
    expect(byExternal.map((u: { email: string }) => u.email)).toEqual(['old@x.io'])
  })

  it('a dry run keeps its plan; apply writes exactly it, and a user changed since becomes a conflict', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Revert' })).id
    await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, {
      rows: [
        { email: 'a@x.io', firstName: 'Ada' },
        { email: 'b@x.io', firstName: 'Bob' },
      ],
    })
    const plan = await waitForJob(
      c,
      (await upload(c, dir, 'email,firstName\na@x.io,Adaline\nb@x.io,Robert\nc@x.io,Cy\nc@x.io,Cyrus\nbad,X\n', 'text/csv', 'dryRun=true'))
        .id,
    )
    expect(plan).toMatchObject({ state: 'completed', counts: { created: 1, updated: 3, failed: 1 } })
    expect((await byEmail(c, dir, 'a@x.io')).firstName).toBe('Ada')
    expect(await byEmail(c, dir, 'c@x.io')).toBeUndefined()
    const planned = (await c.request('GET', `/api/v1/imports/${plan.id}/results`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(planned[0]).toMatchObject({ status: 'updated', changes: { firstName: ['Ada', 'Adaline'] } })
    expect(planned[2]).toMatchObject({ status: 'created', changes: { email: [null, 'c@x.io'], firstName: [null, 'Cy'] } })

    // Bob changes after the plan was made.
    const bob = await byEmail(c, dir, 'b@x.io')
    await c.request('PATCH', `/api/v1/directories/${dir}/users/${bob.id}`, { lastName: 'Changed' })

    const applied = await c.request('POST', `/api/v1/imports/${plan.id}/apply`)
    expect(applied.statusCode).toBe(202)
    const job = await waitForJob(c, applied.json().id)
    expect(job).toMatchObject({ state: 'completed', counts: { total: 4, processed: 4, created: 1, updated: 2, failed: 1, conflicts: 1 } })
    expect((await byEmail(c, dir, 'a@x.io')).firstName).toBe('Adaline')
    expect(await byEmail(c, dir, 'b@x.io')).toMatchObject({ firstName: 'Bob', lastName: 'Changed' })
    const cy = await byEmail(c, dir, 'c@x.io')
    expect(cy).toMatchObject({ firstName: 'Cyrus', version: 2, id: planned[2].userId })
    const rows = (await c.request('GET', `/api/v1/imports/${job.id}/results?status=failed`)).body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows).toEqual([
      expect.objectContaining({ index: 1, status: 'failed', errors: [expect.objectContaining({ field: 'version', code: 'conflict' })] }),
    ])

    expect((await c.request('POST', `/api/v1/imports/${job.id}/apply`)).statusCode).toBe(409)
    const other = await h.client()
    expect((await other.request('POST', `/api/v1/imports/${plan.id}/apply`)).statusCode).toBe(404)
    expect((await other.request('POST', `/api/v1/imports/${plan.id}/revert`)).statusCode).toBe(404)
  })
})
