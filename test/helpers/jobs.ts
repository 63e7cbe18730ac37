import { expect } from 'vitest'
import type { Client } from './app.js'
import { sleep } from './sleep.js'

export interface JobBody {
  id: string
  state: string
  error: string | null
  counts: {
    total: number | null
    processed: number
    created: number
    updated: number
    unchanged: number
    failed: number
    conflicts: number
  }
  rowsPerSecond: number | null
  etaSeconds: number | null
  startedAt: string | null
  finishedAt: string | null
}

const END = new Set(['completed', 'failed', 'cancelled', 'reverted'])

/** Polls an import until it reaches an end state (bounded: 30 s). */
export async function waitForJob(c: Client, id: string, until: (j: JobBody) => boolean = (j) => END.has(j.state)): Promise<JobBody> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await c.request('GET', `/api/v1/imports/${id}`)
    expect(r.statusCode).toBe(200)
    const job = r.json() as JobBody
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`import ${id} still ${job.state}: ${JSON.stringify(job)}`)
    await sleep(50)
  }
}

export async function upload(c: Client, dir: string, body: string | Buffer, contentType = 'text/csv', query = ''): Promise<JobBody> {
  const r = await c.request(
    'POST',
    `/api/v1/directories/${dir}/imports${query ? `?${query}` : ''}`,
    typeof body === 'string' ? body : body.toString('utf8'),
    { 'content-type': contentType },
  )
  expect(r.statusCode, r.body).toBe(202)
  expect(r.headers.location).toBe(`/api/v1/imports/${r.json().id}`)
  return r.json() as JobBody
}
