/** Cleanups still owed (server children, temp dirs, bench databases), run at the end and on Ctrl-C. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const cleanups = new Set<() => Promise<void> | void>()

/** Registers a cleanup; the returned function runs it now (once) and forgets it. */
export function owe(fn: () => Promise<void> | void): () => Promise<void> {
  cleanups.add(fn)
  return async () => {
    if (!cleanups.delete(fn)) return
    await fn()
  }
}

/** Runs every cleanup still owed, newest first; a failing one is reported and the rest still run. */
export async function cleanUp(): Promise<void> {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn)
    try {
      await fn()
    } catch (err) {
      console.error('cleanup failed:', err)
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`)
    void cleanUp().finally(() => process.exit(130))
  })
}

/** A fresh directory under the system's temp dir, removed by `remove` (or on Ctrl-C). */
export function tempDir(): { path: string; remove: () => Promise<void> } {
  const path = mkdtempSync(join(tmpdir(), 'rollcall-bench-'))
  return { path, remove: owe(() => rmSync(path, { recursive: true, force: true })) }
}
