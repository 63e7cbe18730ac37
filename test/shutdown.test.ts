import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI, REPO_ROOT, serveCli, useChildProcesses } from './helpers/cli.js'
import { ENGINES, ownPostgresDatabase } from './helpers/engines.js'
import { sleep } from './helpers/sleep.js'
import { expectCreatedExactlyOnce } from './helpers/exact.js'
import { useTempDir } from './helpers/temp-dir.js'

const KEY = 'shutdown-test-admin-key-0123456789'
const ROWS = 12_000

/** `rollcall serve` with ROLLCALL_ROLE=worker, resolved once it says it runs jobs. */
function startWorker(env: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [...CLI, 'serve'], { env: { ...env, ROLLCALL_ROLE: 'worker' }, cwd: REPO_ROOT })
  children.push(child)
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 20_000)
    child.stdout.on('data', () => {
      if (out.includes('is running jobs')) {
        clearTimeout(timer)
        resolve({ child, output: () => out })
      }
    })
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${out}`)))
  })
}

/** SIGTERM; resolves with the exit code and how long the process took to go. */
function terminate(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const t = Date.now()
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve({ code, ms: Date.now() - t }))
    child.kill('SIGTERM')
  })
}

/**
 * SIGTERM in the middle of an import: the batch in flight commits, the lease is given back, the
 * process exits 0; the job goes on within seconds (on PostgreSQL in another worker process, long
 * before the 30 s lease could have expired) and its counts come out exact.
 */
for (const def of ENGINES) {
  const run = def.skip ? describe.skip : describe
  run(`${def.name}: SIGTERM in the middle of an import`, () => {
    const dataDir = useTempDir('shutdown')
    let drop: (() => Promise<void>) | undefined
    afterAll(async () => {
      await drop?.()
    })
    const children = useChildProcesses()

    it('exits cleanly and the job resumes at once, exactly', async () => {
      let databaseUrl = ''
      if (def.name === 'postgres') {
        const db = await ownPostgresDatabase('shutdown')
        databaseUrl = db.url
        drop = db.drop
      }
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ROLLCALL_ADMIN_KEY: KEY,
        ROLLCALL_BATCH_SIZE: '100',
        ROLLCALL_JOB_LEASE_MS: '30000',
        ROLLCALL_JOB_POLL_MS: '200',
        LOG_LEVEL: 'info',
        DATABASE_URL: databaseUrl,
      }
      // SQLite: one process does it all. PostgreSQL: an API process and two worker processes.
      const server = await serveCli({ data: dataDir, env: def.name === 'postgres' ? { ...env, ROLLCALL_ROLE: 'api' } : env, children })
      const workers = def.name === 'postgres' ? await Promise.all([startWorker(env, children), startWorker(env, children)]) : []
      const api = (path: string, init: RequestInit = {}) =>
        fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, ...(init.headers as Record<string, string>) } })
      const dir = (await (
        await api('/api/v1/directories', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'S' }),
        })
      ).json()) as { id: string }
      const lines = ['email,firstName']
      for (let i = 0; i < ROWS; i++) lines.push(`user${i}@example.com,First${i}`)
      const up = await api(`/api/v1/directories/${dir.id}/imports`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: lines.join('\n'),
      })
      const { id } = (await up.json()) as { id: string }
      const job = async (base = server.url) =>
        (await (await fetch(`${base}/api/v1/imports/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
          state: string
          counts: Record<string, number>
        }
      const deadline = Date.now() + 60_000
      while ((await job()).counts.processed < 1500 && Date.now() < deadline) await sleep(10)

      let base = server.url
      if (def.name === 'sqlite') {
        const stopped = await terminate(server.child)
        expect(stopped.code).toBe(0)
        expect(stopped.ms).toBeLessThan(10_000)
        const at = Date.now()
        const again = await serveCli({ data: dataDir, env, children })
        base = again.url
        const before = (await job(base)).counts.processed
        while ((await job(base)).counts.processed === before && Date.now() < deadline) await sleep(20)
        expect(Date.now() - at).toBeLessThan(10_000)
      } else {
        const holder = workers.find((w) => w.output().includes(id))
        expect(holder, 'one worker leased the job').toBeDefined()
        const stopped = await terminate(holder!.child)
        expect(stopped.code).toBe(0)
        const at = Date.now()
        const before = (await job()).counts.processed
        // The other worker takes it over: the lease was released, not left to expire (30 s).
        while ((await job()).counts.processed === before && Date.now() < deadline) await sleep(20)
        expect(Date.now() - at).toBeLessThan(10_000)
        const other = workers.find((w) => w !== holder)!
        expect(other.output()).toContain(id)
      }
      let done = await job(base)
      while (!['completed', 'failed'].includes(done.state) && Date.now() < deadline) {
        await sleep(50)
        done = await job(base)
      }
      await expectCreatedExactlyOnce(done, { databaseUrl, dataDir }, { directoryId: dir.id, jobId: id }, ROWS)
    }, 120_000)
  })
}
