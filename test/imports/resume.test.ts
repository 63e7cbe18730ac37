import { describe, expect, it } from 'vitest'
import { useRestartableServer } from '../helpers/cli.js'
import { ENGINES } from '../helpers/engines.js'
import { sleep } from '../helpers/sleep.js'
import { expectCreatedExactlyOnce } from '../helpers/exact.js'

const KEY = 'resume-test-admin-key-0123456789'
const ROWS = 12_000

/**
 * kill -9 in the middle of an import, start again, and the job finishes from its checkpoint:
 * every row applied exactly once, no duplicate history, a result for every row. Also with the
 * import planned on its own thread (planner.ts), killed while the thread plans ahead of the writes.
 */
for (const def of ENGINES)
  for (const threaded of [false, true]) {
    const run = def.skip ? describe.skip : describe
    run(`${def.name}: an import killed with SIGKILL resumes from its checkpoint${threaded ? ', planned on its own thread' : ''}`, () => {
      const server = useRestartableServer('resume', KEY, { ROLLCALL_PLANNER_THREAD_MIN_BYTES: threaded ? '0' : '' })
      const { start, api, dataDir, createDirectory } = server

      async function job(url: string, id: string) {
        return (await (await api(url, `/api/v1/imports/${id}`)).json()) as { state: string; counts: Record<string, number> }
      }

      it('exact counts, no duplicate history, a result per row', async () => {
        await server.ownDatabase(def.name)
        const first = await start()
        const dir = await createDirectory(first.url, 'Resume')
        const lines = ['email,firstName,externalId']
        for (let i = 0; i < ROWS; i++) lines.push(`user${i}@example.com,First${i},X${i}`)
        const up = await api(first.url, `/api/v1/directories/${dir.id}/imports`, {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: lines.join('\n'),
        })
        expect(up.status).toBe(202)
        const { id } = (await up.json()) as { id: string }

        // Kill it somewhere in the middle.
        const deadline = Date.now() + 30_000
        let seen = await job(first.url, id)
        while (seen.counts.processed < 1500 && Date.now() < deadline) {
          await sleep(10)
          seen = await job(first.url, id)
        }
        first.child.kill('SIGKILL')
        await new Promise((r) => first.child.once('exit', r))
        expect(seen.counts.processed).toBeGreaterThan(0)
        expect(seen.counts.processed).toBeLessThan(ROWS)

        const second = await start()
        let done = await job(second.url, id)
        while (!['completed', 'failed'].includes(done.state) && Date.now() < deadline + 30_000) {
          await sleep(100)
          done = await job(second.url, id)
        }
        await second.stop()
        await expectCreatedExactlyOnce(done, { databaseUrl: server.databaseUrl(), dataDir }, { directoryId: dir.id, jobId: id }, ROWS)
      }, 120_000)
    })
  }
