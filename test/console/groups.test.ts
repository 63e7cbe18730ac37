import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/** Groups in the console (Chromium against a real `rollcall serve` on SQLite). */

describe('web console: groups (Chromium, SQLite)', () => {
  const session = useConsole()
  let server: Server
  let page: Page
  const { admin, shot } = session
  const ids: Record<string, string> = {}

  const groups = async () => (await admin<{ data: { id: string; name: string }[] }>('GET', '/directories/eng/groups')).data

  beforeAll(async () => {
    server = session.server
    page = session.page
    await admin('POST', '/directories', { name: 'Eng', externalId: 'eng' })
    for (const name of ['ada', 'bob', 'cy'])
      ids[name] = (await admin<{ id: string }>('POST', '/directories/eng/users', { email: `${name}@example.com` })).id
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Eng: Groups' }).click()
    await page.getByRole('heading', { name: 'Groups' }).waitFor()
  }, 120_000)

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
    await shot('group')

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
