import { describe, expect, it } from 'vitest'
import { createServices } from '../../src/jobs/services.js'
import { Worker } from '../../src/jobs/worker.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { ENGINES, ownPostgresDatabase } from '../helpers/engines.js'
import { sleep } from '../helpers/sleep.js'

const pgSkip = ENGINES.find((e) => e.name === 'postgres')?.skip
const JOBS = 6
const ROWS = 300

/** Workers on one PostgreSQL divide jobs through leases taken with SKIP LOCKED: no job runs twice. */
;(pgSkip ? describe.skip : describe)('postgres: several workers share one queue', () => {
  it('each job is run by exactly one worker, once; every row applied once', async () => {
    const db = await ownPostgresDatabase('workers')
    const stores = [0, 1, 2].map(() => new PostgresStore({ connectionString: db.url, max: 4 }))
    try {
      await stores[0].migrate()
      const services = createServices(stores[0], { batchSize: 50, maxImportBytes: 1024 ** 3 })
      const tenant = await stores[0].ensureTenant('t')
      const dir = await stores[0].createDirectory(tenant.id, { name: 'd', externalId: null })
      const principal = { tenantId: tenant.id, keyId: 'k', scopes: ['admin' as const], directories: null }
      const ids: string[] = []
      for (let j = 0; j < JOBS; j++) {
        const csv = ['email', ...Array.from({ length: ROWS }, (_, i) => `j${j}u${i}@x.io`)].join('\n')
        const job = await services.jobs.upload(principal, dir, {
          body: [csv],
          format: 'csv',
          options: {
            mode: 'create',
            match: ['email'],
            metadata: 'merge',
            atomic: false,
            maxErrors: null,
            dryRun: false,
            mapping: null,
            unmapped: 'fail',
            emptyMeans: 'skip',
            delimiter: null,
            quote: '"',
            header: true,
          },
          requestId: `r${j}`,
        })
        ids.push(job.id)
      }
      const ran = new Map<string, string[]>()
      const workers = stores.slice(1).map((store) => {
        const w: Worker = new Worker({
          store,
          batchSize: 50,
          pollMs: 20,
          onFinished: (job) => void ran.set(job.id, [...(ran.get(job.id) ?? []), w.id]),
        })
        return w
      })
      for (const w of workers) w.start()
      const deadline = Date.now() + 60_000
      while (ran.size < JOBS && Date.now() < deadline) await sleep(50)
      await Promise.all(workers.map((w) => w.stop()))

      expect([...ran.keys()].sort()).toEqual([...ids].sort())
      for (const [, by] of ran) expect(by).toHaveLength(1)
      for (const id of ids) {
        const job = await stores[0].jobs.get(tenant.id, id)
        expect(job).toMatchObject({ state: 'completed', attempts: 1, counts: { created: ROWS, failed: 0 } })
        expect((await stores[0].listChanges(dir.id, { jobId: id, limit: ROWS * 2 })).items).toHaveLength(ROWS)
      }
      expect(await stores[0].countUsers(dir.id)).toBe(JOBS * ROWS)
    } finally {
      for (const s of stores) await s.close()
      await db.drop()
    }
  }, 90_000)
})
