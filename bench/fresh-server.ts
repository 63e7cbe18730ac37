/**
 * A compiled server on a fresh store of one engine, for a benchmark part: a temp data directory
 * (SQLite) or a database of its own (PostgreSQL), removed afterwards whatever happens.
 */
import type { Build } from './build.js'
import { owe, tempDir } from './cleanup.js'
import { ADMIN_KEY, postgresAdminUrl, READY_TIMEOUT_MS, REPO_ROOT, safeUrl, type Engine } from './env.js'
import { call, startServer, type ServerHandle } from './http-driver.js'
import { createBenchDatabase } from './pg-admin.js'

/** Runs `fn` against the server; a string when PostgreSQL did not answer (the part skips that engine). */
export async function withFreshServer<T>(
  engine: Engine,
  build: Build,
  label: string,
  fn: (server: ServerHandle) => Promise<T>,
): Promise<T | string> {
  const tmp = tempDir()
  let dropDb: (() => Promise<void>) | null = null
  let server: ServerHandle | null = null
  try {
    let databaseUrl: string | undefined
    if (engine === 'postgres') {
      const adminUrl = postgresAdminUrl()
      try {
        const db = await createBenchDatabase(adminUrl, label)
        dropDb = owe(() => db.drop())
        databaseUrl = db.url
      } catch (err) {
        return `PostgreSQL at ${safeUrl(adminUrl)} did not answer: ${err instanceof Error ? err.message : String(err)}`
      }
    }
    server = await startServer({
      repoRoot: REPO_ROOT,
      adminKey: ADMIN_KEY,
      readyTimeoutMs: READY_TIMEOUT_MS,
      dataDir: tmp.path,
      databaseUrl,
      env: { LOG_LEVEL: 'warn' },
      entry: build.entry,
    })
    return await fn(server)
  } finally {
    await server?.stop()
    await tmp.remove()
    await dropDb?.()
  }
}

/** A new directory of the admin key's tenant; its id. */
export async function newDirectory(server: ServerHandle, name: string): Promise<string> {
  const d = (await call(`${server.baseUrl}/api/v1/directories`, ADMIN_KEY, JSON.stringify({ name }), 201)) as { id?: string }
  if (typeof d.id !== 'string') throw new Error(`POST /api/v1/directories returned no id: ${JSON.stringify(d)}`)
  return d.id
}
