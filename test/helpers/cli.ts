import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll } from 'vitest'
import { ownPostgresDatabase } from './engines.js'
import { useTempDir } from './temp-dir.js'

/** Running the `rollcall` CLI from source (through tsx) as a child process, as a user would. */

export const REPO_ROOT = join(import.meta.dirname, '..', '..')
/** Node's arguments that run the CLI's entry point. */
export const CLI = ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')]

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI to its end; never rejects, so a test can look at a failing run's output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const execFileAsync = promisify(execFile)

/** Runs the CLI to its end; resolves with its output, rejects (with `stdout`, `stderr`, `code`) when it fails. */
export function execCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [...CLI, ...args], { env, cwd: REPO_ROOT })
}

/** A list for the child processes a describe block starts: each is killed (SIGKILL) after the block, whatever its tests did. */
export function useChildProcesses(): ChildProcess[] {
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL')
  })
  return children
}

export interface ServedCli {
  url: string
  child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  output(): string
  /** SIGTERM, resolved once it exited. */
  stop(): Promise<void>
}

/**
 * Starts `rollcall serve --port 0 --data <data>` and resolves once it printed its whole banner
 * (`listening on <url>`, through the blank line that ends it); rejects, with what it printed, when
 * it exits first or is not up `within` ms. The child is pushed to `children` at once, so that the
 * caller can kill it whatever happens.
 */
export function serveCli(opts: { data: string; env: NodeJS.ProcessEnv; children: ChildProcess[]; within?: number }): Promise<ServedCli> {
  const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--data', opts.data], { env: opts.env, cwd: REPO_ROOT })
  opts.children.push(child)
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), opts.within ?? 20_000)
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m && /\n\n/.test(out.slice(m.index))) {
        clearTimeout(timer)
        resolve({
          url: m[1],
          child,
          output: () => out,
          stop: () =>
            new Promise((r) => {
              child.once('exit', () => r())
              child.kill('SIGTERM')
            }),
        })
      }
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)))
  })
}

/**
 * A `rollcall serve` to kill and start again on one store, for a describe block (the resume
 * tests): a data directory of its own and, once the test asks (`ownDatabase`), a PostgreSQL
 * database of its own, dropped after the servers are gone. `api` calls it with `key`.
 */
export function useRestartableServer(name: string, key: string, env: NodeJS.ProcessEnv = {}) {
  const dataDir = useTempDir(name)
  let databaseUrl = ''
  let drop: (() => Promise<void>) | undefined
  afterAll(async () => {
    await drop?.()
  })
  // Registered last, so run first after the block (hooks run as a stack): the servers go before their database.
  const children = useChildProcesses()
  const api = (url: string, path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } })
  return {
    dataDir,
    databaseUrl: () => databaseUrl,
    /** On PostgreSQL, a database of the test's own (SQLite's file is the block's own already). */
    async ownDatabase(engine: 'sqlite' | 'postgres'): Promise<void> {
      if (engine !== 'postgres') return
      const db = await ownPostgresDatabase(name.replace(/\W/g, '_'))
      databaseUrl = db.url
      drop = db.drop
    },
    /** `rollcall serve` on that store, batches of 100, a 1.5 s lease, its admin key `key`. */
    start: () =>
      serveCli({
        data: dataDir,
        env: {
          ...process.env,
          ROLLCALL_ADMIN_KEY: key,
          ROLLCALL_BATCH_SIZE: '100',
          ROLLCALL_JOB_LEASE_MS: '1500',
          LOG_LEVEL: 'warn',
          DATABASE_URL: databaseUrl,
          ...env,
        },
        children,
      }),
    api,
    /** A new directory named `name`, made through the API of the server at `url`. */
    async createDirectory(url: string, name: string): Promise<{ id: string }> {
      const r = await api(url, '/api/v1/directories', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      })
      return (await r.json()) as { id: string }
    },
  }
}
