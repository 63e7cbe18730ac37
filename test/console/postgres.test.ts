import pg from 'pg'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { engineSkip } from '../helpers/engines.js'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/**
 * The console against `rollcall serve` on PostgreSQL: a database of its own (so the server
 * bootstraps its admin key), the main paths once — sign in, create a directory, the users table,
 * edit a user with a concurrent change refused, an import's change in history.
 */

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL })
  await c.connect()
  try {
    await c.query(text)
  } finally {
    await c.end()
  }
}

describe.skipIf(engineSkip('postgres') !== undefined)('web console on PostgreSQL (Chromium)', () => {
  const dbName = `rollcall_console_${Date.now()}_${process.pid}`
  const session = useConsole({
    prepare: async () => {
      await sql(`CREATE DATABASE ${dbName}`)
      const url = new URL(ADMIN_URL)
      url.pathname = `/${dbName}`
      return { DATABASE_URL: url.toString() }
    },
    cleanup: () => sql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
  })
  const { admin } = session
  let server: Server
  let page: Page

  beforeAll(() => {
    server = session.server
    page = session.page
    expect(server.output()).toContain('(PostgreSQL)')
  })

  it('signs in, creates a directory, lists its users, and shows a user with the import that changed it', async () => {
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByLabel('Name', { exact: true }).fill('Accounts')
    await page.getByLabel('External ID (optional)').fill('accounts')
    await page.getByRole('button', { name: 'Create directory' }).click()
    await page.getByRole('link', { name: 'Accounts', exact: true }).waitFor()

    const rows = Array.from({ length: 150 }, (_, i) => ({ email: `acct${String(i).padStart(3, '0')}@example.com`, country: 'SE' }))
    await admin('POST', '/directories/accounts/users/bulk', { mode: 'create', rows })
    const job = await admin<{ id: string }>('POST', '/directories/accounts/imports', 'email,country\nacct007@example.com,NO\n', 'text/csv')
    for (;;) {
      const j = await admin<{ state: string }>('GET', `/imports/${job.id}`)
      if (j.state === 'completed') break
      expect(['queued', 'running']).toContain(j.state)
      await new Promise((r) => setTimeout(r, 50)) // the job's state, polled: not a wait for the browser
    }

    await page.getByRole('link', { name: 'Accounts', exact: true }).click()
    await page.getByText('100 users loaded, more as you scroll').waitFor()
    await page.getByRole('link', { name: 'acct007@example.com' }).click()
    const newest = page.getByRole('list', { name: 'History' }).getByRole('listitem').first()
    await newest.getByRole('link', { name: /^Import / }).waitFor()
    expect(await newest.textContent()).toMatch(/country.*SE.*NO/)
  })

  it('an edit made against a stale version is refused and shown, then saved over', async () => {
    const [u] = (await admin<{ data: { id: string }[] }>('GET', '/directories/accounts/users?email=acct007@example.com')).data
    await page.getByRole('button', { name: 'Edit' }).click()
    const form = page.getByRole('form', { name: 'Edit user' })
    await form.getByLabel('First name').fill('Mine')
    await admin('PATCH', `/directories/accounts/users/${u.id}`, { firstName: 'Theirs' })
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.getByText('This user was changed since you opened it').waitFor()
    expect((await admin<{ firstName: string }>('GET', `/directories/accounts/users/${u.id}`)).firstName).toBe('Theirs')
    await form.getByRole('button', { name: 'Save mine over it' }).click()
    await form.waitFor({ state: 'detached' })
    expect((await admin<{ firstName: string }>('GET', `/directories/accounts/users/${u.id}`)).firstName).toBe('Mine')
  })
})
