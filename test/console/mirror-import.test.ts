import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/**
 * Mirror imports in the console (Chromium against a real `rollcall serve` on SQLite): the wizard's
 * "Mirror" options (sent only when not "Keep", the server's 400s next to them), a dry run's plan of
 * the users missing from the file, and an import stopped over its limit (needs_confirmation): the
 * warning with its sample, then "Confirm and deactivate" (the page follows the job again to its
 * end) or "Cancel import". The wizard always previews (a dry run, which plans the absent users
 * whatever their number: applying the plan is the confirmation), so the import that waits for a
 * confirmation is uploaded through the API, as the CLI or a script would, and decided here.
 */

type Json = Record<string, unknown>
interface UserRow {
  id: string
  email: string
  active: boolean
  metadata: Json
}

// Ten users of HR (the scope) and two contractors outside it; the file names the first five of HR.
const HR = Array.from({ length: 10 }, (_, i) => `hr${i + 1}@example.com`)
const CONTRACTORS = ['c1@example.com', 'c2@example.com']
const SCOPE = { 'metadata.source': 'hr' }
const csvOf = (emails: readonly string[]) => ['email', ...emails, ''].join('\n')

describe('web console: mirror imports (Chromium, SQLite)', () => {
  const session = useConsole()
  let server: Server
  let page: Page
  const { admin, call, shot } = session
  const consoleErrors: string[] = []

  const users = async () =>
    (await admin<{ data: UserRow[] }>('GET', '/directories/staff/users?limit=100')).data.sort((a, b) => a.email.localeCompare(b.email))
  const inactive = async () =>
    (await users())
      .filter((u) => !u.active)
      .map((u) => u.email)
      .sort()
  const imports = async () => (await admin<{ data: Json[] }>('GET', '/directories/staff/imports')).data
  /** A mirror import uploaded from outside the browser (not a dry run); its id. */
  const mirrorUpload = async (emails: readonly string[]) => {
    const q = new URLSearchParams({ absent: 'deactivate', scope: JSON.stringify(SCOPE) })
    const res = await call(server.adminKey, 'POST', `/directories/staff/imports?${q.toString()}`, csvOf(emails), 'text/csv')
    expect(res.status).toBe(202)
    return ((await res.json()) as { id: string }).id
  }

  beforeAll(async () => {
    server = session.server
    page = session.page
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    await admin('POST', '/directories', { name: 'Staff', externalId: 'staff' })
    await admin('POST', '/directories/staff/users/bulk', {
      rows: [
        ...HR.map((email) => ({ email, metadata: { source: 'hr' } })),
        ...CONTRACTORS.map((email) => ({ email, metadata: { source: 'agency' } })),
      ],
    })
    await page.goto(server.url)
    await session.signIn()
  }, 120_000)

  it('the wizard sends the mirror options: bad ones are refused next to their inputs; the plan lists who it would deactivate', async () => {
    await page.goto(`${server.url}/directories/staff/imports/new`)
    await page.getByRole('heading', { name: 'New import into Staff' }).waitFor()
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'staff.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csvOf(HR.slice(0, 5))),
    })
    await page.getByRole('table', { name: 'Columns' }).waitFor()

    // Keep (no mirror) by default: nothing more to fill in.
    const absent = page.getByLabel('Users missing from the file')
    expect(await absent.inputValue()).toBe('keep')
    expect(await page.getByLabel('Max absent users (count or %)').count()).toBe(0)
    await absent.selectOption('deactivate')
    const max = page.getByLabel('Max absent users (count or %)')
    expect(await max.getAttribute('placeholder')).toBe('10%')
    expect(await page.getByLabel('Change absent users even if some rows fail').isChecked()).toBe(false)

    // A max the server cannot read: its 400 next to the input, nothing uploaded.
    await max.fill('lots')
    await page.getByRole('button', { name: 'Add a condition' }).click()
    await page.getByLabel('Scope field 1').fill('fields.nope')
    await page.getByLabel('Scope value 1').fill('x')
    await page.getByRole('button', { name: 'Preview' }).click()
    await page
      .locator('#opt-max-absent-problem')
      .getByText(/maxAbsent must be a count \(200\) or a percentage/)
      .waitFor()
    expect(await max.getAttribute('aria-invalid')).toBe('true')

    // A scope naming no field: the server's error next to its condition.
    await max.fill('')
    await page.getByRole('button', { name: 'Preview' }).click()
    await page
      .locator('#opt-scope-0-problem')
      .getByText(/no field 'fields\.nope' to filter by in this directory/)
      .waitFor()
    expect(await page.getByLabel('Scope field 1').getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#opt-max-absent-problem').count()).toBe(0)
    expect(await imports()).toEqual([])

    await page.getByLabel('Scope field 1').fill('metadata.source')
    await page.getByLabel('Scope value 1').fill('hr')
    await shot('import-wizard-mirror')
    await page.getByRole('button', { name: 'Preview' }).click()

    // The plan: five of the ten HR users are not in the file (the contractors are out of scope).
    await page.getByRole('heading', { name: /^Plan [0-9a-f]{8}$/ }).waitFor()
    await page.getByText('completed', { exact: true }).waitFor()
    const planId = new URL(page.url()).pathname.split('/').pop() as string
    const plan = await admin<Json>('GET', `/imports/${planId}`)
    expect(plan.options).toMatchObject({
      dryRun: true,
      absent: 'deactivate',
      scope: SCOPE,
      maxAbsent: { percent: 10 },
      absentOnErrors: false,
    })
    expect(plan.absent).toMatchObject({ action: 'deactivate', phase: 'done', scoped: 10, absent: 5, limit: 1, deactivated: 5 })
    const mirror = page.getByRole('region', { name: 'Users missing from the file' })
    await mirror
      .getByText(
        'Applying this plan deactivates 5 users missing from the file. That is more than the limit of 1 (maxAbsent): applying the plan is the confirmation.',
      )
      .waitFor()
    expect(await mirror.getByLabel('Mirror counts').textContent()).toBe('Active in scope10Missing from the file5Limit1To deactivate5')
    const planned = page.getByRole('table', { name: 'Users the plan deactivates' })
    await planned.locator('tbody tr').nth(4).waitFor()
    expect(await planned.locator('tbody tr').count()).toBe(5)
    expect(await planned.locator('tbody tr').first().textContent()).toMatch(/^not in the filedeactivated.*active\s*true\s*→\s*false/)
    await page.getByText(/mirror: deactivate absent users \(metadata\.source = hr; at most 10 % without a confirmation\)/).waitFor()
    // A plan writes nothing.
    expect(await inactive()).toEqual([])
    await shot('import-plan-mirror')
  })

  it('an import over its limit waits for a confirmation: warning, sample, "Confirm and deactivate", followed to its end', async () => {
    const id = await mirrorUpload(HR.slice(0, 5))
    await page.goto(`${server.url}/imports/${id}`)
    await page.getByRole('heading', { name: `Import ${id.slice(0, 8)}` }).waitFor()
    // Followed live: the page shows the wait once the worker has read the file.
    const decision = page.getByRole('group', { name: 'Confirm the users missing from the file' })
    await decision.getByText('5 users would be deactivated — more than the limit of 1').waitFor()
    await page.getByText('Needs confirmation', { exact: true }).waitFor()
    expect(await page.locator('.state.needs_confirmation').textContent()).toBe('Needs confirmation')
    const sample = decision.getByRole('list', { name: 'They are:' })
    expect((await sample.getByRole('listitem').allTextContents()).sort()).toEqual(HR.slice(5).sort())
    await page
      .getByText(/waiting for a confirmation/)
      .first()
      .waitFor()
    // The rows are written already; nobody is deactivated yet.
    expect(await inactive()).toEqual([])
    const written = page.getByRole('table', { name: 'Results' }).locator('tbody tr')
    await written.nth(4).waitFor()
    expect(await written.count()).toBe(5)
    await shot('import-needs-confirmation')

    // The list labels the state too, and offers to cancel.
    await page.goto(`${server.url}/directories/staff/imports`)
    const row = page.getByRole('table', { name: 'Imports' }).locator('tbody tr').first()
    await row.getByText('Needs confirmation', { exact: true }).waitFor()
    await row.getByRole('button', { name: `Cancel import ${id.slice(0, 8)}` }).waitFor()
    await row.getByRole('link', { name: `Import ${id.slice(0, 8)}` }).click()

    await decision.getByRole('button', { name: 'Confirm and deactivate' }).click()
    await page.getByText('completed', { exact: true }).waitFor()
    const mirror = page.getByRole('region', { name: 'Users missing from the file' })
    await mirror.getByText('5 users deactivated, confirmed over the limit of 1.').waitFor()
    expect(await mirror.getByLabel('Mirror counts').textContent()).toMatch(/Deactivated5$/)
    expect(await decision.count()).toBe(0)
    expect(await admin<Json>('GET', `/imports/${id}`)).toMatchObject({
      state: 'completed',
      absent: { phase: 'done', confirmed: true, absent: 5, deactivated: 5 },
    })
    expect(await inactive()).toEqual(HR.slice(5).sort())
    expect((await users()).filter((u) => CONTRACTORS.includes(u.email)).every((u) => u.active)).toBe(true)

    // The results list them after the rows, and the filter finds them.
    await page.getByLabel('Show rows').selectOption('deactivated')
    const results = page.getByRole('table', { name: 'Results' })
    await results.getByText('not in the file').first().waitFor()
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(
          '.results-table tbody tr.status-deactivated',
        ).length === 5,
    )
    expect(await results.locator('tbody tr').count()).toBe(5)
    await shot('import-mirror-confirmed')
  })

  it('"Cancel import" ends a waiting import: its rows stay, nobody is deactivated', async () => {
    // Five HR users are active now; a file naming one of them leaves four absent, over 10 % of five.
    const id = await mirrorUpload(HR.slice(0, 1))
    await page.goto(`${server.url}/imports/${id}`)
    const decision = page.getByRole('group', { name: 'Confirm the users missing from the file' })
    await decision.getByText('4 users would be deactivated — more than the limit of 0').waitFor()
    await decision.getByRole('button', { name: 'Cancel import' }).click()
    await page.getByText('cancelled', { exact: true }).waitFor()
    await page.getByText('Cancelled: nobody was deactivated; the rows the import wrote stay.').waitFor()
    expect(await admin<Json>('GET', `/imports/${id}`)).toMatchObject({ state: 'cancelled' })
    expect(await inactive()).toEqual(HR.slice(5).sort())
    expect(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([])
  })
})
