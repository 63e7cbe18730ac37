import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/**
 * API keys and webhooks in the console (Chromium against a real `rollcall serve` on SQLite): a key
 * made in the console works from outside with exactly its scopes and directories, and stops
 * working when revoked there; a webhook's secret is shown once.
 */

describe('web console: API keys and webhooks (Chromium, SQLite)', () => {
  const session = useConsole()
  let server: Server
  let page: Page
  const { admin, call, shot } = session

  beforeAll(async () => {
    server = session.server
    page = session.page
    await session.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    await admin('POST', '/directories', { name: 'Sales', externalId: 'sales' })
    await admin('POST', '/directories', { name: 'Support', externalId: 'support' })

    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Directories' }).waitFor()
  })

  it('a key created in the console is shown once, copies, and works with curl with its scopes and directories; revoked, it gets 401', async () => {
    await page.getByRole('link', { name: 'API keys' }).click()
    await page.getByRole('heading', { name: 'API keys' }).waitFor()
    const form = page.getByRole('form', { name: 'New API key' })
    await form.getByLabel('Key name').fill('sales-sync')
    await form.getByRole('checkbox', { name: 'write' }).check()
    await form.getByRole('checkbox', { name: 'Sales' }).check()
    await form.getByRole('button', { name: 'Create key' }).click()

    const secretBox = page.getByLabel('API key sales-sync')
    await secretBox.waitFor()
    const secret = await secretBox.inputValue()
    expect(secret.length).toBeGreaterThan(20)
    await page.getByRole('button', { name: 'Copy' }).click()
    await page.getByText('Copied to the clipboard.').waitFor()
    // (In the page, which has the DOM; this project's TypeScript has no DOM types.)
    const clipboard = await page.evaluate(() =>
      (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText(),
    )
    expect(clipboard).toBe(secret)
    await shot('keys')

    // From outside: read and write in Sales; Support is invisible to it; it cannot make keys.
    expect((await call(secret, 'GET', '/directories/sales/users')).status).toBe(200)
    expect((await call(secret, 'POST', '/directories/sales/users', { email: 'deal@example.com' })).status).toBe(201)
    expect((await call(secret, 'GET', '/directories/support/users')).status).toBe(404)
    expect((await call(secret, 'POST', '/keys', { name: 'x', scopes: ['admin'] })).status).toBe(403)

    // The list shows it with its scopes, its directory by name and, after a reload, its last use.
    await page.getByRole('button', { name: 'Done' }).click()
    await secretBox.waitFor({ state: 'detached' })
    await page.reload()
    const row = page.getByRole('row', { name: /sales-sync/ })
    await row.waitFor()
    const text = (await row.textContent()) ?? ''
    expect(text).toContain('read, write')
    expect(text).toContain('Sales')
    expect(text).not.toContain('Support')
    expect(text).toContain('active')
    expect(await row.getByRole('cell').nth(4).textContent()).not.toBe('—')
    expect(await page.getByText(secret).count()).toBe(0) // never shown again

    await row.getByRole('button', { name: 'Revoke sales-sync' }).click()
    await row.getByRole('button', { name: 'Revoke key' }).click()
    await row.getByText(/^revoked /).waitFor()
    expect((await call(secret, 'GET', '/directories/sales/users')).status).toBe(401)
  })

  it("a read key's console shows the server's 403 for keys", async () => {
    const reader = await admin<{ secret: string }>('POST', '/keys', { name: 'reader', scopes: ['read'] })
    // Signing out and in again stays on the page (here /keys).
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').fill(reader.secret)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'API keys' }).waitFor()
    const alert = page.getByRole('alert').first()
    await alert.waitFor()
    expect(await alert.textContent()).toMatch(/admin/)
    expect(await page.getByRole('form', { name: 'New API key' }).count()).toBe(1) // the form is there; the server decides
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('row', { name: /sales-sync/ }).waitFor()
  })

  it("webhooks: a private address is refused with the server's detail; one added shows its secret once, lists, and is removed", async () => {
    await page.goto(`${server.url}/`)
    await page.getByRole('link', { name: 'Sales: Webhooks' }).click()
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor()
    await page.getByText('No webhooks.').waitFor()

    await page.getByLabel('Webhook URL').fill('http://127.0.0.1:9/hook')
    await page.getByRole('button', { name: 'Add webhook' }).click()
    const refused = page.getByRole('alert')
    await refused.waitFor()
    expect(await refused.textContent()).toMatch(/public address/)

    await page.getByLabel('Webhook URL').fill('https://hooks.example.com/rollcall')
    await page.getByRole('button', { name: 'Add webhook' }).click()
    const secret = await page.getByLabel('Signing secret').inputValue()
    expect(secret.length).toBeGreaterThan(10)
    await page.getByRole('cell', { name: 'https://hooks.example.com/rollcall', exact: true }).waitFor()
    await shot('webhooks')
    expect((await admin<{ data: { url: string }[] }>('GET', '/directories/sales/webhooks')).data.map((h) => h.url)).toEqual([
      'https://hooks.example.com/rollcall',
    ])

    await page.getByRole('button', { name: 'Remove https://hooks.example.com/rollcall' }).click()
    await page.getByText('No webhooks.').waitFor()
    expect((await admin<{ data: unknown[] }>('GET', '/directories/sales/webhooks')).data).toEqual([])
  })
})
