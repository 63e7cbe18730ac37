import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/** The users table's filters (custom field value, created/updated ranges) and column choice, in Chromium. */

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
})
