import { randomBytes, randomUUID } from 'node:crypto'
import { afterEach, expect, it, vi } from 'vitest'
import { createMetrics } from '../src/http/metrics.js'
import { Retention } from '../src/jobs/retention.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { type Client, useApp } from './helpers/app.js'
import { makeDirectory } from './helpers/directories.js'
import { describeEachEngine } from './helpers/engines.js'
import { upload, waitForJob } from './helpers/jobs.js'
import { sleep } from './helpers/sleep.js'

const DAY = 86_400_000
const inDays = (days: number) => new Date(Date.now() + days * DAY)

afterEach(() => void vi.useRealTimers())

/** The first input chunk of a job, or the error reading it gives. */
const firstChunk = async (store: Store, jobId: string) => {
  try {
    return (await store.jobs.chunks(jobId, 1).next()).value as Buffer
  } catch (e) {
    return (e as Error).message
  }
}

const CSV = 'email,firstName,country\na@x.io,Ada,GB\nb@x.io,Bob,Atlantis\nc@x.io,Cy,US\nnot-an-email,Dee,FR\n'

async function imported(c: Client, dir: string, body = CSV, query = '') {
  return waitForJob(c, (await upload(c, dir, body, 'text/csv', query)).id)
}

/** Polls the job until `until` holds (bounded): the worker's sweep runs beside the test. */
async function jobWhen(c: Client, id: string, until: (j: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const j = (await c.request('GET', `/api/v1/imports/${id}`)).json()
    if (until(j)) return j
    if (Date.now() > deadline) throw new Error(`job ${id}: ${JSON.stringify(j)}`)
    await sleep(25)
  }
}

describeEachEngine(
  'retention through the API',
  (engine) => {
    const h = useApp(engine, { resultRetentionDays: 30, idempotencyTtlHours: 24 })

    it("deletes a job's input once it ends; results and failed.csv keep working from the failed rows' own cells", async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c)).id
      const job = await imported(c, dir)
      expect(job.counts).toMatchObject({ created: 2, failed: 2 })
      // The worker sweeps when a job ends.
      const view = await jobWhen(c, job.id, (j) => j.inputDeletedAt !== null)
      expect(view.resultsDeletedAt).toBeNull()
      expect(await firstChunk(engine.store(), job.id)).toMatch(/input chunk 0 is missing/)

      const failed = await c.request('GET', `/api/v1/imports/${job.id}/failed.csv`)
      expect(failed.statusCode).toBe(200)
      expect(failed.body).toContain('b@x.io,Bob,Atlantis')
      expect(failed.body).toContain('not-an-email,Dee,FR')
      const results = (await c.request('GET', `/api/v1/imports/${job.id}/results`)).body.trim().split('\n')
      expect(results.map((l) => JSON.parse(l).status)).toEqual(['created', 'failed', 'created', 'failed'])
    })

    it('expires results after the retention period: 410 with the date, counts and history stay, revert still works', async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c)).id
      const job = await imported(c, dir)
      const report = await h.app().retention!.sweep(inDays(31))
      expect(report.expiredResults).toBeGreaterThanOrEqual(1)
      const view = (await c.request('GET', `/api/v1/imports/${job.id}`)).json()
      expect(view.resultsDeletedAt).not.toBeNull()
      expect(view.counts).toMatchObject({ processed: 4, created: 2, failed: 2 })
      for (const path of ['results', 'results?format=csv', 'failed.csv', 'conflicts']) {
        const r = await c.request('GET', `/api/v1/imports/${job.id}/${path}`)
        expect(r.statusCode, path).toBe(410)
        expect(r.json().code).toBe('results_expired')
        expect(r.json().detail).toContain(view.resultsDeletedAt)
      }
      const ada = (await c.request('GET', `/api/v1/directories/${dir}/users?email=a@x.io`)).json().data[0]
      const history = (await c.request('GET', `/api/v1/directories/${dir}/users/${ada.id}/history`)).json().data
      expect(history).toHaveLength(1)
      expect(history[0].jobId).toBe(job.id)

      expect((await c.request('POST', `/api/v1/imports/${job.id}/revert`)).statusCode).toBe(202)
      expect((await waitForJob(c, job.id)).state).toBe('reverted')
      expect((await c.request('GET', `/api/v1/directories/${dir}/users?email=a@x.io`)).json().data).toEqual([])
    })

    it('a dry run whose plan expired, or is about to, cannot be applied; a fresh one can', async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c)).id
      const fresh = await imported(c, dir, 'email\nfresh@x.io\n', 'dryRun=true')
      const old = await imported(c, dir, 'email\nold@x.io\n', 'dryRun=true')
      // 29 days and 23 hours and a half later: the old plan expires within the hour.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 30 * DAY - 30 * 60_000)
      const late = await c.request('POST', `/api/v1/imports/${old.id}/apply`)
      expect(late.statusCode).toBe(410)
      expect(late.json().detail).toMatch(/expires under the retention setting/)
      vi.useRealTimers()

      await h.app().retention!.sweep(inDays(31))
      const gone = await c.request('POST', `/api/v1/imports/${old.id}/apply`)
      expect(gone.statusCode).toBe(410)
      expect(gone.json().code).toBe('results_expired')
      // The input of a dry run is deleted once it ends, yet its plan applies (from its results).
      const other = await imported(c, dir, 'email\nother@x.io\n', 'dryRun=true')
      await jobWhen(c, other.id, (j) => j.inputDeletedAt !== null)
      const applied = await c.request('POST', `/api/v1/imports/${other.id}/apply`)
      expect(applied.statusCode).toBe(202)
      expect((await waitForJob(c, applied.json().id)).counts).toMatchObject({ created: 1 })
      expect(fresh.state).toBe('completed')
    })

    it('an idempotency record expires after a day: the same key then makes a new request', async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c)).id
      const key = `k-${randomUUID()}`
      const first = await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'i@x.io' }, { 'idempotency-key': key })
      expect(first.statusCode).toBe(201)
      const reused = await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'j@x.io' }, { 'idempotency-key': key })
      expect(reused.statusCode).toBe(422)
      // A day later the record has expired even before a sweep deletes it.
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + DAY + 60_000)
      const later = await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'j@x.io' }, { 'idempotency-key': key })
      expect(later.statusCode).toBe(201)
      vi.useRealTimers()

      const other = `k-${randomUUID()}`
      expect(
        (await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'k@x.io' }, { 'idempotency-key': other })).statusCode,
      ).toBe(201)
      // `key`'s record is the one made a day later; `other`'s is expired now.
      const report = await h.app().retention!.sweep(new Date(Date.now() + DAY + 60_000))
      expect(report.idempotencyRecords).toBeGreaterThanOrEqual(1)
      const replay = await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'l@x.io' }, { 'idempotency-key': other })
      expect(replay.statusCode).toBe(201)
      expect(replay.headers['idempotent-replayed']).toBeUndefined()
    })

    it("/metrics counts the installation's jobs by state and the rows imports committed", async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c)).id
      const scrape = async () => {
        const text = (await h.app().app.inject('/metrics')).body
        const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN)
        return {
          rows: value(/^rollcall_job_rows_total (\S+)$/m),
          completed: value(/^rollcall_jobs\{state="completed"\} (\S+)$/m),
          queued: value(/^rollcall_jobs\{state="queued"\} (\S+)$/m),
          oldest: value(/^rollcall_job_oldest_queued_seconds (\S+)$/m),
        }
      }
      const before = await scrape()
      await imported(c, dir)
      await imported(c, dir, 'email\nz@x.io\n')
      const after = await scrape()
      expect(after.rows - before.rows).toBe(5)
      expect(after.completed - before.completed).toBe(2)
      expect(after).toMatchObject({ queued: 0, oldest: 0 })
    })

    it("a directory's history retention deletes older change records and refuses to revert an import older than it", async () => {
      const c = await h.client()
      const kept = (await makeDirectory(c, { name: 'Kept' })).id
      const dir = (await makeDirectory(c, { name: 'Short', historyRetentionDays: 7 })).id
      expect((await c.request('GET', `/api/v1/directories/${dir}`)).json().historyRetentionDays).toBe(7)
      const job = await imported(c, dir)
      await imported(c, kept)
      const feed = (await c.request('GET', `/api/v1/directories/${dir}/changes`)).json()
      expect(feed.data).toHaveLength(2)
      const report = await h.app().retention!.sweep(inDays(8))
      expect(report.historyRecords).toBe(2)
      // A change feed consumer whose cursor's record was deleted is told so, not skipped ahead.
      const expired = await c.request('GET', `/api/v1/directories/${dir}/changes?after=${feed.nextCursor}`)
      expect(expired.statusCode).toBe(410)
      expect(expired.json()).toMatchObject({ code: 'cursor_expired' })
      expect((await c.request('GET', `/api/v1/directories/${dir}/changes`)).json()).toEqual({ data: [], nextCursor: null })
      expect((await c.request('GET', `/api/v1/directories/${dir}/history`)).json().data).toEqual([])
      expect((await c.request('GET', `/api/v1/directories/${kept}/history`)).json().data).toHaveLength(2)
      expect((await c.request('GET', `/api/v1/directories/${dir}/users`)).json().data).toHaveLength(2)

      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(inDays(8))
      const revert = await c.request('POST', `/api/v1/imports/${job.id}/revert`)
      vi.useRealTimers()
      expect(revert.statusCode).toBe(410)
      expect(revert.json().detail).toMatch(/keeps 7 days of history/)

      const off = await c.request('PATCH', `/api/v1/directories/${dir}`, { historyRetentionDays: null })
      expect(off.json().historyRetentionDays).toBeNull()
      const bad = await c.request('PATCH', `/api/v1/directories/${dir}`, { historyRetentionDays: 0 })
      expect(bad.statusCode).toBe(400)
    })
  },
  { ownDatabase: true },
)

describeEachEngine(
  'retention in the store',
  (engine) => {
    const sweeper = () => new Retention({ store: engine.store(), resultDays: 30, idempotencyHours: 24, intervalMs: 60_000 })

    /** A directory of a new tenant, and a job in it with `chunks` input chunks of 1 MiB, queued. */
    async function queuedJob(chunks: number) {
      const store = engine.store()
      const tenant = await store.ensureTenant(`t-${randomUUID()}`)
      const dir = await store.createDirectory(tenant.id, { name: 'D', externalId: null })
      const id = randomUUID()
      await store.jobs.create({
        id,
        tenantId: tenant.id,
        directoryId: dir.id,
        kind: 'import',
        state: 'uploading',
        format: 'csv',
        options: {} as never,
        sourceJobId: null,
        keyId: null,
        requestId: null,
      })
      for (let seq = 0; seq < chunks; seq++) await store.jobs.appendChunk(id, seq, randomBytes(1024 * 1024))
      return { store, tenant, id }
    }

    it('never touches a job that is still running, however old, nor an upload in progress', async () => {
      const running = await queuedJob(2)
      await running.store.jobs.finishUpload(running.id, 2 * 1024 * 1024, 2)
      const leased = await running.store.jobs.leaseNext(`owner-${randomUUID()}`, 600_000)
      expect(leased?.id).toBe(running.id)
      const uploading = await queuedJob(1)
      const r = sweeper()
      await r.sweep(new Date(Date.now() + 60 * 60_000))
      expect(await firstChunk(running.store, running.id)).toBeInstanceOf(Buffer)
      expect(await firstChunk(uploading.store, uploading.id)).toBeInstanceOf(Buffer)
      // A year later the upload is long abandoned: it goes, input and all. The running job stays.
      await r.sweep(inDays(365))
      expect(await uploading.store.jobs.get(uploading.tenant.id, uploading.id)).toBeNull()
      expect(await firstChunk(running.store, running.id)).toBeInstanceOf(Buffer)
    })

    it('/metrics tells how long the oldest queued job has waited', async () => {
      const { store } = await queuedJob(1)
      const metrics = createMetrics(() => store.jobs.stats())
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 3_600_000)
      const text = await metrics.registry.metrics()
      vi.useRealTimers()
      // The job is still uploading: not yet queued.
      expect(Number(/^rollcall_jobs\{state="uploading"\} (\S+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1)
      const queued = await queuedJob(1)
      await queued.store.jobs.finishUpload(queued.id, 1024 * 1024, 1)
      vi.useFakeTimers({ toFake: ['Date'] })
      vi.setSystemTime(Date.now() + 3_600_000)
      const later = await metrics.registry.metrics()
      vi.useRealTimers()
      expect(Number(/^rollcall_jobs\{state="queued"\} (\S+)$/m.exec(later)?.[1])).toBeGreaterThanOrEqual(1)
      const waited = Number(/^rollcall_job_oldest_queued_seconds (\S+)$/m.exec(later)?.[1])
      expect(waited).toBeGreaterThan(3590)
      expect(waited).toBeLessThan(3700)
    })

    it('a sweep cut off after one page (a crash) left the job unmarked; the next sweep finishes it', async () => {
      const { store, tenant, id } = await queuedJob(20)
      await store.jobs.finishUpload(id, 20 * 1024 * 1024, 20)
      expect(await store.jobs.transition(tenant.id, id, ['queued'], 'cancelled', true)).toBe(true)
      // What a sweep does first, then the process dies: one page of chunks deleted, nothing marked.
      expect(await store.retention.deleteInputPage(id, 8)).toBe(8)
      expect((await store.jobs.get(tenant.id, id))?.inputPurgedAt).toBeNull()
      expect(await store.retention.jobsWithInput(1000)).toContain(id)
      const report = await sweeper().sweep()
      expect(report.chunks).toBeGreaterThanOrEqual(12)
      expect((await store.jobs.get(tenant.id, id))?.inputPurgedAt).not.toBeNull()
      expect(await store.retention.deleteInputPage(id, 8)).toBe(0)
    })

    it('a cancelled job loses its input at the next sweep; on SQLite the file shrinks by it', async () => {
      const { store, tenant, id } = await queuedJob(6)
      await store.jobs.finishUpload(id, 6 * 1024 * 1024, 6)
      expect(await store.jobs.transition(tenant.id, id, ['queued'], 'cancelled', true)).toBe(true)
      const pages = () => (store instanceof SqliteStore ? Number(store.raw.pragma('page_count', { simple: true })) : 0)
      const before = pages()
      const report = await sweeper().sweep()
      expect(report).toMatchObject({ chunks: 6 })
      expect(await firstChunk(store, id)).toMatch(/missing/)
      expect((await store.jobs.get(tenant.id, id))?.inputPurgedAt).not.toBeNull()
      if (store instanceof SqliteStore) {
        expect(Number(store.raw.pragma('freelist_count', { simple: true }))).toBe(0)
        // 6 MiB of 4 KiB pages given back.
        expect(before - pages()).toBeGreaterThanOrEqual(1500)
      }
    })
  },
  { ownDatabase: true },
)
