import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FieldError } from '../src/core/errors.js'
import type { ImportOptions, JobResultRow } from '../src/core/jobs.js'
import { DEFAULT_IMPORT_OPTIONS, EMPTY_COUNTS } from '../src/core/jobs.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import { LeaseLost, type Store } from '../src/store/store.js'
import { describeEachEngine, type EngineHandle, ownPostgresDatabase } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

type NewJob = Parameters<Store['jobs']['create']>[0]

const OPTIONS: ImportOptions = { ...DEFAULT_IMPORT_OPTIONS, mapping: { Mail: 'email' } }

/**
 * A store of its own: leaseNext and releaseAll act on every job of the database, so they must
 * not meet the jobs of test files running beside this one (PostgreSQL is shared by the run).
 */
async function openOwnStore(engine: EngineHandle): Promise<{ store: Store; close: () => Promise<void> }> {
  if (engine.name === 'postgres') {
    const db = await ownPostgresDatabase('jobs')
    const store = new PostgresStore({ connectionString: db.url, max: 4 })
    await store.migrate()
    return { store, close: async () => (await store.close(), await db.drop()) }
  }
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-jobs-'))
  const store = new SqliteStore({ filename: join(dir, 'jobs.db') })
  await store.migrate()
  return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) }
}

describeEachEngine('Store contract: jobs', (engine) => {
  let own: Awaited<ReturnType<typeof openOwnStore>> | undefined
  beforeAll(async () => {
    own = await openOwnStore(engine)
  })
  afterAll(async () => {
    await own?.close()
  })
  const store = () => (own as NonNullable<typeof own>).store

  async function newJob(s: Store, patch: Partial<NewJob> = {}) {
    const dir = await freshDirectory(s)
    const j: NewJob = {
      id: randomUUID(),
      tenantId: dir.tenantId,
      directoryId: dir.id,
      kind: 'import',
      state: 'uploading',
      format: 'csv',
      options: OPTIONS,
      sourceJobId: null,
      keyId: 'key-1',
      requestId: 'req-1',
      ...patch,
    }
    return { dir, job: await s.jobs.create(j) }
  }

  it('create returns the job as stored; get is scoped by tenant; delete removes it', async () => {
    const s = store()
    const { dir, job } = await newJob(s)
    expect(job).toEqual({
      id: job.id,
      tenantId: dir.tenantId,
      directoryId: dir.id,
      kind: 'import',
      state: 'uploading',
      format: 'csv',
      options: OPTIONS,
      sourceJobId: null,
      inputBytes: 0,
      inputChunks: 0,
      columns: null,
      total: null,
      counts: EMPTY_COUNTS,
      checkpoint: 0,
      revert: null,
      absent: null,
      error: null,
      cancelRequested: false,
      leaseOwner: null,
      leaseUntil: null,
      attempts: 0,
      keyId: 'key-1',
      requestId: 'req-1',
      createdAt: expect.stringMatching(/Z$/),
      startedAt: null,
      finishedAt: null,
      updatedAt: job.createdAt,
      inputPurgedAt: null,
      resultsPurgedAt: null,
    })
    expect(await s.jobs.get(dir.tenantId, job.id)).toEqual(job)
    expect(await s.jobs.get(randomUUID(), job.id)).toBeNull()
    await s.jobs.delete(job.id)
    expect(await s.jobs.get(dir.tenantId, job.id)).toBeNull()
  })

  it('appendChunk and finishUpload store the input; chunks reads it back in order; a missing chunk is an error', async () => {
    const s = store()
    const { dir, job } = await newJob(s)
    await s.jobs.appendChunk(job.id, 1, Buffer.from('b,2\n'))
    await s.jobs.appendChunk(job.id, 0, Buffer.from('Mail,n\n'))
    await s.jobs.finishUpload(job.id, 10, 2)
    expect(await s.jobs.get(dir.tenantId, job.id)).toMatchObject({ state: 'queued', inputBytes: 10, inputChunks: 2 })
    const read: string[] = []
    for await (const c of s.jobs.chunks(job.id, 2)) read.push(c.toString())
    expect(read).toEqual(['Mail,n\n', 'b,2\n'])
    await expect(
      (async () => {
        for await (const _ of s.jobs.chunks(job.id, 3)) void _
      })(),
    ).rejects.toThrow(/chunk 2 is missing/)
    // Only an uploading job is finished: a second call changes nothing.
    await s.jobs.finishUpload(job.id, 99, 9)
    expect(await s.jobs.get(dir.tenantId, job.id)).toMatchObject({ inputBytes: 10, inputChunks: 2 })
    await s.jobs.transition(dir.tenantId, job.id, ['queued'], 'cancelled', true)
  })

  it('list: a directory’s visible jobs, newest first, by state and before a time, up to the limit', async () => {
    const s = store()
    const { dir, job: hidden } = await newJob(s)
    const mk = async (state: NewJob['state']) => {
      await new Promise((r) => setTimeout(r, 5))
      return s.jobs.create({
        id: randomUUID(),
        tenantId: dir.tenantId,
        directoryId: dir.id,
        kind: 'import',
        state,
        format: 'ndjson',
        options: OPTIONS,
        sourceJobId: null,
        keyId: null,
        requestId: null,
      })
    }
    const a = await mk('completed')
    const b = await mk('failed')
    const c = await mk('completed')
    await newJob(s, { state: 'completed' })
    expect((await s.jobs.list(dir.id, { limit: 10 })).map((j) => j.id)).toEqual([c.id, b.id, a.id])
    expect((await s.jobs.list(dir.id, { limit: 2 })).map((j) => j.id)).toEqual([c.id, b.id])
    expect((await s.jobs.list(dir.id, { state: 'completed', limit: 10 })).map((j) => j.id)).toEqual([c.id, a.id])
    expect((await s.jobs.list(dir.id, { beforeCreatedAt: c.createdAt, limit: 10 })).map((j) => j.id)).toEqual([b.id, a.id])
    expect((await s.jobs.list(dir.id, { state: 'uploading', limit: 10 })).map((j) => j.id)).not.toContain(hidden.id)
  })

  it('leases: oldest runnable first, one owner at a time, heartbeat while held, update refuses a lost lease, releaseAll frees all', async () => {
    const s = store()
    const { dir, job: first } = await newJob(s, { state: 'queued' })
    await new Promise((r) => setTimeout(r, 5))
    const { job: second } = await newJob(s, { state: 'queued' })
    const leased = await s.jobs.leaseNext('w1', 60_000)
    expect(leased).toMatchObject({ id: first.id, state: 'running', leaseOwner: 'w1', attempts: 1, startedAt: expect.any(String) })
    expect(Date.parse(leased?.leaseUntil as string)).toBeGreaterThan(Date.now())
    expect((await s.jobs.leaseNext('w2', 60_000))?.id).toBe(second.id)
    expect(await s.jobs.leaseNext('w3', 60_000)).toBeNull()
    expect(await s.jobs.heartbeat(first.id, 'w1', 60_000)).toBe(true)
    expect(await s.jobs.heartbeat(first.id, 'w2', 60_000)).toBe(false)
    await expect(s.jobs.update(first.id, 'w2', { error: 'x' })).rejects.toBeInstanceOf(LeaseLost)
    await s.jobs.update(first.id, 'w1', {
      total: 5,
      columns: ['Mail'],
      checkpoint: 3,
      counts: { ...EMPTY_COUNTS, processed: 3, created: 2, failed: 1 },
    })
    expect(await s.jobs.get(dir.tenantId, first.id)).toMatchObject({
      total: 5,
      columns: ['Mail'],
      checkpoint: 3,
      counts: { processed: 3, created: 2, updated: 0, unchanged: 0, failed: 1, conflicts: 0 },
    })
    // An expired lease on a running job is taken over.
    await s.jobs.update(second.id, 'w2', {}) // still held
    expect(await s.jobs.heartbeat(second.id, 'w2', -1000)).toBe(true)
    expect(await s.jobs.leaseNext('w3', 60_000)).toMatchObject({ id: second.id, leaseOwner: 'w3', attempts: 2, state: 'running' })
    await expect(s.jobs.update(second.id, 'w2', {})).rejects.toBeInstanceOf(LeaseLost)
    await s.jobs.releaseAll()
    expect(await s.jobs.get(dir.tenantId, first.id)).toMatchObject({ leaseOwner: null, leaseUntil: null })
    // A running job without an owner is resumed.
    expect((await s.jobs.leaseNext('w4', 60_000))?.leaseOwner).toBe('w4')
    await s.jobs.update(first.id, null, {
      state: 'completed',
      finished: true,
      release: true,
      revert: { users: 1, restored: 1, deleted: 0, conflicts: 0 },
      error: null,
    })
    expect(await s.jobs.get(dir.tenantId, first.id)).toMatchObject({
      state: 'completed',
      finishedAt: expect.any(String),
      leaseOwner: null,
      revert: { users: 1, restored: 1, deleted: 0, conflicts: 0 },
    })
    await s.jobs.update(second.id, null, { state: 'failed', error: 'gave up', finished: true, release: true })
    expect(await s.jobs.get(second.tenantId, second.id)).toMatchObject({ state: 'failed', error: 'gave up' })
    expect(await s.jobs.leaseNext('w5', 60_000)).toBeNull()
  })

  it('requestCancel flags the job within its tenant; transition moves only from the expected states', async () => {
    const s = store()
    const { dir, job } = await newJob(s)
    await s.jobs.requestCancel(randomUUID(), job.id)
    expect((await s.jobs.get(dir.tenantId, job.id))?.cancelRequested).toBe(false)
    await s.jobs.requestCancel(dir.tenantId, job.id)
    expect((await s.jobs.get(dir.tenantId, job.id))?.cancelRequested).toBe(true)
    expect(await s.jobs.transition(dir.tenantId, job.id, ['queued', 'running'], 'cancelled')).toBe(false)
    expect(await s.jobs.transition(randomUUID(), job.id, ['uploading'], 'cancelled')).toBe(false)
    expect(await s.jobs.transition(dir.tenantId, job.id, ['uploading'], 'cancelled')).toBe(true)
    expect(await s.jobs.get(dir.tenantId, job.id)).toMatchObject({ state: 'cancelled', finishedAt: null })
    expect(await s.jobs.transition(dir.tenantId, job.id, ['cancelled'], 'failed', true)).toBe(true)
    expect((await s.jobs.get(dir.tenantId, job.id))?.finishedAt).toEqual(expect.any(String))
  })

  it('recordBatch stores results with the counts in the caller’s transaction; results page by index and status; addWarning keeps ten', async () => {
    const s = store()
    const { dir, job } = await newJob(s, { state: 'queued' })
    const leased = await s.jobs.leaseNext('w', 60_000)
    expect(leased?.id).toBe(job.id)
    const row = (index: number, status: JobResultRow['status']): JobResultRow => ({
      index,
      line: index + 2,
      status,
      userId: status === 'failed' ? null : `u${index}`,
      changedFields: status === 'created' ? ['email'] : [],
      errors: status === 'failed' ? [{ field: 'email', code: 'invalid', message: 'bad' }] : [],
      warnings: [],
      plan: index === 0 ? { data: { email: 'a@x.io' }, userId: null, baseVersion: null, changes: { email: [null, 'a@x.io'] } } : null,
      raw: status === 'failed' ? '["x"]' : null,
    })
    const rows = [row(0, 'created'), row(1, 'failed'), row(2, 'unchanged'), row(3, 'failed')]
    const counts = { ...EMPTY_COUNTS, processed: 4, created: 1, unchanged: 1, failed: 2 }
    await expect(
      s.transaction(async (tx) => {
        await tx.jobs.recordBatch(job.id, 'w', rows, counts, 4)
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await s.jobs.results(job.id, { limit: 10 })).toEqual([])
    await s.transaction((tx) => tx.jobs.recordBatch(job.id, 'w', rows, counts, 4))
    await expect(s.transaction((tx) => tx.jobs.recordBatch(job.id, 'other', [], counts, 4))).rejects.toBeInstanceOf(LeaseLost)
    expect(await s.jobs.get(dir.tenantId, job.id)).toMatchObject({ checkpoint: 4, counts })
    expect(await s.jobs.results(job.id, { limit: 10 })).toEqual(rows)
    expect(await s.jobs.results(job.id, { limit: 2, afterIndex: 0 })).toEqual([rows[1], rows[2]])
    expect(await s.jobs.results(job.id, { status: 'failed', limit: 10 })).toEqual([rows[1], rows[3]])
    const w = (i: number): FieldError => ({ field: 'email', code: 'duplicate_in_input', message: `again ${i}` })
    for (let i = 0; i < 12; i++) await s.jobs.addWarning(job.id, 2, w(i))
    await s.jobs.addWarning(job.id, 99, w(0))
    expect((await s.jobs.results(job.id, { afterIndex: 1, limit: 1 }))[0].warnings).toEqual(Array.from({ length: 10 }, (_, i) => w(i)))
    await s.jobs.update(job.id, 'w', { state: 'completed', finished: true, release: true })
  })

  it('results kept per batch: pages across batches in input order, by status and warning, equal what was recorded', async () => {
    const s = store()
    const { job } = await newJob(s, { state: 'queued' })
    expect((await s.jobs.leaseNext('w', 60_000))?.id).toBe(job.id)
    const STATUSES = ['created', 'updated', 'unchanged', 'failed'] as const
    const row = (index: number): JobResultRow => {
      const status = STATUSES[index % 7 === 3 ? 3 : index % 3]
      return {
        index,
        // CSV lines: a quoted cell with a line break every 50th row.
        line: index + 2 + Math.floor(index / 50),
        status,
        userId: status === 'failed' ? null : `user-${index}`,
        changedFields: status === 'created' ? ['email', 'firstName'] : status === 'updated' ? [index % 2 ? 'lastName' : 'country'] : [],
        errors: status === 'failed' ? [{ field: 'email', code: 'invalid_format', message: `bad ${index}` }] : [],
        warnings: [],
        plan: null,
        raw: status === 'failed' ? `["bad-${index}"]` : null,
      }
    }
    const all = Array.from({ length: 1250 }, (_, i) => row(i))
    let at = 0
    for (const size of [500, 500, 250]) {
      const batch = all.slice(at, at + size)
      at += size
      await s.transaction((tx) => tx.jobs.recordBatch(job.id, 'w', batch, { ...EMPTY_COUNTS, processed: at }, at))
    }
    // A later row named the same user as rows of earlier batches: they get the warning.
    const w: FieldError = { field: 'email', code: 'duplicate_in_input', message: 'row 1200 names the same user again' }
    for (const i of [2, 499, 500, 1100]) await s.jobs.addWarning(job.id, i, w)
    for (const i of [2, 499, 500, 1100]) all[i] = { ...all[i], warnings: [w] }

    const readAll = async (q: { status?: string; withWarnings?: boolean }, limit: number) => {
      const out: JobResultRow[] = []
      for (let after: number | undefined; ;) {
        const page = await s.jobs.results(job.id, { ...q, afterIndex: after, limit })
        out.push(...page)
        if (page.length < limit) return out
        after = page[page.length - 1].index
      }
    }
    expect(await readAll({}, 1000)).toEqual(all)
    expect(await readAll({}, 333)).toEqual(all)
    for (const status of STATUSES) expect(await readAll({ status }, 97)).toEqual(all.filter((r) => r.status === status))
    expect(await readAll({ withWarnings: true }, 2)).toEqual([all[2], all[499], all[500], all[1100]])
    expect(await s.jobs.results(job.id, { afterIndex: 498, limit: 3 })).toEqual(all.slice(499, 502))
    expect(await s.jobs.results(job.id, { afterIndex: 1249, limit: 3 })).toEqual([])
    await s.jobs.update(job.id, 'w', { state: 'completed', finished: true, release: true })
  })

  it('revert reads: changedUsers pages a job’s users in id order; changesOf gives their records oldest first; conflicts page by seq', async () => {
    const s = store()
    const dir = await freshDirectory(s)
    const jobId = randomUUID()
    const ids = (await bulk(s, dir, [{ email: 'a@x.io' }, { email: 'b@x.io' }, { email: 'c@x.io' }])).results.map((r) => r.userId as string)
    const at = new Date().toISOString()
    const ch = (userId: string, firstName: string) => ({
      channel: 'native' as const,
      keyId: null,
      requestId: null,
      jobId,
      userId,
      action: 'update' as const,
      at,
      changes: { firstName: [null, firstName] as [null, string] },
    })
    await s.transaction((tx) =>
      tx.writeBatch({ directoryId: dir.id, inserts: [], updates: [], changes: [ch(ids[0], 'x'), ch(ids[2], 'y'), ch(ids[0], 'z')] }),
    )
    const sorted = [ids[0], ids[2]].sort()
    expect(await s.jobs.changedUsers(dir.id, jobId, null, 10)).toEqual(sorted)
    expect(await s.jobs.changedUsers(dir.id, jobId, null, 1)).toEqual([sorted[0]])
    expect(await s.jobs.changedUsers(dir.id, jobId, sorted[0], 10)).toEqual([sorted[1]])
    expect(await s.jobs.changedUsers((await freshDirectory(s)).id, jobId, null, 10)).toEqual([])
    const recs = await s.jobs.changesOf(dir.id, jobId, [ids[0], ids[1]])
    expect(recs.map((r) => [r.userId, r.changes.firstName?.[1]])).toEqual([
      [ids[0], 'x'],
      [ids[0], 'z'],
    ])
    expect(recs[0]).toMatchObject({ directoryId: dir.id, jobId, action: 'update', at })
    expect(await s.jobs.changesOf(dir.id, jobId, [])).toEqual([])
    const { job } = await newJob(s, { state: 'completed' })
    await s.jobs.addConflicts(job.id, 0, [])
    await s.jobs.addConflicts(job.id, 0, [
      { userId: 'u1', field: 'email', expected: 'a@x.io', actual: 'b@x.io' },
      { userId: 'u2', field: '', expected: undefined, actual: { n: [1] } },
    ])
    await s.jobs.addConflicts(job.id, 2, [{ userId: 'u3', field: 'fields.n', expected: 1, actual: null }])
    expect(await s.jobs.conflicts(job.id, { limit: 10 })).toEqual([
      { seq: 0, userId: 'u1', field: 'email', expected: 'a@x.io', actual: 'b@x.io' },
      { seq: 1, userId: 'u2', field: '', expected: null, actual: { n: [1] } },
      { seq: 2, userId: 'u3', field: 'fields.n', expected: 1, actual: null },
    ])
    expect((await s.jobs.conflicts(job.id, { afterSeq: 0, limit: 1 })).map((c) => c.seq)).toEqual([1])
  })

  it('webhooks: listed per directory oldest first, deleted within their directory only', async () => {
    const s = store()
    const dir = await freshDirectory(s)
    const other = await freshDirectory(s)
    const hook = (createdAt: string) => ({
      id: randomUUID(),
      directoryId: dir.id,
      url: 'https://example.com/h',
      secret: 's3cret',
      createdAt,
    })
    const b = hook('2026-01-02T00:00:00.000Z')
    const a = hook('2026-01-01T00:00:00.000Z')
    await s.webhooks.add(b)
    await s.webhooks.add({ ...a, events: ['user.created', 'import.failed'], batchSize: 7 })
    // Made without events: the import.* events, 100 user events a POST; nothing delivered yet.
    const fresh = { feed: null, importSeq: 0, failures: 0, failingSince: null, nextAttemptAt: null, lastError: null, lastDeliveredAt: null }
    const imports = ['import.completed', 'import.failed', 'import.cancelled', 'import.reverted', 'import.needs_confirmation']
    expect(await s.webhooks.list(dir.id)).toEqual([
      { ...a, events: ['user.created', 'import.failed'], batchSize: 7, ...fresh },
      { ...b, events: imports, batchSize: 100, ...fresh },
    ])
    expect(await s.webhooks.list(other.id)).toEqual([])
    expect(await s.webhooks.delete(other.id, a.id)).toBe(false)
    expect(await s.webhooks.delete(dir.id, a.id)).toBe(true)
    expect(await s.webhooks.delete(dir.id, a.id)).toBe(false)
    expect((await s.webhooks.list(dir.id)).map((w) => w.id)).toEqual([b.id])
  })
})
