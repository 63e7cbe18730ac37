import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import { bulk, freshDirectory } from '../../../test/helpers/fixtures.js'
import { makeTempDir } from '../../../test/helpers/temp-dir.js'
import { SqliteStore } from './sqlite-store.js'

const dirs: { remove: () => void }[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove()
})

/**
 * The users the database file alone holds: a copy of it without its WAL, as a crash-free reader of
 * the file would see it. A copy taken while the thread is writing pages back can be torn (SQLite
 * then calls it malformed); that says nothing either way, so it counts as none yet and the caller
 * looks again.
 */
function usersInFileAlone(file: string, copy: string): number {
  copyFileSync(file, copy)
  let db: Database.Database | undefined
  try {
    db = new Database(copy, { readonly: true })
    // Before the first checkpoint the file may not even hold the schema (the migrations sit in the WAL too).
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users'").get()) return 0
    return (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n
  } catch (e) {
    if (e instanceof Database.SqliteError && (e.code === 'SQLITE_CORRUPT' || e.code === 'SQLITE_NOTADB')) return 0
    throw e
  } finally {
    db?.close()
  }
}

it('bulk writes reach the database file through the background checkpoint, with the WAL below the writer’s own mark', async () => {
  const tmp = makeTempDir('checkpoint')
  dirs.push(tmp)
  const file = join(tmp.path, 'r.db')
  const store = new SqliteStore({ filename: file })
  await store.migrate()
  const dir = await freshDirectory(store)
  // 2,000 users with history: ~3 MB of pages, below the 16 MiB at which the writer checkpoints itself.
  const rows = Array.from({ length: 2000 }, (_, i) => ({ email: `u${i}@example.com`, firstName: `F${i}` }))
  const r = await bulk(store, dir, rows, { batchSize: 500 })
  expect(r.summary.created).toBe(2000)
  expect(store.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(4096)
  // The thread checkpoints every 100 ms: the file alone soon holds every user.
  let inFile = 0
  for (let i = 0; i < 50 && inFile < 2000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    inFile = usersInFileAlone(file, join(tmp.path, `copy-${i}.db`))
  }
  expect(inFile).toBe(2000)
  await store.close()
  // Closed: the thread stopped first, so the writer's connection was the last and removed the WAL.
  expect(existsSync(`${file}-wal`)).toBe(false)
  expect(statSync(file).size).toBeGreaterThan(0)
})

it('a store that never writes a batch starts no thread and keeps SQLite’s default checkpoint', async () => {
  const tmp = makeTempDir('checkpoint')
  dirs.push(tmp)
  const store = new SqliteStore({ filename: join(tmp.path, 'r.db') })
  await store.migrate()
  expect(store.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
  await store.close()
})

it('a script whose last step is awaiting close() ends normally, with the WAL folded in', () => {
  const tmp = makeTempDir('checkpoint')
  dirs.push(tmp)
  const file = join(tmp.path, 'r.db')
  const script = join(tmp.path, 'script.mts')
  // Nothing but the thread's wind-down is left for the event loop once close() is called: a
  // thread left unreferenced let the process end first (exit code 13, top-level await unsettled).
  writeFileSync(
    script,
    `import { SqliteStore } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'sqlite-store.ts')).href)}
import { bulk, freshDirectory } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../../test/helpers/fixtures.ts')).href)}
const store = new SqliteStore({ filename: ${JSON.stringify(file)} })
await store.migrate()
await bulk(store, await freshDirectory(store), [{ email: 'a@example.com' }])
await store.close()
console.log('closed')
`,
  )
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 })
  expect(r.stderr).toBe('')
  expect(r.stdout.trim()).toBe('closed')
  expect(r.status).toBe(0)
  expect(existsSync(`${file}-wal`)).toBe(false)
})
