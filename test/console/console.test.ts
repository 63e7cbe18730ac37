import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureConsoleBuilt, launchChromium, ROOT, type Server, startServer } from './harness.js'

/**
 * The web console end to end: Debian's Chromium driven by playwright-core against a real
 * `rollcall serve` on SQLite. Every step waits for an element, never for time. Screenshots go to
 * a temp dir (CONSOLE_SCREENSHOTS overrides it; docs/console/ holds the current ones).
 */

const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'rollcall-console-shots-'))
mkdirSync(SHOTS, { recursive: true })
const USERS = 250

describe('web console (Chromium, SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-console-'))
  let server: Server
  let browser: Browser
  let page: Page
  const consoleErrors: string[] = []

  const rest = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminKey}`, ...(body === undefined ? {} : { 'content-type': type }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
    return res.status === 204 ? null : ((await res.json()) as Record<string, unknown>)
  }
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })

  beforeAll(async () => {
    await ensureConsoleBuilt()
    server = await startServer(dataDir)
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    // Under the test's own timeout, so that a missing element fails with Playwright's message.
    page.setDefaultTimeout(15_000)
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    console.log(`[console e2e] screenshots in ${SHOTS}`)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("a wrong key shows the server's detail; the right one signs in", async () => {
    await page.goto(server.url)
    await page.getByLabel('API key').fill('rc_not-a-real-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').getByText('The API key is unknown or revoked').waitFor()
    await shot('sign-in-error')

    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Directories' }).waitFor()
    expect(await page.evaluate(() => sessionStorage.getItem('rollcall.apiKey'))).toBe(server.adminKey)
    expect(await page.evaluate(() => localStorage.length)).toBe(0)
  })

  it('creates, renames and deletes directories (typed confirmation)', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Staff')
    await page.getByLabel('External ID (optional)').fill('staff')
    await page.getByRole('button', { name: 'Create directory' }).click()
    await page.getByRole('link', { name: 'Staff', exact: true }).waitFor()

    // A server error shows its detail: the externalId is taken.
    await page.getByLabel('Name', { exact: true }).fill('Staff again')
    await page.getByLabel('External ID (optional)').fill('staff')
    await page.getByRole('button', { name: 'Create directory' }).click()
    const conflict = page.getByRole('alert')
    await conflict.waitFor()
    expect(await conflict.textContent()).toMatch(/staff/)

    await page.getByLabel('External ID (optional)').fill('')
    await page.getByLabel('Name', { exact: true }).fill('Temp')
    await page.getByRole('button', { name: 'Create directory' }).click()
    await page.getByRole('link', { name: 'Temp', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Rename Temp' }).click()
    await page.getByLabel('New name').fill('Temporary')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('link', { name: 'Temporary', exact: true }).waitFor()

    await page.getByRole('button', { name: 'Delete Temporary' }).click()
    const confirm = page.getByRole('button', { name: 'Delete directory' })
    expect(await confirm.isDisabled()).toBe(true)
    await page.getByLabel("Type the directory's name to confirm").fill('Temporary')
    await confirm.click()
    await page.getByRole('link', { name: 'Temporary', exact: true }).waitFor({ state: 'detached' })
    await shot('directories')
    expect((await rest('GET', '/directories'))?.data).toHaveLength(1)
  })

  it('users made through the API fill the table page by page; search finds one', async () => {
    const rows = Array.from({ length: USERS }, (_, i) => ({
      email: `user${String(i).padStart(3, '0')}@example.com`,
      username: `user${i}`,
      firstName: 'User',
      lastName: String(i),
      externalId: `E${1000 + i}`,
      country: ['US', 'GB', 'FR', 'DE', 'JP'][i % 5],
    }))
    rows[7] = { ...rows[7], email: 'ada@example.com', username: 'ada', firstName: 'Ada', lastName: 'Lovelace', country: 'GB' }
    await rest('POST', '/directories/staff/users/bulk', { mode: 'create', rows })

    const t0 = performance.now()
    await page.getByRole('link', { name: 'Staff', exact: true }).click()
    await page.getByRole('heading', { name: 'Staff' }).waitFor()
    await page.getByRole('link', { name: 'user000@example.com' }).waitFor()
    // A figure, not an assertion: the first page of the table, from the click.
    console.log(`[console e2e] users table: first rows ${Math.round(performance.now() - t0)} ms after the click (${USERS} users)`)
    await page.getByText('100 users loaded, more as you scroll').waitFor()
    await shot('users')
    // Scrolling to the end loads the next pages; only the rows in view are in the DOM.
    // (It runs in the page, which has the DOM; this project's TypeScript has no DOM types, and the
    // console's CSP forbids evaluating a string there.)
    await page.waitForFunction((n: number) => {
      type El = { scrollTop: number; scrollHeight: number; textContent: string | null }
      const doc = (globalThis as unknown as { document: { querySelector(s: string): El; body: El } }).document
      const body = doc.querySelector('.vbody')
      body.scrollTop = body.scrollHeight
      const text = doc.body.textContent ?? ''
      return text.includes(`${n} users`) && !text.includes('more as you scroll')
    }, USERS)
    await page.getByRole('link', { name: `user${USERS - 1}@example.com` }).waitFor()
    expect(await page.locator('.vbody [role=row]').count()).toBeLessThan(60)

    await page.getByLabel('Search by').selectOption('username')
    await page.getByLabel('Search', { exact: true }).fill('ADA')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.getByText('1 user', { exact: true }).waitFor()
    expect(await page.locator('.vbody [role=row]').count()).toBe(1)
    expect(new URL(page.url()).search).toBe('?username=ADA')
    await page.getByRole('link', { name: 'ada@example.com' }).waitFor()
    await shot('users-search')
  })

  it("a user's page shows every field and the history, with the import that changed it; a deep link reloads", async () => {
    const found = (await rest('GET', '/directories/staff/users?email=ada@example.com')) as { data: { id: string }[] }
    const ada = found.data[0].id
    await rest('PATCH', `/directories/staff/users/${ada}`, {
      displayName: 'Ada Lovelace',
      metadata: { plan: 'pro', teams: ['math', 'engines'] },
      phone: '+442071234567',
    })
    const job = (await rest(
      'POST',
      '/directories/staff/imports?unmapped=metadata',
      'email,country,Department\nada@example.com,FR,Analytics\n',
      'text/csv',
    )) as { id: string }
    for (;;) {
      const j = (await rest('GET', `/imports/${job.id}`)) as { state: string }
      if (['completed', 'failed', 'cancelled'].includes(j.state)) {
        expect(j.state).toBe('completed')
        break
      }
      await new Promise((r) => setTimeout(r, 50)) // the job's state, polled: not a wait for the browser
    }

    await page.getByRole('link', { name: 'ada@example.com' }).click()
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor()
    const history = page.getByRole('list', { name: 'History' })
    await history.getByRole('listitem').nth(2).waitFor()
    expect(await history.getByRole('listitem').count()).toBe(3)
    const newest = history.getByRole('listitem').first()
    expect(await newest.textContent()).toMatch(/country.*GB.*FR/)
    await newest.getByText(/Key: bootstrap admin/).waitFor() // the key's name, once the keys list has come
    await newest.getByRole('link', { name: /^Import / }).waitFor()
    expect(await history.getByRole('listitem').nth(1).textContent()).toMatch(/displayName.*—.*Ada Lovelace/)
    expect(await history.getByRole('listitem').last().textContent()).toContain('Created')
    expect(await page.getByLabel('Metadata').textContent()).toContain('"engines"')
    await shot('user')

    const userUrl = page.url()
    expect(new URL(userUrl).pathname).toBe(`/directories/staff/users/${ada}`)
    await page.reload()
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor()
    expect(page.url()).toBe(userUrl)

    await page.getByRole('link', { name: /^Import / }).click()
    await page.getByRole('heading', { name: /^Import / }).waitFor()
    await page.getByText('completed', { exact: true }).waitFor()
  })

  it('a 401 returns to sign-in with the reason; Sign out forgets the key', async () => {
    await page.evaluate(() => sessionStorage.setItem('rollcall.apiKey', 'rc_revoked-or-wrong'))
    await page.goto(`${server.url}/directories/staff`)
    await page.getByText('Signed out: The API key is unknown or revoked').waitFor()
    expect(await page.evaluate(() => sessionStorage.getItem('rollcall.apiKey'))).toBeNull()

    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Staff' }).waitFor()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').waitFor()
    expect(await page.evaluate(() => sessionStorage.getItem('rollcall.apiKey'))).toBeNull()
    expect(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 40[19]/.test(e))).toEqual([])
  })

  it("deleting a directory while its import is queued shows the server's 409 detail, and nothing is deleted", async () => {
    // Role api runs no worker: an uploaded import stays queued, so the refusal is certain.
    const apiDir = mkdtempSync(join(tmpdir(), 'rollcall-console-api-'))
    const apiOnly = await startServer(apiDir, { ROLLCALL_ROLE: 'api' })
    try {
      const call = (method: string, path: string, body: string, type: string) =>
        fetch(`${apiOnly.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${apiOnly.adminKey}`, 'content-type': type },
          body,
        })
      expect((await call('POST', '/directories', JSON.stringify({ name: 'Busy', externalId: 'busy' }), 'application/json')).status).toBe(
        201,
      )
      expect((await call('POST', '/directories/busy/imports', 'email\nbusy@example.com\n', 'text/csv')).status).toBe(202)

      await page.goto(apiOnly.url)
      await page.getByLabel('API key').fill(apiOnly.adminKey)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('button', { name: 'Delete Busy' }).click()
      await page.getByLabel("Type the directory's name to confirm").fill('Busy')
      await page.getByRole('button', { name: 'Delete directory' }).click()
      await page
        .getByRole('alert')
        .getByText(/has an import in progress/)
        .waitFor()
      await shot('directory-delete-refused')
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByLabel('API key').waitFor()
      const still = await fetch(`${apiOnly.url}/api/v1/directories/busy`, { headers: { authorization: `Bearer ${apiOnly.adminKey}` } })
      expect(still.status).toBe(200)
    } finally {
      await apiOnly.stop()
      rmSync(apiDir, { recursive: true, force: true })
    }
  })

  it('the initial JavaScript (every script and modulepreload of index.html) is under 250 KB gzipped', () => {
    const dist = join(ROOT, 'web', 'dist')
    const html = readFileSync(join(dist, 'index.html'), 'utf8')
    const refs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g)].map((m) => m[1])
    expect(refs.length).toBeGreaterThan(0)
    const bytes = refs.reduce((n, ref) => n + gzipSync(readFileSync(join(dist, ref)), { level: 9 }).length, 0)
    console.log(`[console e2e] initial JavaScript: ${refs.length} file(s), ${(bytes / 1024).toFixed(1)} KB gzipped`)
    expect(bytes).toBeLessThan(250 * 1024)
  })

  it('API and door paths keep their own 404s; other paths that accept HTML get the app', async () => {
    const html = { accept: 'text/html,application/xhtml+xml' }
    for (const path of ['/api/v1/nope', '/scim/v2/nope', '/docs/nope', '/openapi.json/x', '/healthz/x', '/assets/nope.js']) {
      const res = await fetch(`${server.url}${path}`, { headers: html })
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type'), path).not.toContain('text/html')
    }
    const deep = await fetch(`${server.url}/directories/staff/users/whatever`, { headers: html })
    expect(deep.status).toBe(200)
    expect(deep.headers.get('content-type')).toContain('text/html')
    expect(deep.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await deep.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/) // no inline script
    const notHtml = await fetch(`${server.url}/directories/x`, { headers: { accept: 'application/json' } })
    expect(notHtml.status).toBe(404)
  })
})
