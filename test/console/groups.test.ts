import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureConsoleBuilt, launchChromium, type Server, startServer } from './harness.js'

/** Groups in the console (Chromium against a real `rollcall serve` on SQLite). */

const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'rollcall-console-shots-'))
mkdirSync(SHOTS, { recursive: true })

describe('web console: groups (Chromium, SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-console-groups-'))
  let server: Server
  let browser: Browser
  let page: Page
  const ids: Record<string, string> = {}

  const admin = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }
  const groups = async () => (await admin<{ data: { id: string; name: string }[] }>('GET', '/directories/eng/groups')).data

  beforeAll(async () => {
    await ensureConsoleBuilt()
    server = await startServer(dataDir)
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    page.setDefaultTimeout(15_000)
    await admin('POST', '/directories', { name: 'Eng', externalId: 'eng' })
    for (const name of ['ada', 'bob', 'cy'])
      ids[name] = (await admin<{ id: string }>('POST', '/directories/eng/users', { email: `${name}@example.com` })).id
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Eng: Groups' }).click()
    await page.getByRole('heading', { name: 'Groups' }).waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("creates a group (a taken name shows the server's 409); adds members by email and removes one", async () => {
    await page.getByText('No groups yet.').waitFor()
    await page.getByLabel('Group name').fill('Backend')
    await page.getByRole('button', { name: 'Create group' }).click()
    await page.getByRole('link', { name: 'Backend' }).waitFor()
    await page.getByLabel('Group name').fill('Backend')
    await page.getByRole('button', { name: 'Create group' }).click()
    await page.getByRole('alert').waitFor()
    expect(await groups()).toHaveLength(1)

    await page.getByRole('link', { name: 'Backend' }).click()
    await page.getByRole('heading', { name: 'Backend' }).waitFor()
    await page.getByText('No members.').waitFor()
    for (const email of ['ada@example.com', 'bob@example.com']) {
      await page.getByLabel("Member's email").fill(email)
      await page.getByRole('button', { name: 'Add member' }).click()
      await page.getByRole('link', { name: email }).waitFor()
    }
    await page.getByLabel("Member's email").fill('nobody@example.com')
    await page.getByRole('button', { name: 'Add member' }).click()
    await page.getByRole('alert').filter({ hasText: 'No user of this directory has the email nobody@example.com' }).waitFor()
    await page.screenshot({ path: join(SHOTS, 'group.png'), fullPage: true })

    await page.getByRole('button', { name: 'Remove bob@example.com' }).click()
    await page.getByRole('link', { name: 'bob@example.com' }).waitFor({ state: 'detached' })
    const [g] = await groups()
    expect((await admin<{ members: string[] }>('GET', `/directories/eng/groups/${g.id}`)).members).toEqual([ids.ada])
  })

  it("a user's page lists the groups it belongs to, linking to them", async () => {
    await page.goto(`${server.url}/directories/eng/users/${ids.ada}`)
    const list = page.getByRole('list', { name: 'Groups' })
    await list.getByRole('link', { name: 'Backend' }).waitFor()
    await page.goto(`${server.url}/directories/eng/users/${ids.cy}`)
    await page.getByText('In no group.').waitFor()
  })

  it('renames and deletes a group; its users stay', async () => {
    const [g] = await groups()
    await page.goto(`${server.url}/directories/eng/groups/${g.id}`)
    await page.getByRole('button', { name: 'Rename' }).click()
    await page.getByLabel('New name').fill('Platform')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('heading', { name: 'Platform' }).waitFor()
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.getByRole('button', { name: 'Delete group' }).click()
    await page.getByText('No groups yet.').waitFor()
    expect(await groups()).toEqual([])
    expect((await admin<{ email: string }>('GET', `/directories/eng/users/${ids.ada}`)).email).toBe('ada@example.com')
  })
})
