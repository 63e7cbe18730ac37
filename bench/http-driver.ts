/**
 * Drives a real Rollcall server over HTTP: starts `rollcall serve` as a child process, waits for
 * /readyz, creates a directory and sends the phases through the native bulk endpoint.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { owe } from './cleanup.js'
import { runPhase } from './phase.js'
import { PHASES, type Counts } from './rows.js'
import type { PhaseResult } from './stats.js'

export interface ServerOptions {
  repoRoot: string
  dataDir: string
  adminKey: string
  /** PostgreSQL URL; absent means the embedded SQLite store. */
  databaseUrl?: string
  readyTimeoutMs: number
  /** Settings on top of the defaults (e.g. ROLLCALL_BATCH_SIZE); the imports benchmark sets some. */
  env?: Record<string, string>
  /** Node flags after `--import tsx` (e.g. `--cpu-prof`, or `--import` of a TypeScript preload). */
  nodeArgs?: string[]
  /**
   * A compiled CLI to run (`…/dist/cli/main.js`, see build.ts) instead of src/cli/main.ts under
   * tsx; tsx is then loaded only when a nodeArgs preload is TypeScript.
   */
  entry?: string
}

export interface ServerHandle {
  pid: number
  baseUrl: string
  /** The last lines the server printed, for error messages. */
  output: () => string
  stop: () => Promise<void>
}

/** A port nobody listens on right now, from the kernel. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** A worker-role process: no HTTP, so no base URL. */
export type WorkerHandle = Omit<ServerHandle, 'baseUrl'>

/** A started Rollcall process (`rollcall serve`), any role. */
interface Spawned {
  handle: WorkerHandle
  child: ChildProcess
  port: number
}

/** Spawns `rollcall serve` with the benchmark's settings; the caller waits for it to be ready. */
async function spawnRollcall(opts: ServerOptions): Promise<Spawned> {
  const port = await freePort()
  // Inherited settings (a DATABASE_URL, a ROLLCALL_BATCH_SIZE) would silently change what is
  // measured, so the server gets the defaults plus only what the benchmark sets.
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ROLLCALL_') && !['DATABASE_URL', 'HOST', 'PORT', 'LOG_LEVEL'].includes(k)) env[k] = v
  }
  Object.assign(env, { ROLLCALL_ADMIN_KEY: opts.adminKey, LOG_LEVEL: 'warn', HOST: '127.0.0.1' }, opts.env)
  if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl
  const nodeArgs = opts.nodeArgs ?? []
  const tsx = !opts.entry || nodeArgs.some((a) => a.endsWith('.ts'))
  const child = spawn(
    process.execPath,
    [
      ...(tsx ? ['--import', 'tsx'] : []),
      ...nodeArgs,
      opts.entry ?? 'src/cli/main.ts',
      'serve',
      '--port',
      String(port),
      '--data',
      opts.dataDir,
    ],
    { cwd: opts.repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  // Per stream, the line not yet ended: a chunk may end in the middle of one (the worker's banner).
  const keeper = () => {
    let partial = ''
    return (chunk: Buffer): void => {
      const split = (partial + chunk.toString('utf8')).split('\n')
      partial = split.pop() ?? ''
      lines.push(...split.filter((l) => l.trim() !== ''))
      if (lines.length > 60) lines.splice(0, lines.length - 60)
    }
  }
  child.stdout?.on('data', keeper())
  child.stderr?.on('data', keeper())
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const handle: WorkerHandle = {
    pid: child.pid ?? -1,
    output: () => lines.join('\n'),
    stop: async () => {
      if (exited(child)) return
      child.kill('SIGTERM')
      const timedOut = await Promise.race([exitPromise.then(() => false), sleep(10_000).then(() => true)])
      if (timedOut) {
        child.kill('SIGKILL')
        await exitPromise
      }
    },
  }
  return { handle, child, port }
}

/** A worker-role process (`ROLLCALL_ROLE=worker`): no HTTP, ready once it says it runs jobs. */
export async function startWorker(opts: ServerOptions): Promise<WorkerHandle> {
  const { handle, child } = await spawnRollcall({ ...opts, env: { ...opts.env, ROLLCALL_ROLE: 'worker' } })
  const deadline = Date.now() + opts.readyTimeoutMs
  while (!/Rollcall worker is running jobs/.test(handle.output())) {
    if (exited(child))
      throw new Error(`the worker exited (code ${child.exitCode ?? child.signalCode}) before it was ready:\n${handle.output()}`)
    if (Date.now() > deadline) {
      await handle.stop()
      throw new Error(`the worker was not ready within ${opts.readyTimeoutMs / 1000} s:\n${handle.output()}`)
    }
    await sleep(100)
  }
  return handle
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const { handle: h, child, port } = await spawnRollcall(opts)
  const handle: ServerHandle = { ...h, baseUrl: `http://127.0.0.1:${port}` }

  const deadline = Date.now() + opts.readyTimeoutMs
  for (;;) {
    if (exited(child)) {
      throw new Error(`the server exited (code ${child.exitCode ?? child.signalCode}) before it was ready:\n${handle.output()}`)
    }
    try {
      const res = await fetch(`${handle.baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })
      await res.arrayBuffer()
      if (res.status === 200) return handle
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await handle.stop()
      throw new Error(`the server was not ready within ${opts.readyTimeoutMs / 1000} s:\n${handle.output()}`)
    }
    await sleep(200)
  }
}

/**
 * Starts a server, runs `fn` against it and stops it, also on Ctrl-C; an error carries the
 * server's last output.
 */
export async function withServer<T>(opts: ServerOptions, fn: (server: ServerHandle) => Promise<T>): Promise<T> {
  let server: ServerHandle | undefined
  const stop = owe(async () => {
    await server?.stop()
  })
  try {
    server = await startServer(opts)
    try {
      return await fn(server)
    } catch (err) {
      const out = server.output()
      throw new Error(`${err instanceof Error ? err.message : String(err)}${out ? `\nserver output:\n${out}` : ''}`, { cause: err })
    }
  } finally {
    await stop()
  }
}

interface BulkResponse {
  summary: Counts & { total: number }
  results: { status: string; errors?: unknown }[]
}

export async function call(url: string, key: string, body: string, expectStatus: number): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(120_000),
  })
  const text = await res.text()
  if (res.status !== expectStatus) {
    throw new Error(`POST ${url} answered ${res.status}, expected ${expectStatus}: ${text.slice(0, 1_000)}`)
  }
  return JSON.parse(text) as unknown
}

/** Runs the three phases against a started server; each batch's summary is checked in runPhase. */
export async function runRollcall(
  server: ServerHandle,
  adminKey: string,
  label: string,
  total: number,
  batchSize: number,
): Promise<PhaseResult[]> {
  const dir = (await call(`${server.baseUrl}/api/v1/directories`, adminKey, JSON.stringify({ name: 'bench' }), 201)) as { id?: string }
  if (typeof dir.id !== 'string') throw new Error(`POST /api/v1/directories returned no id: ${JSON.stringify(dir)}`)
  const bulkUrl = `${server.baseUrl}/api/v1/directories/${dir.id}/users/bulk`
  const results: PhaseResult[] = []
  for (const phase of PHASES) {
    results.push(
      await runPhase({
        label,
        phase,
        total,
        batchSize,
        pid: server.pid,
        prepare: (rows) => JSON.stringify({ rows, mode: 'upsert', match: 'email' }),
        write: async (body, rows) => {
          const out = (await call(bulkUrl, adminKey, body, 200)) as BulkResponse
          const s = out.summary
          if (s.total !== rows.length) throw new Error(`${label}: summary.total ${s.total} for a batch of ${rows.length}`)
          if (s.failed > 0) {
            const firstFailure = out.results.find((r) => r.status === 'failed')
            throw new Error(`${label}: ${s.failed} rows failed, first: ${JSON.stringify(firstFailure)}`)
          }
          return { created: s.created, updated: s.updated, unchanged: s.unchanged, failed: s.failed }
        },
      }),
    )
  }
  return results
}
