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
 * Schema 4 is two releases back (several migrations at once); schema 5 the previous release,
 * with a directory provisioned over SCIM (its `active` kept in a custom field until schema 6).
 */
const FIXTURES = join(import.meta.dirname, 'fixtures', 'upgrade')
const FIXTURE_SCHEMAS = [4, 5] as const
const FIXTURE_SCHEMA = FIXTURE_SCHEMAS[FIXTURE_SCHEMAS.length - 1]

interface Target {
  databaseUrl?: string
  dataDir: string
  cleanup: () => Promise<void>
}

const targets: Record<'sqlite' | 'postgres', (schema?: number) => Promise<Target>> = {
  sqlite: async (schema = FIXTURE_SCHEMA) => {
    const dir = makeTempDir('upgrade')
    copyFileSync(join(FIXTURES, `schema-${schema}.db`), join(dir.path, 'rollcall.db'))
    return { dataDir: dir.path, cleanup: async () => dir.remove() }
  },
  postgres: async (schema = FIXTURE_SCHEMA) => {
    const db = await ownPostgresDatabase('upgrade')
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', join(FIXTURES, `schema-${schema}.sql`), db.url], { stdio: 'pipe' })
    return { databaseUrl: db.url, dataDir: '.', cleanup: db.drop }
  },
}

for (const schema of FIXTURE_SCHEMAS)
  for (const engine of ['sqlite', 'postgres'] as const) {
    const run = engineSkip(engine) ? describe.skip : describe
    run(`${engine}: a database of schema ${schema}${schema === FIXTURE_SCHEMA ? ' (the previous release)' : ''}`, () => {
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
        target = await targets[engine](schema)
        const pending = await openStore({ ...target, migrate: false })
        expect((await pending.pendingMigrations()).map((m) => m.version)).toEqual(
          MIGRATIONS.filter((m) => m.version > schema).map((m) => m.version),
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
        expect(LATEST_SCHEMA_VERSION).toBeGreaterThan(schema)
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
        // Every user is active: no directory of this one was provisioned over SCIM.
        expect((await json('GET', '/api/v1/directories/staff/users?active=false')).data).toEqual([])
        expect(user0.active).toBe(true)
      })

      if (schema === 5)
        it("SCIM's active moves from the custom field into the built-in, history renamed, the definition gone", async () => {
          const users = (await json('GET', '/api/v1/directories/okta/users')).data as {
            username: string | null
            email: string | null
            active: boolean
            fields: object
          }[]
          expect(users.map((u) => [u.username ?? u.email, u.active, u.fields])).toEqual([
            ['ada@example.com', true, {}],
            ['bob@example.com', false, {}],
            // Created by the native API: never told active, so active, as SCIM read it.
            ['cy@example.com', true, {}],
          ])
          const fields = (await json('GET', '/api/v1/directories/okta/fields')).data as { key: string; builtIn: boolean }[]
          expect(fields.filter((f) => f.key === 'active')).toMatchObject([{ key: 'active', builtIn: true }])
          expect(
            (await json('GET', '/api/v1/directories/okta/users?active=false')).data.map((u: { username: string }) => u.username),
          ).toEqual(['bob@example.com'])
          const bob = users[1] as unknown as { id: string }
          const history = (await json('GET', `/api/v1/directories/okta/users/${bob.id}/history`)).data as {
            action: string
            changes: object
          }[]
          expect(history.map((h) => [h.action, h.changes])).toEqual([
            ['update', { active: [true, false] }],
            ['create', { username: [null, 'bob@example.com'], firstName: [null, 'Bob'], active: [null, true] }],
          ])
          // Renamed where it stood: the record's other keys keep their order.
          expect(Object.keys(history[1].changes)).toEqual(['username', 'firstName', 'active'])
          // SCIM reads and filters the built-in.
          const okta = await json('GET', '/api/v1/directories/okta')
          const { secret } = await json('POST', '/api/v1/keys', { name: 'scim-after', scopes: ['read'], directories: [okta.id] })
          const r = await app.app.inject({
            method: 'GET',
            url: `/scim/v2/Users?filter=${encodeURIComponent('active eq false')}`,
            headers: { authorization: `Bearer ${secret}` },
          })
          expect(r.json().Resources.map((u: { userName: string; active: boolean }) => [u.userName, u.active])).toEqual([
            ['bob@example.com', false],
          ])
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
