import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type Browser, chromium } from 'playwright-core'

/** The console's browser tests: a real `rollcall serve` and Debian's Chromium, nothing downloaded. */

export const ROOT = join(import.meta.dirname, '..', '..')
const WEB = join(ROOT, 'web')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

function newestMtime(path: string): number {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))))
}

/** Builds web/dist when it is missing or older than the console's sources, src/core included (npm ci builds it). */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = join(WEB, 'dist', 'index.html')
  const sources = Math.max(
    newestMtime(join(WEB, 'src')),
    newestMtime(join(WEB, 'index.html')),
    newestMtime(join(WEB, 'vite.config.ts')),
    // The console bundles the pure code it shares with the server (src/core/column-mapping.ts and what it imports).
    newestMtime(join(ROOT, 'src', 'core')),
  )
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return
  // NODE_ENV=production: under vitest it is 'test', which would bundle React's development build.
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
  })
}

export interface Server {
  url: string
  adminKey: string
  output: () => string
  stop: () => Promise<void>
}

/** `rollcall serve` on port 0 with its own data dir; resolves once its banner names the URL and the admin key. */
export function startServer(dataDir: string, extraEnv: Record<string, string> = {}): Promise<Server> {
  const env = { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ROLLCALL_ADMIN_KEY: '', ...extraEnv }
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--data', dataDir],
    { env, cwd: ROOT },
  )
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
    child.stdout?.on('data', () => {
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      const adminKey = /Admin API key \(shown once; keep it\): (\S+)/.exec(out)?.[1]
      if (!url || !adminKey || !/Web console: /.test(out)) return
      clearTimeout(timer)
      resolve({
        url,
        adminKey,
        output: () => out,
        stop: () =>
          new Promise((r) => {
            if (child.exitCode !== null) return r()
            child.once('exit', () => r())
            child.kill('SIGTERM')
          }),
      })
    })
  })
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium; .ci/run does it) or set CHROMIUM_PATH`)
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}
