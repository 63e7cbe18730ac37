import { expect, it } from 'vitest'
import { type Client, useApp } from '../helpers/app.js'
import { makeDirectory } from '../helpers/directories.js'
import { describeEachEngine } from '../helpers/engines.js'
import { upload, waitForJob } from '../helpers/jobs.js'

interface Result {
  index: number
  line?: number | null
  status: string
  changedFields: string[]
  errors: { field: string; code: string }[]
  warnings?: { field: string; code: string }[]
}

const ndjsonLines = (body: string): Result[] =>
  body
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Result)

/** What a user compares between two runs of the same rows: per row its outcome, fields, error and warning codes. */
const outcome = (r: Result) => ({
  index: r.index,
  status: r.status,
  changedFields: r.changedFields,
  errors: r.errors.map((e) => `${e.field}:${e.code}`),
  warnings: (r.warnings ?? []).map((w) => `${w.field}:${w.code}`),
})

async function users(c: Client, dir: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  let cursor: string | null = null
  do {
    const r = await c.request('GET', `/api/v1/directories/${dir}/users?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
    expect(r.statusCode, r.body).toBe(200)
    const page = r.json() as { data: Record<string, unknown>[]; nextCursor: string | null }
    out.push(...page.data)
    cursor = page.nextCursor
  } while (cursor)
  return out
    .map(({ email, externalId, firstName, lastName, metadata, version }) => ({ email, externalId, firstName, lastName, metadata, version }))
    .sort((a, b) => String(a.email).localeCompare(String(b.email)))
}

/** 350 rows over 4 batches of 100: creates, updates, unchanged rows, failures, duplicates near and far, a rename. */
function rows(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (let i = 0; i < 350; i++) out.push({ email: `u${i}@x.io`, firstName: `F${i}`, metadata: { n: i } })
  out[5] = { email: 'alice@x.io', firstName: 'Alicia' } // updates a seeded user
  out[10] = { email: 'bob@x.io', firstName: 'Bob' } // as seeded: unchanged
  out[40] = { email: 'not-an-email', firstName: 'X' } // fails
  out[120] = { email: 'u7@x.io', lastName: 'Again' } // names row 7's user, a batch later
  out[150] = { email: 'u150@x.io', metadata: 'no' } // fails
  out[199] = { externalId: 'EC', email: 'carol2@x.io' } // renames carol (matched by external id)
  out[200] = { email: 'carol@x.io', firstName: 'NewCarol' } // carol's old email, next batch: a new user
  out[201] = { email: 'carol2@x.io', lastName: 'Renamed' } // carol under her new email
  out[260] = { email: 'u260@x.io' }
  out[261] = { email: 'U260@x.io', firstName: 'Case' } // the same user, another case
  out[349] = { email: 'u7@x.io', firstName: 'Far' } // row 7's user again, three batches on
  return out
}

const SEED = [
  { email: 'alice@x.io', firstName: 'Alice', externalId: 'EA' },
  { email: 'bob@x.io', firstName: 'Bob', externalId: 'EB' },
  { email: 'carol@x.io', firstName: 'Carol', externalId: 'EC' },
]

/**
 * Imports of any size plan on the planner's thread here (plannerThreadMinBytes 0): the thread
 * reads, validates and plans ahead while the job writes. What comes out must be what the engine
 * on one thread makes of the same rows (the sync bulk endpoint), row by row.
 */
describeEachEngine('imports planned on a thread of their own', (engine) => {
  const h = useApp(engine, { batchSize: 100, plannerThreadMinBytes: 0 })

  it('every row comes out as the one-thread engine plans it: statuses, fields, errors, warnings near and far, a rename; the same users and history', async () => {
    const c = await h.client()
    const viaImport = (await makeDirectory(c, { name: 'Thread' })).id
    const viaSync = (await makeDirectory(c, { name: 'One thread' })).id
    for (const dir of [viaImport, viaSync]) {
      const seed = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows: SEED, mode: 'upsert', match: 'email' })
      expect(seed.statusCode, seed.body).toBe(200)
    }
    const input = rows()
    const job = await waitForJob(
      c,
      (await upload(c, viaImport, input.map((r) => JSON.stringify(r)).join('\n'), 'application/x-ndjson', 'match=externalId,email')).id,
    )
    expect(job.state).toBe('completed')
    const sync = await c.request('POST', `/api/v1/directories/${viaSync}/users/bulk`, {
      rows: input,
      mode: 'upsert',
      match: ['externalId', 'email'],
    })
    expect(sync.statusCode, sync.body).toBe(200)
    const expected = (sync.json() as { results: Result[] }).results.map(outcome)
    const got = ndjsonLines((await c.request('GET', `/api/v1/imports/${job.id}/results`)).body)
    expect(got.map(outcome)).toEqual(expected)

    // What the rows did, spelled out: the comparison above must not pass on two wrong runs.
    const at = (i: number) => got[i]
    expect(at(5)).toMatchObject({ status: 'updated', changedFields: ['firstName'] })
    expect(at(10).status).toBe('unchanged')
    expect(at(40)).toMatchObject({ status: 'failed', line: 41 })
    expect(at(150)).toMatchObject({ status: 'failed', line: 151 })
    // A failed row keeps its text (the thread sends it with the plan): failed.csv gives it back.
    const failed = (await c.request('GET', `/api/v1/imports/${job.id}/failed.csv`)).body.trim().split('\n')
    expect(failed).toHaveLength(3)
    expect(failed[1]).toContain('not-an-email')
    expect(failed[1]).toContain('line 41')
    expect(failed[2]).toContain('line 151')
    expect(at(7).warnings?.map((w) => w.code)).toEqual(['duplicate_in_input', 'duplicate_in_input'])
    expect(at(120)).toMatchObject({ status: 'updated', warnings: [expect.objectContaining({ code: 'duplicate_in_input' })] })
    expect(at(349)).toMatchObject({ status: 'updated', changedFields: ['firstName'] })
    expect([at(199).status, at(200).status, at(201).status]).toEqual(['updated', 'created', 'updated'])
    expect(at(261)).toMatchObject({ status: 'updated', changedFields: ['email', 'firstName'] })
    expect(job.counts).toMatchObject({ total: 350, processed: 350, failed: 2, unchanged: 1 })
    expect(got.every((r, i) => r.index === i && r.line === i + 1)).toBe(true)

    expect(await users(c, viaImport)).toEqual(await users(c, viaSync))
    const history = async (dir: string) => {
      const r = await c.request('GET', `/api/v1/directories/${dir}/changes?limit=1000`)
      expect(r.statusCode, r.body).toBe(200)
      return (r.json() as { data: unknown[] }).data.length
    }
    expect(await history(viaImport)).toBe(await history(viaSync))
  })

  it('a cancel between two batches stops the thread: what committed is whole, nothing after it', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Cancel' })).id
    const lines = ['email,firstName']
    for (let i = 0; i < 20_000; i++) lines.push(`c${i}@x.io,F${i}`)
    const started = await upload(c, dir, lines.join('\n'))
    await waitForJob(c, started.id, (j) => j.counts.processed >= 200 || j.state !== 'running')
    const cancel = await c.request('POST', `/api/v1/imports/${started.id}/cancel`)
    expect(cancel.statusCode, cancel.body).toBeLessThan(300)
    const job = await waitForJob(c, started.id)
    expect(job.state).toBe('cancelled')
    const processed = job.counts.processed
    expect(processed).toBeGreaterThan(0)
    expect(processed).toBeLessThan(20_000)
    expect(processed % 100).toBe(0)
    const results = ndjsonLines((await c.request('GET', `/api/v1/imports/${job.id}/results`)).body)
    expect(results.map((r) => r.index)).toEqual([...Array(processed).keys()])
    expect((await users(c, dir)).length).toBe(processed)
  })

  it('an input the thread cannot read fails the job with the reason, before any write', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Bad input' })).id
    const job = await waitForJob(c, (await upload(c, dir, 'email,,firstName\na@x.io,1,A\n')).id)
    expect(job).toMatchObject({ state: 'failed', error: 'the header has an empty column name' })
    expect(await users(c, dir)).toEqual([])
  })
})
