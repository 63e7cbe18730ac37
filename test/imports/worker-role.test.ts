import { expect, it } from 'vitest'
import { buildApp, startWorkerRole } from '../../src/app/app.js'
import { loadConfig } from '../../src/config.js'
import { describeEachEngine } from '../helpers/engines.js'

/**
 * The composition root by role: `worker` runs jobs and builds no HTTP app; `api` builds the HTTP
 * app and runs no jobs; `all` both.
 */
describeEachEngine('roles of the composition root', (engine) => {
  it('role worker runs a job queued by an api node, and serves no HTTP', async () => {
    const store = engine.store()
    const api = await buildApp({ store, config: loadConfig({}, { role: 'api', batchSize: 50 }) })
    expect(api.worker).toBeNull()
    await api.app.ready()
    const tenant = await store.ensureTenant(`t-${crypto.randomUUID()}`)
    const { secret } = await api.services.keys.create(tenant.id, { name: 'admin', scopes: ['admin'] })
    const auth = { authorization: `Bearer ${secret}` }
    const dir = (await api.app.inject({ method: 'POST', url: '/api/v1/directories', headers: auth, payload: { name: 'Queued' } })).json()
      .id as string
    const queued = await api.app.inject({
      method: 'POST',
      url: `/api/v1/directories/${dir}/imports`,
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: 'email\na@x.io\nb@x.io\n',
    })
    expect(queued.statusCode, queued.body).toBe(202)
    const id = queued.json().id as string
    // The api node never runs it.
    await new Promise((r) => setTimeout(r, 300))
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/imports/${id}`, headers: auth })).json().state).toBe('queued')

    const worker = await startWorkerRole({ store, config: loadConfig({}, { role: 'worker', batchSize: 50, jobPollMs: 20 }) })
    try {
      expect('app' in worker).toBe(false)
      const deadline = Date.now() + 20_000
      let state = ''
      while (Date.now() < deadline) {
        state = (await api.app.inject({ method: 'GET', url: `/api/v1/imports/${id}`, headers: auth })).json().state as string
        if (state === 'completed') break
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(state).toBe('completed')
      const users = (await api.app.inject({ method: 'GET', url: `/api/v1/directories/${dir}/users`, headers: auth })).json().data as {
        email: string
      }[]
      expect(users.map((u) => u.email).sort()).toEqual(['a@x.io', 'b@x.io'])
    } finally {
      await worker.stop()
      await api.app.close()
    }
  })

  it('buildApp refuses role worker: that role has no HTTP app', async () => {
    await expect(buildApp({ store: engine.store(), config: loadConfig({}, { role: 'worker' }) })).rejects.toThrow(/serves no HTTP/)
  })
})
