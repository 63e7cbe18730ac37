import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/**
 * The users table's filters (custom field value, active or deactivated, created/updated ranges)
 * and column choice, in Chromium.
 */

interface ApiUser {
  id: string
  email: string
  active: boolean
}

const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`

describe('web console: filtering the users table and choosing its columns (Chromium, SQLite)', () => {
  const session = useConsole({ viewport: { width: 1280, height: 900 } })
  let server: Server
  let page: Page
  const { admin, shot } = session

  const rowsShown = () => page.locator('.vbody [role=row]').count()

  beforeAll(async () => {
    server = session.server
    page = session.page
    await admin('POST', '/directories', { name: 'Team', externalId: 'team' })
    await admin('POST', '/directories/team/fields', { key: 'dept', label: 'Department', type: 'enum', enumValues: ['Sales', 'Support'] })
    const rows = Array.from({ length: 30 }, (_, i) => ({
      email: `p${String(i).padStart(2, '0')}@example.com`,
      country: 'NL',
      fields: { dept: i % 3 === 0 ? 'Sales' : 'Support' },
    }))
    await admin('POST', '/directories/team/users/bulk', { mode: 'create', rows })
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'Team', exact: true }).click()
    await page.getByText('30 users', { exact: true }).waitFor()
  }, 120_000)

  it("filters by a custom field's value, kept in the address; a search adds to it; a reload keeps both", async () => {
    const form = page.getByRole('form', { name: 'Filter users' })
    await form.getByLabel('Custom field').selectOption('dept')
    await form.getByLabel('equals').fill('Sales')
    await form.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('10 users', { exact: true }).waitFor()
    expect(await rowsShown()).toBe(10)
    expect(new URL(page.url()).searchParams.get('fields.dept')).toBe('Sales')

    // Export saves what the table shows: a signed link the browser downloads, the key not in it.
    const exporter = page.getByRole('form', { name: 'Export users' })
    const [csv] = await Promise.all([page.waitForEvent('download'), exporter.getByRole('button', { name: 'Export these users' }).click()])
    expect(csv.suggestedFilename()).toBe('users-team.csv')
    expect(csv.url()).toMatch(/\/export\?.*signature=/)
    expect(csv.url()).not.toContain(server.adminKey)
    const lines = readFileSync(await csv.path(), 'utf8')
      .trimEnd()
      .split('\r\n')
    expect(lines[0].split(',')).toEqual(expect.arrayContaining(['email', 'fields.dept']))
    expect(lines).toHaveLength(1 + 10)
    expect(lines.slice(1).every((l) => l.includes('Sales'))).toBe(true)
    await exporter.getByLabel('Export as').selectOption('ndjson')
    const [nd] = await Promise.all([page.waitForEvent('download'), exporter.getByRole('button', { name: 'Export these users' }).click()])
    const users = readFileSync(await nd.path(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { email: string })
    expect(users.map((u) => u.email)).toEqual(Array.from({ length: 10 }, (_, i) => `p${String(i * 3).padStart(2, '0')}@example.com`))

    await page.getByLabel('Search', { exact: true }).fill('P03@example.com')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.getByText('1 user', { exact: true }).waitFor()
    await page.reload()
    await page.getByText('1 user', { exact: true }).waitFor()
    expect(await page.getByLabel('equals').inputValue()).toBe('Sales')
    await page.getByRole('button', { name: 'Clear search' }).click()
    await page.getByText('10 users', { exact: true }).waitFor()
  })

  it('filters by created and updated ranges (local days); clearing the filters shows everyone', async () => {
    const form = page.getByRole('form', { name: 'Filter users' })
    const yesterday = new Date(Date.now() - 86_400_000)
    await form.getByLabel('Created until').fill(day(yesterday))
    await form.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('No users match this search.').waitFor()

    await form.getByLabel('Created until').fill('')
    await form.getByLabel('Updated from').fill(day(new Date()))
    await form.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('10 users', { exact: true }).waitFor() // today's, and still Sales
    expect(new URL(page.url()).searchParams.get('updatedAfter')).toBe(new Date(`${day(new Date())}T00:00:00`).toISOString())

    await form.getByRole('button', { name: 'Clear filters' }).click()
    await page.getByText('30 users', { exact: true }).waitFor()
    expect(new URL(page.url()).search).toBe('')
  })

  it('columns: a custom field can be shown and a built-in hidden; the choice survives a reload', async () => {
    const header = page.locator('.vhead [role=row]')
    expect(await header.textContent()).toContain('Country')
    await page.locator('summary', { hasText: 'Columns' }).click()
    await page.getByRole('checkbox', { name: 'Department' }).check()
    await page.getByRole('checkbox', { name: 'Country' }).uncheck()
    await shot('users-columns')
    expect(await header.textContent()).toContain('Department')
    expect(await header.textContent()).not.toContain('Country')
    const first = page.locator('.vbody [role=row]').first()
    expect(await first.textContent()).toMatch(/p\d\d@example\.com.*(Sales|Support)/)
    expect(await first.textContent()).not.toContain('NL')

    await page.reload()
    await page.getByText('30 users', { exact: true }).waitFor()
    expect(await page.locator('.vhead [role=row]').textContent()).toContain('Department')
    expect(await page.locator('.vhead [role=row]').textContent()).not.toContain('Country')
  })

  it('a deactivated user is marked, the status filter shows only it, and the editor reactivates it', async () => {
    const [target] = (await admin<{ data: ApiUser[] }>('GET', '/directories/team/users?email=p05@example.com')).data
    expect(target.active).toBe(true)
    await admin('PATCH', `/directories/team/users/${target.id}`, { active: false })

    await page.goto(`${server.url}/directories/team`)
    await page.getByText('30 users', { exact: true }).waitFor()
    const badges = page.locator('.vbody [role=row] .badge.deactivated')
    await badges.first().waitFor()
    expect(await badges.count()).toBe(1)
    expect(
      await page
        .locator('.vbody [role=row]', { has: page.locator('.badge.deactivated') })
        .getByRole('link')
        .textContent(),
    ).toBe('p05@example.com')

    // Deactivated only: that user, in the address like the other filters, and in the export.
    const form = page.getByRole('form', { name: 'Filter users' })
    await form.getByLabel('Status').selectOption({ label: 'Deactivated only' })
    await form.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('1 user', { exact: true }).waitFor()
    expect(new URL(page.url()).searchParams.get('active')).toBe('false')
    expect(await page.locator('.vbody [role=row]').textContent()).toMatch(/^p05@example\.comdeactivated/)
    await shot('users-deactivated')
    const exporter = page.getByRole('form', { name: 'Export users' })
    await exporter.getByLabel('Export as').selectOption('ndjson')
    const [nd, linked] = await Promise.all([
      page.waitForEvent('download'),
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/export/link')),
      exporter.getByRole('button', { name: 'Export these users' }).click(),
    ])
    expect(new URL(linked.url()).searchParams.get('active')).toBe('false')
    const exported = readFileSync(await nd.path(), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as ApiUser)
    const kept = exported.map((u) => [u.email, u.active])
    // Soft: a filter the signed link lost is reported, and the checks below still run.
    expect(kept, 'the signed export link keeps active=false').toEqual([['p05@example.com', false]])

    // Active only: everyone else; a reload keeps the choice; clearing shows everyone again.
    await form.getByLabel('Status').selectOption({ label: 'Active only' })
    await form.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('29 users', { exact: true }).waitFor()
    expect(await badges.count()).toBe(0)
    await page.reload()
    await page.getByText('29 users', { exact: true }).waitFor()
    expect(await page.getByRole('form', { name: 'Filter users' }).getByLabel('Status').inputValue()).toBe('true')
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await page.getByText('30 users', { exact: true }).waitFor()
    expect(new URL(page.url()).search).toBe('')

    // Its page says so; the editor's Active checkbox reactivates it, sending only that.
    await page.getByRole('link', { name: 'p05@example.com' }).click()
    const heading = page.getByRole('heading', { level: 1 })
    await heading.filter({ hasText: 'deactivated' }).waitFor()
    await page.getByRole('button', { name: 'Edit' }).click()
    const editor = page.getByRole('form', { name: 'Edit user' })
    const checkbox = editor.getByRole('checkbox', { name: 'Active' })
    expect(await checkbox.isChecked()).toBe(false)
    await checkbox.check()
    await shot('user-edit-active')
    await editor.getByRole('button', { name: 'Save changes' }).click()
    await editor.waitFor({ state: 'detached' })
    expect(await admin<ApiUser>('GET', `/directories/team/users/${target.id}`)).toMatchObject({ active: true })
    await heading.filter({ hasNotText: 'deactivated' }).waitFor()
    expect(await heading.textContent()).toBe('p05@example.com')
    const newest = page.getByRole('list', { name: 'History' }).getByRole('listitem').first()
    await newest.filter({ hasText: 'console' }).waitFor()
    const change = (await newest.textContent()) ?? ''
    expect(change).toMatch(/active.*false.*true/)
    expect(change).not.toMatch(/email|country|fields\./)

    await page.goto(`${server.url}/directories/team?active=false`)
    await page.getByText('No users match this search.').waitFor()
  })
})
