import { Readable } from 'node:stream'
import { expect, it } from 'vitest'
import type { Principal } from '../../src/core/keys.js'
import { DEFAULT_IMPORT_OPTIONS, type ImportOptions } from '../../src/core/jobs.js'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { upload, waitForJob } from '../helpers/jobs.js'
import { makeDirectory } from '../helpers/directories.js'

/**
 * The job service's two small pieces for doors: `upload(..., {beforeQueue})` can veto a stored
 * upload before any worker sees it, and `results(job, …)` reads per-row results without the
 * caller touching the store.
 */

const OPTIONS: ImportOptions = { ...DEFAULT_IMPORT_OPTIONS }

describeEachEngine('job service: beforeQueue and results', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  async function setup() {
    const c = await h.client()
    const id = (await makeDirectory(c, { name: 'Hooks' })).id
    const { services } = h.app()
    const p: Principal = { tenantId: c.tenantId, keyId: 'k', scopes: ['admin'], directories: null }
    return { c, services, p, dir: await services.directories.resolve(p, id) }
  }

  it('beforeQueue runs once the input is stored, while the job is still invisible; when it throws, the job is deleted and the error propagates', async () => {
    const { c, services, p, dir } = await setup()
    const visible: number[] = []
    const refused = services.jobs.upload(p, dir, {
      body: Readable.from(['email\n', 'a@x.io\n']),
      format: 'csv',
      options: OPTIONS,
      requestId: 'r1',
      beforeQueue: async () => {
        visible.push((await services.jobs.list(dir, { limit: 10 })).length)
        throw new Error('veto')
      },
    })
    await expect(refused).rejects.toThrow('veto')
    expect(visible).toEqual([0])
    expect(await services.jobs.list(dir, { limit: 10 })).toEqual([])

    let calls = 0
    const job = await services.jobs.upload(p, dir, {
      body: Readable.from(['email\n', 'a@x.io\n']),
      format: 'csv',
      options: OPTIONS,
      requestId: 'r2',
      beforeQueue: async () => void calls++,
    })
    expect(calls).toBe(1)
    // Queued, and past it if this process's worker has already leased it: never still uploading.
    expect(['queued', 'running', 'completed']).toContain(job.state)
    expect((await waitForJob(c, job.id)).counts).toMatchObject({ created: 1 })
    expect((await services.jobs.list(dir, { limit: 10 })).map((j) => j.id)).toEqual([job.id])
  })

  it('results pages a job’s per-row results by status, in input order', async () => {
    const { c, services, p, dir } = await setup()
    const queued = await upload(c, dir.id, 'email\na@x.io\nbad\nb@x.io\nworse\n')
    await waitForJob(c, queued.id)
    const job = await services.jobs.get(p, queued.id)
    const failed = await services.jobs.results(job, { status: 'failed', limit: 10 })
    expect(failed.map((r) => [r.index, r.line, r.status])).toEqual([
      [1, 3, 'failed'],
      [3, 5, 'failed'],
    ])
    expect((await services.jobs.results(job, { limit: 2 })).map((r) => r.index)).toEqual([0, 1])
    expect((await services.jobs.results(job, { afterIndex: 1, limit: 10 })).map((r) => r.status)).toEqual(['created', 'failed'])
  })
})
