import { describe, expect, it } from 'vitest'
import { useRestartableServer } from '../helpers/cli.js'
import { ENGINES } from '../helpers/engines.js'
import { sleep } from '../helpers/sleep.js'
import { storeAt } from '../helpers/exact.js'

const KEY = 'mirror-resume-admin-key-0123456789'
const USERS = 12_000
/** Users the mirror file names; the rest are absent. */
const KEPT = 1_000

interface Job {
  state: string
  error: string | null
  counts: Record<string, number>
  absent: { phase: string; absent: number; deactivated: number } | null
}

/**
 * kill -9 in the middle of a mirror import's absent phase, start again, and the phase finishes
 * from where it was: every absent user deactivated exactly once (one history record each), a
 * result for each in order after the rows, and nobody the file named touched.
 */
for (const def of ENGINES) {
  const run = def.skip ? describe.skip : describe
  run(`${def.name}: a mirror import killed during its absent phase resumes it`, () => {
    const server = useRestartableServer('mirror-resume', KEY)
    const { start, api, dataDir, createDirectory } = server

    const job = async (url: string, id: string) => (await (await api(url, `/api/v1/imports/${id}`)).json()) as Job
    const uploadCsv = async (url: string, dir: string, body: string, query = '') => {
      const r = await api(url, `/api/v1/directories/${dir}/imports${query}`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body,
      })
      expect(r.status).toBe(202)
      return ((await r.json()) as { id: string }).id
    }
    const until = async (url: string, id: string, done: (j: Job) => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms
      let j = await job(url, id)
      while (!done(j) && Date.now() < deadline) {
        await sleep(10)
        j = await job(url, id)
      }
      return j
    }

    it('nobody deactivated twice, nobody left out', async () => {
      await server.ownDatabase(def.name)
      const first = await start()
      const dir = await createDirectory(first.url, 'Mirror resume')
      const emails = Array.from({ length: USERS }, (_, i) => `user${i}@example.com`)
      const seeded = await until(
        first.url,
        await uploadCsv(first.url, dir.id, `email\n${emails.join('\n')}\n`),
        (j) => j.state === 'completed',
      )
      expect(seeded.counts.created).toBe(USERS)

      const id = await uploadCsv(first.url, dir.id, `email\n${emails.slice(0, KEPT).join('\n')}\n`, '?absent=deactivate&maxAbsent=100%25')
      const seen = await until(first.url, id, (j) => (j.absent?.deactivated ?? 0) >= 500 || j.state === 'completed')
      first.child.kill('SIGKILL')
      await new Promise((r) => first.child.once('exit', r))
      expect(seen.absent?.phase).toBe('running')
      expect(seen.absent?.deactivated).toBeLessThan(USERS - KEPT)

      const second = await start()
      const done = await until(second.url, id, (j) => ['completed', 'failed'].includes(j.state))
      await second.stop()
      expect(done.state, done.error ?? '').toBe('completed')
      expect(done.counts).toMatchObject({ total: KEPT, processed: KEPT, unchanged: KEPT, failed: 0 })
      expect(done.absent).toMatchObject({ phase: 'done', absent: USERS - KEPT, deactivated: USERS - KEPT })

      const store = storeAt(server.databaseUrl(), dataDir)
      try {
        const history = await store.listChanges(dir.id, { jobId: id, limit: USERS * 2 })
        expect(history.items).toHaveLength(USERS - KEPT)
        expect(new Set(history.items.map((c) => c.userId)).size).toBe(USERS - KEPT)
        expect(history.items.every((c) => JSON.stringify(c.changes) === '{"active":[true,false]}')).toBe(true)
        const results = await store.jobs.results(id, { limit: USERS * 2 })
        expect(results.map((r) => r.index)).toEqual(Array.from({ length: USERS }, (_, i) => i))
        expect(results.filter((r) => r.status === 'deactivated')).toHaveLength(USERS - KEPT)
        expect(new Set(results.filter((r) => r.status === 'deactivated').map((r) => r.userId)).size).toBe(USERS - KEPT)
        const active = await store.listUsers(dir.id, { active: true, limit: USERS })
        expect(active.items.map((u) => u.email).sort()).toEqual(emails.slice(0, KEPT).sort())
      } finally {
        await store.close()
      }
    }, 180_000)
  })
}
