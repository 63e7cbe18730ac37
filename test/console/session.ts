import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { ensureConsoleBuilt, launchChromium, type Server, startServer } from './harness.js'

/** Where screenshots go: CONSOLE_SCREENSHOTS (docs/console refreshes the docs' ones), else a temp dir. */
export const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'rollcall-console-shots-'))
mkdirSync(SHOTS, { recursive: true })

export interface ConsoleSession {
  server: Server
  browser: Browser
  context: BrowserContext
  page: Page
  /** A call from outside the browser (what curl would do) with any key; the raw answer. */
  call(key: string, method: string, path: string, body?: unknown, type?: string): Promise<Response>
  /** A call with the server's admin key that must succeed; its JSON. */
  admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown, type?: string): Promise<T>
  shot(name: string): Promise<void>
  /** Signs in through the sign-in screen (with the admin key unless another is given). */
  signIn(key?: string): Promise<void>
}

/**
 * A real `rollcall serve` (SQLite in a temp dir unless `env` says otherwise) and a Chromium page
 * for one test file: started before its tests, stopped after. `prepare` runs before the server
 * starts and gives it extra environment (a database of its own); `cleanup` runs after it stops.
 */
export function useConsole(
  opts: {
    prepare?: () => Promise<Record<string, string>>
    cleanup?: () => Promise<void>
    viewport?: { width: number; height: number }
  } = {},
): ConsoleSession {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-console-'))
  const s = {} as ConsoleSession
  s.call = (key, method, path, body, type = 'application/json') =>
    fetch(`${s.server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': type }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
  s.admin = async <T>(method: string, path: string, body?: unknown, type?: string) => {
    const res = await s.call(s.server.adminKey, method, path, body, type)
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
    return (res.status === 204 ? null : await res.json()) as T
  }
  s.shot = async (name) => {
    await s.page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  }
  s.signIn = async (key) => {
    await s.page.getByLabel('API key').fill(key ?? s.server.adminKey)
    await s.page.getByRole('button', { name: 'Sign in' }).click()
    await s.page.getByRole('button', { name: 'Sign out' }).waitFor()
  }

  beforeAll(async () => {
    const env = (await opts.prepare?.()) ?? {}
    await ensureConsoleBuilt()
    s.server = await startServer(dataDir, env)
    s.browser = await launchChromium()
    s.context = await s.browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } })
    s.page = await s.context.newPage()
    // Under the test's own timeout, so that a missing element fails with Playwright's message.
    s.page.setDefaultTimeout(15_000)
  }, 120_000)

  afterAll(async () => {
    await s.browser?.close()
    await s.server?.stop()
    await opts.cleanup?.()
    rmSync(dataDir, { recursive: true, force: true })
  })

  return s
}
