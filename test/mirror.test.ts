import { expect, it } from 'vitest'
import type { AbsentSummary } from '../src/core/jobs.js'
import { type Client, useApp } from './helpers/app.js'
import { describeEachEngine } from './helpers/engines.js'
import { makeDirectory } from './helpers/directories.js'
import { type JobBody, upload, waitForJob } from './helpers/jobs.js'

interface User {
  id: string
  email: string
  active: boolean
  metadata: Record<string, unknown>
}

type Absent = Omit<AbsentSummary, 'afterSeq'>

type MirrorJob = JobBody & { absent: Absent | null }

const RESTING = new Set(['completed', 'failed', 'cancelled', 'reverted', 'needs_confirmation'])
const settle = async (c: Client, id: string) => (await waitForJob(c, id, (j) => RESTING.has(j.state))) as MirrorJob

/** Ten users: eight from the HR system (metadata.source hr), two from elsewhere. */
async function seed(c: Client, name: string) {
  const dir = (await makeDirectory(c, { name })).id
  const rows = []
  for (let i = 0; i < 8; i++) rows.push({ email: `hr${i}@example.com`, metadata: { source: 'hr' } })
  rows.push({ email: 'crm0@example.com', metadata: { source: 'crm' } }, { email: 'crm1@example.com', metadata: { source: 'crm' } })
  const r = await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows })
  expect(r.statusCode, r.body).toBe(200)
  return dir
}

async function usersOf(c: Client, dir: string): Promise<Map<string, User>> {
  const list = (await c.request('GET', `/api/v1/directories/${dir}/users?limit=100`)).json().data as User[]
  return new Map(list.map((u) => [u.email, u]))
}

const csv = (emails: string[]) => `email\n${emails.join('\n')}\n`
const hr = (...n: number[]) => n.map((i) => `hr${i}@example.com`)

async function results(c: Client, id: string, status?: string) {
  const r = await c.request('GET', `/api/v1/imports/${id}/results${status ? `?status=${status}` : ''}`)
  expect(r.statusCode, r.body).toBe(200)
  return r.body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { index: number; line: number | null; status: string; userId: string | null; changedFields: string[] })
}

/**
 * Mirror imports (absent=deactivate|delete): once the whole input is in, the scoped users no row
 * matched are deactivated or deleted, behind a safeguard, listed among the results, recorded in
 * history under the job, and reverted with it.
 */
describeEachEngine('mirror imports', (engine) => {
  const h = useApp(engine, { batchSize: 2 })

  it('deactivates the scoped users the file leaves out, lists them after the rows, and a revert reactivates them', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Mirror')
    const file = csv([...hr(0, 1, 2, 3, 4, 5), 'new@example.com'])
    const job = await settle(
      c,
      (await upload(c, dir, file, 'text/csv', `absent=deactivate&scope=${encodeURIComponent('{"metadata.source":"hr"}')}&maxAbsent=25%25`))
        .id,
    )
    expect(job.state, job.error ?? '').toBe('completed')
    expect(job.counts).toMatchObject({ total: 7, processed: 7, created: 1, unchanged: 6, failed: 0 })
    expect(job.absent).toMatchObject({ action: 'deactivate', phase: 'done', scoped: 8, absent: 2, limit: 2, deactivated: 2, deleted: 0 })

    const users = await usersOf(c, dir)
    const inactive = [...users.values()].filter((u) => !u.active).map((u) => u.email)
    expect(inactive.sort()).toEqual(hr(6, 7))
    // Out of scope: never absent, though the file does not name them.
    expect(users.get('crm0@example.com')?.active).toBe(true)

    const absentRows = await results(c, job.id, 'deactivated')
    expect(absentRows.map((r) => r.userId).sort()).toEqual([users.get(hr(6)[0])!.id, users.get(hr(7)[0])!.id].sort())
    expect(absentRows.map((r) => r.index)).toEqual([7, 8])
    expect(absentRows.every((r) => r.line === null && r.changedFields.join() === 'active')).toBe(true)
    expect(await results(c, job.id)).toHaveLength(9)

    const history = (await c.request('GET', `/api/v1/directories/${dir}/users/${users.get(hr(6)[0])!.id}/history`)).json().data
    expect(history[0]).toMatchObject({ action: 'update', jobId: job.id, changes: { active: [true, false] } })

    // Run again with the same file: nobody is absent any more (deactivated users are out of a deactivation's reach).
    const again = await settle(
      c,
      (await upload(c, dir, file, 'text/csv', `absent=deactivate&scope=${encodeURIComponent('{"metadata.source":"hr"}')}`)).id,
    )
    expect(again.absent).toMatchObject({ phase: 'done', scoped: 6, absent: 0, deactivated: 0 })

    const revert = await c.request('POST', `/api/v1/imports/${job.id}/revert`)
    expect(revert.statusCode, revert.body).toBe(202)
    expect((await waitForJob(c, job.id)).state).toBe('reverted')
    const after = await usersOf(c, dir)
    expect(after.get(hr(6)[0])?.active).toBe(true)
    expect(after.get(hr(7)[0])?.active).toBe(true)
    expect(after.has('new@example.com')).toBe(false)
  })

  it('stops over maxAbsent before changing anyone; confirm goes on, cancel ends it', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Safeguard')
    // Half the directory is absent: over the default 10 %.
    const job = await settle(c, (await upload(c, dir, csv(hr(0, 1, 2, 3, 4)), 'text/csv', 'absent=deactivate')).id)
    expect(job.state).toBe('needs_confirmation')
    expect(job.finishedAt).toBeNull()
    expect(job.absent).toMatchObject({ phase: 'needs_confirmation', scoped: 10, absent: 5, limit: 1, deactivated: 0, confirmed: false })
    expect(job.absent?.sample.map((u) => u.email).sort()).toEqual([...hr(5, 6, 7), 'crm0@example.com', 'crm1@example.com'].sort())
    expect([...(await usersOf(c, dir)).values()].every((u) => u.active)).toBe(true)

    const confirmed = await c.request('POST', `/api/v1/imports/${job.id}/confirm`)
    expect(confirmed.statusCode, confirmed.body).toBe(202)
    const done = await settle(c, job.id)
    expect(done.state).toBe('completed')
    expect(done.counts).toMatchObject({ processed: 5, unchanged: 5 })
    expect(done.absent).toMatchObject({ phase: 'done', confirmed: true, absent: 5, deactivated: 5 })
    expect([...(await usersOf(c, dir)).values()].filter((u) => !u.active)).toHaveLength(5)
    expect((await c.request('POST', `/api/v1/imports/${job.id}/confirm`)).statusCode).toBe(409)

    // Cancelled instead: its rows stay written, nobody is deactivated.
    const dir2 = await seed(c, 'Safeguard cancel')
    const second = await settle(
      c,
      (await upload(c, dir2, csv([...hr(0, 1), 'extra@example.com']), 'text/csv', 'absent=delete&maxAbsent=3')).id,
    )
    expect(second.state).toBe('needs_confirmation')
    expect(second.absent).toMatchObject({ action: 'delete', limit: 3, absent: 8 })
    const cancelled = await c.request('POST', `/api/v1/imports/${second.id}/cancel`)
    expect(cancelled.statusCode, cancelled.body).toBe(200)
    expect(cancelled.json().state).toBe('cancelled')
    const users = await usersOf(c, dir2)
    expect(users.size).toBe(11)
    expect([...users.values()].every((u) => u.active)).toBe(true)
    expect((await c.request('POST', `/api/v1/imports/${second.id}/confirm`)).statusCode).toBe(409)
  })

  it('a failed row stops the absent phase unless absentOnErrors; delete removes absent users with their history', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Errors')
    const file = `email\n${hr(0, 1, 2, 3, 4, 5, 6).join('\n')}\nnot-an-email\n`
    const scope = `scope=${encodeURIComponent('{"metadata.source":"hr"}')}`
    const skipped = await settle(c, (await upload(c, dir, file, 'text/csv', `absent=delete&${scope}`)).id)
    expect(skipped.state).toBe('completed')
    expect(skipped.counts.failed).toBe(1)
    expect(skipped.absent).toMatchObject({ phase: 'skipped', deleted: 0 })
    expect(skipped.absent?.reason).toMatch(/1 rows failed.*absentOnErrors/)
    expect((await usersOf(c, dir)).size).toBe(10)

    const forced = await settle(c, (await upload(c, dir, file, 'text/csv', `absent=delete&${scope}&absentOnErrors=true&maxAbsent=1`)).id)
    expect(forced.state).toBe('completed')
    expect(forced.absent).toMatchObject({ phase: 'done', absent: 1, deleted: 1 })
    const users = await usersOf(c, dir)
    expect(users.size).toBe(9)
    expect(users.has(hr(7)[0])).toBe(false)
    const deleted = await results(c, forced.id, 'deleted')
    expect(deleted).toHaveLength(1)
    const history = (await c.request('GET', `/api/v1/directories/${dir}/history?jobId=${forced.id}`)).json().data
    expect(history).toEqual([expect.objectContaining({ action: 'delete', userId: deleted[0].userId })])
    expect(history[0].changes.email).toEqual([hr(7)[0], null])

    // A revert makes the deleted user again: same id, same values.
    expect((await c.request('POST', `/api/v1/imports/${forced.id}/revert`)).statusCode).toBe(202)
    const reverted = (await waitForJob(c, forced.id)) as MirrorJob & { revert: { restored: number; conflicts: number } }
    expect(reverted.state).toBe('reverted')
    expect(reverted.revert).toMatchObject({ restored: 1, conflicts: 0 })
    const back = (await usersOf(c, dir)).get(hr(7)[0])
    expect(back).toMatchObject({ id: deleted[0].userId, active: true, metadata: { source: 'hr' } })
  })

  it('a dry run lists the absent users with what would happen, and changes nobody', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Dry run')
    const plan = await settle(c, (await upload(c, dir, csv(hr(0, 1, 2, 3, 4, 5, 6, 7)), 'text/csv', 'absent=deactivate&dryRun=true')).id)
    expect(plan.state).toBe('completed')
    expect(plan.absent).toMatchObject({ phase: 'done', absent: 2, deactivated: 2 })
    const rows = await results(c, plan.id, 'deactivated')
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({ status: 'deactivated', line: null, changes: { active: [true, false] } })
    expect([...(await usersOf(c, dir)).values()].every((u) => u.active)).toBe(true)

    // Applying the plan deactivates exactly the planned users.
    const apply = await c.request('POST', `/api/v1/imports/${plan.id}/apply`)
    expect(apply.statusCode, apply.body).toBe(202)
    const applied = await settle(c, apply.json().id)
    expect(applied.state).toBe('completed')
    expect(applied.absent).toMatchObject({ phase: 'done', deactivated: 2, deleted: 0 })
    expect((await results(c, applied.id, 'deactivated')).map((r) => r.userId).sort()).toEqual(rows.map((r) => r.userId).sort())
    const users = await usersOf(c, dir)
    expect(
      [...users.values()]
        .filter((u) => !u.active)
        .map((u) => u.email)
        .sort(),
    ).toEqual(['crm0@example.com', 'crm1@example.com'])

    // A deletion plan: a user changed since the plan is a conflict, left alone; the other is deleted.
    const deletion = await settle(
      c,
      (await upload(c, dir, csv(hr(0, 1, 2, 3, 4, 5)), 'text/csv', 'absent=delete&dryRun=true&maxAbsent=100%25')).id,
    )
    expect(deletion.absent).toMatchObject({ phase: 'done', absent: 4, deleted: 4 })
    const crm0 = users.get('crm0@example.com')!
    expect((await c.request('PATCH', `/api/v1/directories/${dir}/users/${crm0.id}`, { firstName: 'Changed' })).statusCode).toBe(200)
    const applyDeletion = await settle(c, (await c.request('POST', `/api/v1/imports/${deletion.id}/apply`)).json().id)
    expect(applyDeletion.state).toBe('completed')
    expect(applyDeletion.absent).toMatchObject({ deleted: 3 })
    // Absent users count in the absent summary; among the rows only their conflicts do.
    expect(applyDeletion.counts).toMatchObject({ total: 0, processed: 0, failed: 0, conflicts: 1 })
    const left = await usersOf(c, dir)
    expect([...left.keys()].sort()).toEqual([...hr(0, 1, 2, 3, 4, 5), 'crm0@example.com'].sort())
    const failed = await results(c, applyDeletion.id, 'failed')
    expect(failed).toEqual([expect.objectContaining({ userId: crm0.id })])
  })

  it('the sync bulk endpoint mirrors too: it runs as an import and answers with its results, or 202 while a confirmation is needed', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Sync bulk')
    const bulk = `/api/v1/directories/${dir}/users/bulk`
    const rows = [...hr(0, 1, 2, 3, 4).map((email) => ({ email, firstName: 'Kept' })), { email: 'new@example.com' }]
    const r = await c.request('POST', bulk, { rows, absent: 'deactivate', scope: { 'metadata.source': 'hr' }, maxAbsent: '50%' })
    expect(r.statusCode, r.body).toBe(200)
    const body = r.json()
    expect(body.summary).toEqual({ total: 6, created: 1, updated: 5, unchanged: 0, failed: 0 })
    expect(body.results.map((x: { index: number; status: string }) => [x.index, x.status])).toEqual([
      [0, 'updated'],
      [1, 'updated'],
      [2, 'updated'],
      [3, 'updated'],
      [4, 'updated'],
      [5, 'created'],
    ])
    expect(body.absent).toMatchObject({ action: 'deactivate', phase: 'done', scoped: 8, absent: 3, deactivated: 3 })
    expect((await c.request('GET', `/api/v1/imports/${body.importId}`)).json().state).toBe('completed')
    const users = await usersOf(c, dir)
    expect(
      [...users.values()]
        .filter((u) => !u.active)
        .map((u) => u.email)
        .sort(),
    ).toEqual(hr(5, 6, 7))

    // Over the limit: 202 with the job, which waits for a confirmation.
    const over = await c.request('POST', bulk, { rows: rows.slice(0, 1), absent: 'delete', maxAbsent: 2 })
    expect(over.statusCode, over.body).toBe(202)
    expect(over.json()).toMatchObject({ state: 'needs_confirmation', absent: { action: 'delete', limit: 2 } })
    expect(over.headers.location).toBe(`/api/v1/imports/${over.json().id}`)
    expect((await c.request('POST', `/api/v1/imports/${over.json().id}/cancel`)).statusCode).toBe(200)

    const bad = await c.request('POST', bulk, { rows, scope: { 'metadata.source': 'hr' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors).toEqual([expect.objectContaining({ field: 'scope' })])
  })

  it('refuses bad mirror options precisely, and a second mirror import of a directory while one waits', async () => {
    const c = await h.client()
    const dir = await seed(c, 'Options')
    const bad = async (query: string) => {
      const r = await c.request('POST', `/api/v1/directories/${dir}/imports?${query}`, csv(hr(0)), { 'content-type': 'text/csv' })
      expect(r.statusCode, r.body).toBe(400)
      return r.json().errors as { field: string; code: string; message: string }[]
    }
    expect(await bad('absent=deactivate&scope=%7B%22fields.nope%22%3A1%7D')).toEqual([
      expect.objectContaining({ field: 'scope.fields.nope', code: 'unknown_field' }),
    ])
    expect(await bad('absent=deactivate&scope=notjson')).toEqual([expect.objectContaining({ field: 'scope', code: 'invalid_json' })])
    expect(await bad('absent=deactivate&maxAbsent=ten')).toEqual([expect.objectContaining({ field: 'maxAbsent', code: 'invalid_value' })])
    expect(await bad('absent=deactivate&maxAbsent=150%25')).toEqual([expect.objectContaining({ field: 'maxAbsent' })])
    expect(await bad('maxAbsent=5')).toEqual([expect.objectContaining({ field: 'maxAbsent', message: expect.stringMatching(/mirror/) })])
    expect(
      (await c.request('POST', `/api/v1/directories/${dir}/imports?absent=hide`, csv(hr(0)), { 'content-type': 'text/csv' })).statusCode,
    ).toBe(400)

    const first = await settle(c, (await upload(c, dir, csv(hr(0)), 'text/csv', 'absent=deactivate')).id)
    expect(first.state).toBe('needs_confirmation')
    const second = await c.request('POST', `/api/v1/directories/${dir}/imports?absent=delete`, csv(hr(0)), { 'content-type': 'text/csv' })
    expect(second.statusCode, second.body).toBe(409)
    expect(second.json().detail).toContain(first.id)
    // A plain import is not a mirror: it may run meanwhile.
    expect((await settle(c, (await upload(c, dir, csv(hr(1)))).id)).state).toBe('completed')
    await c.request('POST', `/api/v1/imports/${first.id}/cancel`)
    expect((await settle(c, (await upload(c, dir, csv(hr(0)), 'text/csv', 'absent=deactivate&maxAbsent=100%25')).id)).state).toBe(
      'completed',
    )
  })
})
