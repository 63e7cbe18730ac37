import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

/** A new empty directory under the system's temporary directory, named `rollcall-<name>-…`, and how to remove it. */
export function makeTempDir(name: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `rollcall-${name}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * A temporary directory for a describe block: its path is known now, the directory is made
 * before the block's tests and removed, with all it holds, after them (so a skipped block
 * leaves nothing behind).
 */
export function useTempDir(name: string): string {
  const path = join(tmpdir(), `rollcall-${name}-${randomUUID()}`)
  beforeAll(() => void mkdirSync(path, { mode: 0o700 }))
  afterAll(() => rmSync(path, { recursive: true, force: true }))
  return path
}
