/**
 * `npm run bench:console`: how fast the console's users table first shows rows in a directory of
 * BENCH_CONSOLE_USERS users (default 1,000,000), in Debian's Chromium against `rollcall serve` on
 * SQLite. The users are imported through the product's own async import (a generated CSV), then
 * the directory is opened from the directory list five times; the figure is the time from the
 * click to the first row, median and worst (the aim: under a second); then the time the
 * directory list takes to show the directory's user count.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ensureConsoleBuilt, launchChromium, startServer } from '../test/console/harness.js'

const USERS = Number(process.env.BENCH_CONSOLE_USERS ?? 1_000_000)
const RUNS = 5

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-bench-console-'))
  await ensureConsoleBuilt()
  const server = await startServer(dataDir)
  const browser = await launchChromium()
  try {
    const call = async <T>(method: string, path: string, body?: string | ReadableStream, type = 'application/json'): Promise<T> => {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': type },
        body,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit)
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
      return (await res.json()) as T
    }
    await call('POST', '/directories', JSON.stringify({ name: 'Big', externalId: 'big' }))

    const started = Date.now()
    function* csv() {
      yield 'email,firstName,lastName,country\n'
      for (let i = 0; i < USERS; i += 10_000) {
        let chunk = ''
        for (let j = i; j < Math.min(i + 10_000, USERS); j++) chunk += `user${j}@example.com,First${j},Last${j},SE\n`
        yield chunk
      }
    }
    const body = Readable.toWeb(Readable.from(csv())) as ReadableStream
    const job = await call<{ id: string }>('POST', '/directories/big/imports?mode=create', body, 'text/csv')
    for (;;) {
      const j = await call<{ state: string; counts: { processed: number } }>('GET', `/imports/${job.id}`)
      if (j.state === 'completed') break
      if (!['uploading', 'queued', 'running'].includes(j.state)) throw new Error(`the import ended ${j.state}`)
      await new Promise((r) => setTimeout(r, 1000))
    }
    console.log(`[bench console] ${USERS.toLocaleString('en')} users imported in ${((Date.now() - started) / 1000).toFixed(0)} s`)

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    page.setDefaultTimeout(60_000)
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    const times: number[] = []
    for (let run = 0; run < RUNS; run++) {
      await page.goto(server.url)
      const link = page.getByRole('link', { name: 'Big', exact: true })
      await link.waitFor()
      const t0 = performance.now()
      await link.click()
      await page.locator('.vbody [role=row]').first().waitFor()
      times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    // The directory list counts each directory's users (GET …/stats): one index scan of the directory.
    const t0 = performance.now()
    await page.goto(server.url)
    await page
      .getByRole('row', { name: /Big/ })
      .getByRole('cell', { name: USERS.toLocaleString('en-US'), exact: true })
      .waitFor()
    const countMs = performance.now() - t0
    console.log(
      `[bench console] users table, first rows after the click (${USERS.toLocaleString('en')} users, ${RUNS} runs): ` +
        `median ${Math.round(times[Math.floor(RUNS / 2)])} ms, worst ${Math.round(times[RUNS - 1])} ms (aim: < 1000 ms)`,
    )
    console.log(`[bench console] directory list with its user count shown: ${Math.round(countMs)} ms after loading the page`)
  } finally {
    await browser.close()
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
