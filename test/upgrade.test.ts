import { execFileSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../src/app/app.js'
import { loadConfig } from '../src/config.js'
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../src/store/migrations/index.js'
import { openStore } from '../src/store/index.js'
import type { Store } from '../src/store/store.js'
import { runCli } from './helpers/cli.js'
import { engineSkip, ownPostgresDatabase } from './helpers/engines.js'
import { makeTempDir } from './helpers/temp-dir.js'
import { FIXTURE_ADMIN_KEY } from './fixtures/upgrade/data.js'
import { sleep } from './helpers/sleep.js'

/**
 * A database made by an earlier release (test/fixtures/upgrade, made by its make.ts with that
 * release's code) opens with this one: migrated, its data intact and every part of it usable.
 */
const FIXTURES = join(import.meta.dirname, 'fixtures', 'upgrade')
const FIXTURE_SCHEMA = 4

interface Target {
  databaseUrl?: string
  dataDir: string
  cleanup: () => Promise<void>
}

const targets: Record<'sqlite' | 'postgres', () => Promise<Target>> = {
  sqlite: async () => {
    const dir = makeTempDir('upgrade')
    copyFileSync(join(FIXTURES, `schema-${FIXTURE_SCHEMA}.db`), join(dir.path, 'rollcall.db'))
    return { dataDir: dir.path, cleanup: async () => dir.remove() }
  },
  postgres: async () => {
    const db = await ownPostgresDatabase('upgrade')
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', join(FIXTURES, `schema-${FIXTURE_SCHEMA}.sql`), db.url], { stdio: 'pipe' })
    return { databaseUrl: db.url, dataDir: '.', cleanup: db.drop }
  },
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const run = engineSkip(engine) ? describe.skip : describe
  run(`${engine}: a database of schema ${FIXTURE_SCHEMA} (the previous release)`, () => {
    let target: Target
    let store: Store
    let app: App
    const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => {
      const r = await app.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${FIXTURE_ADMIN_KEY}` },
        ...(body === undefined ? {} : { payload: body as object }),
      })
      return r
    }
    const json = async (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => {
      const r = await call(method, url, body)
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(300)
      return r.json()
    }
    const waitFor = async (id: string) => {
      for (let i = 0; i < 400; i++) {
        const job = await json('GET', `/api/v1/imports/${id}`)
        if (['completed', 'failed', 'cancelled', 'reverted'].includes(job.state)) return job
        await sleep(25)
      }
      throw new Error(`job ${id} did not end`)
    }

    beforeAll(async () => {
      target = await targets[engine]()
      const pending = await openStore({ ...target, migrate: false })
      expect((await pending.pendingMigrations()).map((m) => m.version)).toEqual(
        MIGRATIONS.filter((m) => m.version > FIXTURE_SCHEMA).map((m) => m.version),
      )
      await pending.close()
      store = await openStore(target)
      app = await buildApp({ store, config: loadConfig({}, { adminKey: FIXTURE_ADMIN_KEY, jobPollMs: 20 }) })
      await app.app.ready()
    })
    afterAll(async () => {
      await app?.app.close()
      await store?.close()
      await target?.cleanup()
    })

    it('is migrated to the latest schema, and its users, fields, groups and history read as before', async () => {
      expect(await store.pendingMigrations()).toEqual([])
      expect(LATEST_SCHEMA_VERSION).toBeGreaterThan(FIXTURE_SCHEMA)
      const dir = await json('GET', '/api/v1/directories/staff')
      expect(dir).toMatchObject({ name: 'Staff', externalId: 'staff', historyRetentionDays: null })
      expect((await json('GET', '/api/v1/directories/staff/stats')).users).toBe(50)
      const [user0] = (await json('GET', '/api/v1/directories/staff/users?email=user0%40example.com')).data
      expect(user0).toMatchObject({
        firstName: 'First0',
        lastName: 'Renamed',
        metadata: { tier: 'gold' },
        fields: { department: 'Dept0', employeeNo: 'E000' },
      })
      expect((await json('GET', '/api/v1/directories/staff/users?email=user49%40example.com')).data).toEqual([])
      const history = (await json('GET', `/api/v1/directories/staff/users/${user0.id}/history`)).data
      expect(history.map((h: { action: string }) => h.action)).toEqual(['update', 'create'])
      const groups = (await json('GET', `/api/v1/directories/staff/users/${user0.id}/groups`)).data
      expect(groups.map((g: { name: string }) => g.name)).toEqual(['Engineering'])
      // The unique custom field's index came through: a second E001 is refused.
      const dup = await call('POST', '/api/v1/directories/staff/users', { email: 'dup@example.com', fields: { employeeNo: 'E001' } })
      expect(dup.statusCode).toBe(409)
      expect((await json('GET', '/api/v1/directories/staff/webhooks')).data).toHaveLength(1)
    })

    it('its finished imports keep their counts, results and failed rows; the dry run applies and the import reverts', async () => {
      const jobs = (await json('GET', '/api/v1/directories/staff/imports')).data
      const [dry, imp] = jobs
      expect(imp.counts).toMatchObject({ processed: 6, created: 1, updated: 3, failed: 2 })
      expect(dry.options.dryRun).toBe(true)
      const failed = await call('GET', `/api/v1/imports/${imp.id}/failed.csv`)
      expect(failed.body).toContain('not-an-email,Broken,DE')
      expect(failed.body).toContain('user4@example.com,Bad,Atlantis')
      const statuses = (await call('GET', `/api/v1/imports/${imp.id}/results`)).body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).status)
      expect(statuses).toEqual(['updated', 'updated', 'updated', 'created', 'failed', 'failed'])

      const apply = await waitFor((await json('POST', `/api/v1/imports/${dry.id}/apply`)).id)
      expect(apply.counts).toMatchObject({ created: 1, updated: 1, conflicts: 0 })
      const [user5] = (await json('GET', '/api/v1/directories/staff/users?email=user5%40example.com')).data
      expect(user5.firstName).toBe('Planned5')

      await json('POST', `/api/v1/imports/${imp.id}/revert`)
      expect((await waitFor(imp.id)).state).toBe('reverted')
      const [user1] = (await json('GET', '/api/v1/directories/staff/users?email=user1%40example.com')).data
      expect(user1.firstName).toBe('First1')
      expect((await json('GET', '/api/v1/directories/staff/users?email=new%40example.com')).data).toEqual([])
    })
  })
}

for (const engine of ['sqlite', 'postgres'] as const) {
  const run = engineSkip(engine) ? describe.skip : describe
  run(`${engine}: a database a newer release migrated`, () => {
    it('is refused at start with a clear message, untouched; migrate --dry-run prints what an upgrade runs', async () => {
      const target = await targets[engine]()
      try {
        const env = {
          ...process.env,
          ROLLCALL_DATA: target.dataDir,
          DATABASE_URL: target.databaseUrl ?? '',
        }
        const dry = await runCli(['migrate', '--dry-run'], env)
        expect(dry.code, dry.stderr).toBe(0)
        for (const m of MIGRATIONS.filter((x) => x.version > FIXTURE_SCHEMA)) {
          expect(dry.stdout).toContain(`-- migration ${m.version}: ${m.name} (${engine})`)
          expect(dry.stdout).toContain(m[engine].trim())
        }
        // Nothing was applied.
        const still = await openStore({ ...target, migrate: false })
        expect((await still.pendingMigrations()).length).toBeGreaterThan(0)
        // A newer release's migration, as it would have left the table.
        await still.migrate()
        const newer = LATEST_SCHEMA_VERSION + 1
        if (engine === 'sqlite')
          (still as unknown as { raw: { exec(s: string): void } }).raw.exec(
            `INSERT INTO schema_migrations VALUES (${newer}, 'from-the-future', '2030-01-01')`,
          )
        else {
          const { default: pg } = await import('pg')
          const c = new pg.Client({ connectionString: target.databaseUrl })
          await c.connect()
          await c.query(`INSERT INTO schema_migrations VALUES (${newer}, 'from-the-future', now())`)
          await c.end()
        }
        await still.close()

        const serve = await runCli(['serve', '--port', '0'], env)
        expect(serve.code).toBe(1)
        expect(serve.stderr).toContain(
          `rollcall: The database is at schema version ${newer}, newer than this release of Rollcall knows (${LATEST_SCHEMA_VERSION})`,
        )
        const migrate = await runCli(['migrate'], env)
        expect(migrate.code).toBe(1)
        expect(migrate.stderr).toContain('a newer release migrated it')
      } finally {
        await target.cleanup()
      }
    })
  })
}
