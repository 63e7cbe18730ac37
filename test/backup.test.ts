import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, serveCli, useChildProcesses } from './helpers/cli.js'
import { ENGINES, ownPostgresDatabase } from './helpers/engines.js'
import { sleep } from './helpers/sleep.js'
import { expectCreatedExactlyOnce, storeAt } from './helpers/exact.js'
import { useTempDir } from './helpers/temp-dir.js'

const KEY = 'backup-test-admin-key-0123456789'

/**
 * `rollcall backup` in the middle of an import, `rollcall restore` into a new place, a server
 * started there: the directory is as it was at the backup, and the interrupted job resumes and
 * completes exactly (every row once, its history once, a result per row).
 */
for (const def of ENGINES) {
  const run = def.skip ? describe.skip : describe
  run(`${def.name}: backup while an import runs, restore elsewhere, resume`, () => {
    // Enough rows that the import still runs while the CLI starts and copies (SQLite imports faster).
    const ROWS = def.name === 'sqlite' ? 40_000 : 12_000
    const dataDir = useTempDir('backup-src')
    const restoredDir = useTempDir('backup-dst')
    const files = useTempDir('backup-files')
    const drops: (() => Promise<void>)[] = []
    afterAll(async () => {
      for (const drop of drops) await drop()
    })
    const children = useChildProcesses()

    const envOf = (data: string, databaseUrl: string): NodeJS.ProcessEnv => ({
      ...process.env,
      ROLLCALL_ADMIN_KEY: KEY,
      ROLLCALL_BATCH_SIZE: '100',
      ROLLCALL_JOB_LEASE_MS: '1500',
      LOG_LEVEL: 'warn',
      ROLLCALL_DATA: data,
      DATABASE_URL: databaseUrl,
    })
    const api = (url: string, path: string, init: RequestInit = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, ...(init.headers as Record<string, string>) } })
    const job = async (url: string, id: string) =>
      (await (await api(url, `/api/v1/imports/${id}`)).json()) as { state: string; counts: Record<string, number> }
    const until = async (url: string, id: string, done: (j: Awaited<ReturnType<typeof job>>) => boolean) => {
      const deadline = Date.now() + 60_000
      let j = await job(url, id)
      while (!done(j) && Date.now() < deadline) {
        await sleep(10)
        j = await job(url, id)
      }
      return j
    }

    it('the restored copy is consistent and its interrupted job completes exactly', async () => {
      let sourceUrl = ''
      let targetUrl = ''
      if (def.name === 'postgres') {
        const a = await ownPostgresDatabase('backupsrc')
        const b = await ownPostgresDatabase('backupdst')
        drops.push(a.drop, b.drop)
        sourceUrl = a.url
        targetUrl = b.url
      }
      const sourceEnv = envOf(dataDir, sourceUrl)
      const first = await serveCli({ data: dataDir, env: sourceEnv, children })
      const dir = (await (
        await api(first.url, '/api/v1/directories', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Backed up' }),
        })
      ).json()) as { id: string }
      const lines = ['email,firstName,externalId']
      for (let i = 0; i < ROWS; i++) lines.push(`user${i}@example.com,First${i},X${i}`)
      const up = await api(first.url, `/api/v1/directories/${dir.id}/imports`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: lines.join('\n'),
      })
      const { id } = (await up.json()) as { id: string }
      const before = await until(first.url, id, (j) => j.counts.processed >= 300)
      expect(before.counts.processed).toBeLessThan(ROWS)

      const out = join(files, 'rollcall.backup')
      const made = await runCli(['backup', '--out', out], sourceEnv)
      expect(made.code, made.stderr).toBe(0)
      expect(made.stdout).toContain(`to ${out}`)

      // A backup never overwrites, and a failed one leaves nothing behind.
      const again = await runCli(['backup', '--out', out], sourceEnv)
      expect(again.code).toBe(1)
      expect(again.stderr).toContain('exists already')
      const nowhere = await runCli(['backup', '--out', join(files, 'no-such-dir', 'x.backup')], sourceEnv)
      expect(nowhere.code).toBe(1)
      expect(nowhere.stderr).toContain('does not exist')
      expect(readdirSync(files)).toEqual(['rollcall.backup'])

      await until(first.url, id, (j) => j.state === 'completed')
      await first.stop()

      const targetEnv = envOf(restoredDir, targetUrl)
      const restored = await runCli(['restore', out], targetEnv)
      expect(restored.code, restored.stderr).toBe(0)
      // The copy holds the import as it was: running, part of it done, its users and its count agreeing.
      const copy = storeAt(targetUrl, restoredDir)
      try {
        const tenant = await copy.ensureTenant('default')
        const copied = await copy.jobs.get(tenant.id, id)
        expect(copied?.state).toBe('running')
        expect(copied?.counts.processed).toBeGreaterThan(0)
        expect(copied?.counts.processed).toBeLessThan(ROWS)
        expect(await copy.countUsers(dir.id)).toBe(copied?.counts.processed)
      } finally {
        await copy.close()
      }
      // Never into a place that holds a database.
      const twice = await runCli(['restore', out], targetEnv)
      expect(twice.code).toBe(1)
      expect(twice.stderr).toMatch(/exists; restore only into an empty data directory|is not empty/)
      const bogus = join(files, 'not-a-backup')
      writeFileSync(bogus, 'hello')
      expect((await runCli(['restore', bogus], envOf(join(restoredDir, 'other'), ''))).stderr).toContain('is not a Rollcall backup')

      const second = await serveCli({ data: restoredDir, env: targetEnv, children })
      const done = await until(second.url, id, (j) => ['completed', 'failed'].includes(j.state))
      await second.stop()
      await expectCreatedExactlyOnce(done, { databaseUrl: targetUrl, dataDir: restoredDir }, { directoryId: dir.id, jobId: id }, ROWS)
      expect(existsSync(join(restoredDir, 'rollcall.db'))).toBe(def.name === 'sqlite')
    }, 180_000)
  })
}
