import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureConsoleBuilt, launchChromium, type Server, startServer } from './harness.js'

/**
 * The console's import wizard and import pages end to end, in Debian's Chromium against a real
 * `rollcall serve` on SQLite: map, preview (a dry run), apply, watch, download the failed rows,
 * revert; the imports list; files refused before any upload. Every step waits for an element.
 */

const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'rollcall-console-shots-'))
mkdirSync(SHOTS, { recursive: true })

const CSV = [
  'E-mail,First Name,Last Name,Dept,Shoe size',
  'ada@example.com,Augusta Ada,Lovelace,Engines,37',
  'grace@example.com,Grace,Hopper,Navy,38',
  'not-an-email,Bad,Row,Nowhere,40',
  'linus@example.com,Linus,Torvalds,Kernel,44',
  '',
].join('\n')

type Json = Record<string, unknown>

describe('web console: the import wizard (Chromium, SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-console-imports-'))
  let server: Server
  let browser: Browser
  let page: Page
  const consoleErrors: string[] = []

  const rest = async (method: string, path: string, body?: unknown, srv = server) => {
    const res = await fetch(`${srv.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${srv.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as Json
  }
  const userByEmail = async (email: string) =>
    ((await rest('GET', `/directories/people/users?email=${encodeURIComponent(email)}`)).data as Json[])[0]
  const importsOf = async (dir: string, srv = server) => (await rest('GET', `/directories/${dir}/imports`, undefined, srv)).data as Json[]
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  const signIn = async (srv: Server) => {
    await page.goto(srv.url)
    await page.getByLabel('API key').fill(srv.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Directories' }).waitFor()
  }
  const chooseFile = (name: string, text: string | Buffer, mimeType = 'text/csv') =>
    page.getByLabel('File', { exact: true }).setInputFiles({ name, mimeType, buffer: Buffer.isBuffer(text) ? text : Buffer.from(text) })

  beforeAll(async () => {
    await ensureConsoleBuilt()
    server = await startServer(dataDir)
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage()
    page.setDefaultTimeout(15_000)
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    await rest('POST', '/directories', { name: 'People', externalId: 'people' })
    await rest('POST', '/directories/people/fields', { key: 'department', label: 'Department', type: 'string' })
    await rest('POST', '/directories/people/users/bulk', {
      mode: 'create',
      rows: [
        { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', country: 'GB' },
        { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', fields: { department: 'Navy' } },
      ],
    })
    await signIn(server)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a file with duplicate columns, an empty file and a binary file are refused before any upload; nothing is written', async () => {
    await page.getByRole('link', { name: 'People', exact: true }).click()
    await page.getByRole('link', { name: 'New import' }).click()
    await page.getByRole('heading', { name: 'New import into People' }).waitFor()

    await chooseFile('dup.csv', 'email,name,email\na@example.com,A,b@example.com\n')
    const alert = page.getByRole('alert')
    await alert.getByText(/The column "email" appears twice \(columns 1 and 3\)/).waitFor()
    expect(await page.getByLabel('File', { exact: true }).getAttribute('aria-invalid')).toBe('true')
    expect(await page.getByRole('button', { name: 'Preview' }).count()).toBe(0)
    await shot('import-refused')

    await chooseFile('empty.csv', '')
    await alert.getByText('The file is empty.').waitFor()
    await chooseFile('photo.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]))
    await alert.getByText(/This is not a text file/).waitFor()
    expect(await importsOf('people')).toEqual([])
  })

  it('maps the columns, previews the plan with the bad row, applies it, and downloads exactly the failed row', async () => {
    await chooseFile('people.csv', CSV)
    const columns = page.getByRole('table', { name: 'Columns' })
    await columns.waitFor()
    // Suggested by the server's rule; Dept and Shoe size name no field.
    expect(await page.getByLabel('E-mail').inputValue()).toBe('email')
    expect(await page.getByLabel('First Name').inputValue()).toBe('firstName')
    expect(await page.getByLabel('Last Name').inputValue()).toBe('lastName')
    expect(await page.getByLabel('Dept').inputValue()).toBe('?choose')

    // unmapped=fail, made visible: Preview names the columns that go nowhere and uploads nothing.
    await page.getByRole('button', { name: 'Preview' }).click()
    await columns
      .getByRole('alert')
      .first()
      .getByText(/a column that maps to no field fails the whole import/)
      .waitFor()
    expect(await columns.getByRole('alert').count()).toBe(2)
    expect(await importsOf('people')).toEqual([])

    await page.getByLabel('Dept').selectOption('fields.department')
    await page.getByLabel('Shoe size').selectOption('metadata.Shoe size')
    expect(await page.getByLabel('Mode').inputValue()).toBe('upsert')
    expect(await page.getByLabel('Match key').inputValue()).toBe('email')
    await shot('import-wizard')
    await page.getByRole('button', { name: 'Preview' }).click()

    // The dry run's page: the plan, once the job has run.
    await page.getByRole('heading', { name: /^Plan [0-9a-f]{8}$/ }).waitFor()
    await page.getByText('completed', { exact: true }).waitFor()
    const planId = new URL(page.url()).pathname.split('/').pop() as string
    const plan = await rest('GET', `/imports/${planId}`)
    expect(plan).toMatchObject({ options: { dryRun: true, mapping: { Dept: 'fields.department', 'Shoe size': 'metadata.Shoe size' } } })
    expect(plan.counts).toMatchObject({ total: 4, created: 1, updated: 2, failed: 1 })
    const counts = page.getByLabel('What applying the plan will do')
    expect(await counts.textContent()).toMatch(/Rows4Created1Updated2Unchanged0Failed1/)
    const failed = page.getByRole('table', { name: 'Failed rows' })
    await failed.getByText('email must be a valid email address').waitFor()
    expect(await failed.locator('tbody tr').count()).toBe(1)
    expect(await failed.locator('tbody tr td').first().textContent()).toBe('4')
    const sample = page.getByRole('table', { name: 'Sample of the plan' })
    await sample.getByText('Augusta Ada').waitFor()
    expect(await sample.locator('tbody tr').first().textContent()).toMatch(/firstName\s*Ada\s*→\s*Augusta Ada/)
    await page.getByText('No user appears twice in the file.').waitFor()
    // Nothing is written by a plan.
    expect((await userByEmail('ada@example.com')).firstName).toBe('Ada')
    await shot('import-plan')

    await page.getByRole('button', { name: 'Apply this plan' }).click()
    await page.getByRole('heading', { name: /^Import [0-9a-f]{8}$/ }).waitFor()
    await page.locator('[role=progressbar][aria-valuenow="100"]').waitFor()
    await page.getByText('completed', { exact: true }).waitFor()
    const applied = await rest('GET', `/imports/${new URL(page.url()).pathname.split('/').pop()}`)
    expect(applied).toMatchObject({ kind: 'apply', sourceJobId: planId, state: 'completed' })
    expect(await page.getByLabel('Counts', { exact: true }).textContent()).toMatch(/Created1Updated2/)
    expect(await userByEmail('ada@example.com')).toMatchObject({
      firstName: 'Augusta Ada',
      fields: { department: 'Engines' },
      metadata: { 'Shoe size': '37' },
    })

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /^Download failed rows/ }).click(),
    ])
    const file = readFileSync(await download.path(), 'utf8')
    expect(file.trim().split(/\r?\n/)).toEqual([
      'E-mail,First Name,Last Name,Dept,Shoe size,error',
      'not-an-email,Bad,Row,Nowhere,40,line 4: email: must be a valid email address',
    ])

    // The results, filtered by status.
    const results = page.getByRole('table', { name: 'Results' })
    await results.locator('tbody tr').nth(2).waitFor()
    await page.getByLabel('Show rows').selectOption('created')
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(
          '.results-table tbody tr',
        ).length === 1,
    )
    await shot('import-applied')
  })

  it("a user's history links to the import; revert brings the users back", async () => {
    const applyPath = new URL(page.url()).pathname
    const ada = await userByEmail('ada@example.com')
    await page.goto(`${server.url}/directories/people/users/${ada.id as string}`)
    const newest = page.getByRole('list', { name: 'History' }).getByRole('listitem').first()
    await newest.waitFor()
    expect(await newest.textContent()).toMatch(/firstName.*Ada.*Augusta Ada/)
    await newest.getByRole('link', { name: /^Import / }).click()
    expect(new URL(page.url()).pathname).toBe(applyPath)
    await page.getByText('completed', { exact: true }).waitFor()

    await page.getByRole('button', { name: 'Revert', exact: true }).click()
    await page.getByRole('button', { name: 'Revert import' }).click()
    await page.getByText('reverted', { exact: true }).waitFor()
    await page.getByText('No conflicts: every field the import set is back.').waitFor()
    await page.getByText(/^Reverted: 3 users looked at, 2 restored, 1 deleted, 0 conflicts\.$/).waitFor()
    await shot('import-reverted')
    const back = await userByEmail('ada@example.com')
    expect(back).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', country: 'GB' })
    expect((back.fields as Json).department ?? null).toBeNull()
    expect((back.metadata as Json)['Shoe size']).toBeUndefined()
    expect(await userByEmail('grace@example.com')).toMatchObject({ firstName: 'Grace', fields: { department: 'Navy' } })
    expect(await userByEmail('linus@example.com')).toBeUndefined()
  })

  it("the directory's imports list shows the plan and its apply, each linking to its page", async () => {
    await page.goto(`${server.url}/directories/people`)
    await page.getByRole('link', { name: 'Imports', exact: true }).click()
    const list = page.getByRole('table', { name: 'Imports' })
    await list.waitFor()
    const rows = list.locator('tbody tr')
    expect(await rows.count()).toBe(2)
    expect(await rows.nth(0).textContent()).toMatch(/^Import [0-9a-f]{8}applyreverted/)
    expect(await rows.nth(1).textContent()).toMatch(/^Plan [0-9a-f]{8}dry runcompleted/)
    // Who started each, by the key's name (this admin key may list keys), and through what.
    for (const i of [0, 1]) {
      expect(await rows.nth(i).locator('td').nth(5).textContent()).toBe('bootstrap admin')
      expect(await rows.nth(i).locator('td').nth(6).textContent()).toBe('console')
    }
    await shot('imports')
    await rows.nth(1).getByRole('link').click()
    await page.getByRole('heading', { name: /^Plan / }).waitFor()
    await page.getByText(/^bootstrap admin · console · request \S+$/).waitFor()
    expect(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e))).toEqual([])
  })

  it('the wizard works from the keyboard alone: every stop has a name, a mapping is changed, preview and apply run', async () => {
    await rest('POST', '/directories', { name: 'Keys only', externalId: 'keyboard' })
    await page.goto(`${server.url}/directories/keyboard/imports/new`)
    await page.getByRole('heading', { name: 'New import into Keys only' }).waitFor()
    // The file itself comes from the system's picker, which no page can drive; everything after is keys.
    await chooseFile('kb.csv', 'email,First Name,Shoe size\nkb1@example.com,Kay,41\nkb2@example.com,Bea,39\n')
    await page.getByRole('table', { name: 'Columns' }).waitFor()
    await page.locator('body').focus()

    /** Tabs until the focused control's name matches; every stop on the way must have a name. */
    const stops: string[] = []
    const tabTo = async (name: RegExp) => {
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab')
        // The focused control as "tag: name" (its label, aria-label or text); a string, as this project's types have no DOM.
        const stop = await page.evaluate<string | null>(`(() => {
          const el = document.activeElement
          if (!el || el === document.body) return null
          const label = (el.labels && el.labels[0] && el.labels[0].textContent) || el.getAttribute('aria-label') || el.textContent || ''
          return el.tagName.toLowerCase() + ': ' + label.trim()
        })()`)
        if (stop === null) continue
        stops.push(stop)
        expect(stop, 'a focusable control without a name').not.toMatch(/: $/)
        if (name.test(stop)) return
      }
      throw new Error(`${name} was never focused; the stops were: ${stops.join(' | ')}`)
    }

    await tabTo(/^select: Shoe size$/)
    // Closed selects take the arrow keys: "Choose a field…" → "Ignore this column".
    await page.keyboard.press('ArrowDown')
    expect(await page.getByLabel('Shoe size').inputValue()).toBe('')
    await tabTo(/^button: Preview$/)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: /^Plan [0-9a-f]{8}$/ }).waitFor()
    await page.getByText('completed', { exact: true }).waitFor()
    expect(stops).toEqual(
      expect.arrayContaining(['input: File', 'select: email', 'select: First Name', 'select: Mode', 'select: Match key']),
    )

    await page.locator('body').focus()
    await tabTo(/^button: Apply this plan$/)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: /^Import [0-9a-f]{8}$/ }).waitFor()
    await page.locator('[role=progressbar][aria-valuenow="100"]').waitFor()
    const users = (await rest('GET', '/directories/keyboard/users')).data as Json[]
    expect(users.map((u) => [u.email, u.firstName, u.metadata])).toEqual([
      ['kb1@example.com', 'Kay', {}],
      ['kb2@example.com', 'Bea', {}],
    ])
  })

  it('a queued import is cancelled from the list', async () => {
    // Role api runs no worker: the upload stays queued until it is cancelled.
    const apiDir = mkdtempSync(join(tmpdir(), 'rollcall-console-api-'))
    const apiOnly = await startServer(apiDir, { ROLLCALL_ROLE: 'api' })
    try {
      await rest('POST', '/directories', { name: 'Queue', externalId: 'queue' }, apiOnly)
      const up = await fetch(`${apiOnly.url}/api/v1/directories/queue/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiOnly.adminKey}`, 'content-type': 'text/csv' },
        body: 'email\nq@example.com\n',
      })
      expect(up.status).toBe(202)
      await signIn(apiOnly)
      await page.goto(`${apiOnly.url}/directories/queue/imports`)
      const list = page.getByRole('table', { name: 'Imports' })
      await list.getByText('queued', { exact: true }).waitFor()
      await list.getByRole('button', { name: /^Cancel import / }).click()
      await list.getByText('cancelled', { exact: true }).waitFor()
      expect((await importsOf('queue', apiOnly))[0]).toMatchObject({ state: 'cancelled' })
    } finally {
      await apiOnly.stop()
      rmSync(apiDir, { recursive: true, force: true })
    }
  })
})
