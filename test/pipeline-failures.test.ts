import { expect, it } from 'vitest'
import { Pipeline } from '../src/engine/pipeline.js'
import { WriteConflict } from '../src/store/store.js'
import type { StoreTx } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { freshDirectory } from './helpers/fixtures.js'
import { definitionOf } from '../src/core/fields.js'

/**
 * The pipeline's own contract when a batch fails, with real transactions: each batch defines one
 * field of a fresh directory (a write that rolls back with its transaction), and the test
 * checks what stayed and in which order batches were recorded.
 */
describeEachEngine('pipeline failures', (engine) => {
  const field = (key: string) => definitionOf({ key, type: 'string' }, new Date().toISOString())

  async function run(failures: Record<string, (attempt: number) => Error | null>) {
    const store = engine.store()
    const dir = await freshDirectory(store)
    const pipeline = new Pipeline(store, 5, (e) => new Error(`gave up: ${e.message}`))
    const recorded: string[] = []
    const attempts: Record<string, number> = {}
    const rolledBack: Record<string, number> = {}
    const submit = (key: string) =>
      pipeline.submit<null, string>({
        names: new Set([`batch\u0000${key}`]),
        plan: async () => {
          attempts[key] = (attempts[key] ?? 0) + 1
          return { plan: null, holds: new Set<string>() }
        },
        write: async (tx: StoreTx) => {
          await tx.defineFields(dir.id, [field(key)])
          // Let the next batch get as far as it can before this one goes on.
          await new Promise((resolve) => setTimeout(resolve, 20))
        },
        finish: async () => {
          const e = failures[key]?.(attempts[key])
          if (e) throw e
          return key
        },
        record: async (k) => void recorded.push(k),
        rolledBack: () => void (rolledBack[key] = (rolledBack[key] ?? 0) + 1),
      })
    let error: unknown = null
    try {
      for (const k of ['a', 'b', 'c', 'd']) await submit(k)
      await pipeline.drain()
    } catch (e) {
      error = e
    }
    const fields = (await store.listFields(dir.id)).filter((f) => !f.builtIn).map((f) => f.key)
    return { recorded, attempts, rolledBack, fields: fields.sort(), error }
  }

  it('a batch that loses a race runs again; the batch after it rolls back and runs again after it, in order', async () => {
    const r = await run({ b: (attempt) => (attempt === 1 ? new WriteConflict('lost a race', 'email') : null) })
    expect(r.error).toBeNull()
    expect(r.recorded).toEqual(['a', 'b', 'c', 'd'])
    expect(r.fields).toEqual(['a', 'b', 'c', 'd'])
    expect(r.attempts.b).toBe(2)
    expect(r.rolledBack.b).toBe(1)
    // c was in flight behind b on an engine whose transactions run at once: rolled back, run again.
    if (engine.store().capabilities.concurrentTransactions) {
      expect(r.attempts.c).toBe(2)
      expect(r.rolledBack.c).toBe(1)
    }
  })

  it('a batch that fails for good fails the run: nothing after it is committed, everything before it is', async () => {
    const r = await run({ b: () => new Error('disk full') })
    expect(r.error).toMatchObject({ message: 'disk full' })
    expect(r.recorded).toEqual(['a'])
    expect(r.fields).toEqual(['a'])
  })

  it('a batch that keeps losing races fails the run with the caller’s error after the allowed attempts', async () => {
    const r = await run({ c: () => new WriteConflict('lost again', 'email') })
    expect(r.error).toMatchObject({ message: 'gave up: lost again' })
    expect(r.attempts.c).toBe(5)
    expect(r.recorded).toEqual(['a', 'b'])
    expect(r.fields).toEqual(['a', 'b'])
  })
})
