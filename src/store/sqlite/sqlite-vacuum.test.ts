import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import { SqliteStore } from './sqlite-store.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'rollcall-vacuum-'))
  dirs.push(d)
  return join(d, 'r.db')
}

it('a new file uses incremental auto-vacuum, so space freed by large deletes can be given back', async () => {
  const store = new SqliteStore({ filename: tempFile() })
  await store.migrate()
  expect(store.raw.pragma('auto_vacuum', { simple: true })).toBe(2)
  await store.close()
})

it('a file made without auto-vacuum is converted by migrate, its data kept', async () => {
  const file = tempFile()
  const old = new Database(file)
  old.pragma('auto_vacuum = NONE')
  old.exec("CREATE TABLE keep_me (v TEXT); INSERT INTO keep_me VALUES ('still here')")
  expect(old.pragma('auto_vacuum', { simple: true })).toBe(0)
  old.close()
  const store = new SqliteStore({ filename: file })
  await store.migrate()
  expect(store.raw.pragma('auto_vacuum', { simple: true })).toBe(2)
  expect(store.raw.prepare('SELECT v FROM keep_me').get()).toEqual({ v: 'still here' })
  await store.close()
})
