import { expect, it } from 'vitest'
import { BatchPlanner } from '../src/engine/batch-planner.js'
import { type PlannedBatchIn, runPlanned } from '../src/engine/planned-run.js'
import type { PreparedRow } from '../src/engine/plan.js'
import { type BulkCommand, DEFAULT_OPTIONS } from '../src/engine/types.js'
import { encodeBatch } from '../src/store/index.js'
import type { Store } from '../src/store/store.js'
import { describeEachEngine } from './helpers/engines.js'
import { bulk, freshDirectory } from './helpers/fixtures.js'

/**
 * A batch planned away from its write transaction (the import planner's thread) can be stale by
 * the time it is written: another writer changed a user it updates, or took an email it creates.
 * The write must refuse it whole (nothing of it lands), the batch is planned again from what is
 * committed now, and that plan is written: the other writer's change survives.
 */
describeEachEngine('a batch planned outside its transaction', (engine) => {
  async function setUp(store: Store) {
    const dir = await freshDirectory(store)
    await bulk(store, dir, [{ email: 'ann@x.io', firstName: 'Ann', lastName: 'Old' }])
    const cmd: BulkCommand = {
      directory: dir,
      fields: await store.listFields(dir.id),
      options: { ...DEFAULT_OPTIONS, batchSize: 100 },
      context: { channel: 'native', keyId: null, requestId: 'req-plan', jobId: null },
    }
    const planner = new BatchPlanner(cmd)
    const rows: PreparedRow[] = [
      planner.prepare({ data: { email: 'ann@x.io', firstName: 'Annie' } }, 0),
      planner.prepare({ data: { email: 'ben@x.io', firstName: 'Ben' } }, 1),
    ]
    let plans = 0
    const plan = async (): Promise<PlannedBatchIn> => {
      plans++
      const p = planner.plan(rows, await store.findUsers(dir.id, planner.lookup(rows)), Infinity)
      return {
        no: 0,
        results: p.planned.results,
        write: encodeBatch(p.planned.write, store.dialect),
        earlier: p.earlier,
        stages: { plan: 1 },
      }
    }
    const stale = await plan()
    const committed: number[] = []
    const source = {
      async *batches() {
        yield stale
      },
      replan: async () => plan(),
      committed: (no: number) => void committed.push(no),
    }
    return { dir, source, committed, plans: () => plans }
  }

  it('a user changed since it was planned: refused, planned again, written with the other change kept', async () => {
    const store = engine.store()
    const { dir, source, committed, plans } = await setUp(store)
    // Another writer, between the plan and its write.
    await bulk(store, dir, [{ email: 'ann@x.io', lastName: 'New' }])

    const planSeconds: number[] = []
    const r = await runPlanned(store, source, { onStage: (stage, s) => void (stage === 'plan' && planSeconds.push(s)) })
    expect(plans()).toBe(2)
    // Both plans' time is told: the one refused and the one written.
    expect(planSeconds).toEqual([1, 1])
    expect(committed).toEqual([0])
    expect(r.summary).toEqual({ total: 2, created: 1, updated: 1, unchanged: 0, failed: 0 })
    const [ann] = await store.findUsers(dir.id, { email: ['ann@x.io'] })
    expect(ann).toMatchObject({ firstName: 'Annie', lastName: 'New', version: 3 })
    // One user created once: the refused attempt wrote nothing of itself.
    expect((await store.findUsers(dir.id, { email: ['ben@x.io'] })).length).toBe(1)
    const history = await store.listChanges(dir.id, { limit: 100 })
    expect(history.items.map((c) => c.action).sort()).toEqual(['create', 'create', 'update', 'update'])
  })

  it('an email taken since it was planned: refused, planned again as an update of the user who has it now', async () => {
    const store = engine.store()
    const { dir, source } = await setUp(store)
    await bulk(store, dir, [{ email: 'ben@x.io', lastName: 'First' }])

    const r = await runPlanned(store, source)
    expect(r.summary).toMatchObject({ created: 0, updated: 2 })
    const [ben] = await store.findUsers(dir.id, { email: ['ben@x.io'] })
    expect(ben).toMatchObject({ firstName: 'Ben', lastName: 'First', version: 2 })
  })
})
