import { RollcallError } from '../core/errors.js'
import { type Store, type StoreTx, type UserLookup, WriteConflict } from '../store/store.js'
import { BatchPlanner, type Planned } from './batch-planner.js'
import { Pipeline } from './pipeline.js'
import { clientIds, lookupNames, notProcessed, type PreparedRow } from './plan.js'
import type { BulkCommand, BulkHooks, BulkResult, BulkRow, BulkStage, BulkSummary, RowResult, RowSource } from './types.js'

/** How often a batch that lost a race (a unique value taken meanwhile) is re-read and re-planned. */
export const MAX_BATCH_ATTEMPTS = 5

const ROLLBACK = Symbol('rollback')

export const gaveUp = (e: WriteConflict) =>
  new RollcallError('conflict', 'Other writers kept changing the same users; retry the request', { cause: e })

/**
 * Runs a bulk command over rows from any source, in batches:
 * validate → read the batch's users in one query → plan row by row → write the batch, its
 * history and (through `hooks.beforeCommit`) the caller's results and checkpoint in one
 * transaction. Best-effort runs commit batch by batch; atomic and dry runs use one
 * transaction for the whole input, rolled back on any failure (atomic) or always (dry run), so
 * a dry run plans every row exactly as a real run would, rows that touch the same user included.
 */
export async function runBulk(store: Store, cmd: BulkCommand, rows: RowSource, hooks: BulkHooks = {}): Promise<BulkResult> {
  const { options } = cmd
  const planner = new BatchPlanner(cmd)
  // Fields the door needs and the directory lacks: defined with the first batch that writes.
  let pending = planner.needed
  const collect = hooks.collect ?? true
  const summary: BulkSummary = { total: 0, created: 0, updated: 0, unchanged: 0, failed: 0 }
  const results: RowResult[] = []
  let failures = 0
  const budget = () => (options.maxErrors == null ? Infinity : Math.max(0, options.maxErrors - failures))
  const stopped = () => options.maxErrors != null && failures >= options.maxErrors
  /** Tells onStage the time since `since` (performance.now()), and returns now. */
  const lap = (stage: BulkStage, since: number): number => {
    const t = performance.now()
    hooks.onStage?.(stage, (t - since) / 1000)
    return t
  }

  const firstIndex = hooks.firstIndex ?? 0

  /**
   * Reads the batch's users and plans its rows. A first attempt reads them unlocked (`lock`
   * false): the writes check every version, so a user changed meanwhile fails the batch with a
   * WriteConflict, and the next attempt reads locked, as contention calls for. Rows that change
   * nothing then lock nothing, and a batch of them writes nothing (on PostgreSQL a lock is a
   * write, and its commit waited for the WAL). An atomic or dry run, one transaction that cannot
   * be tried again, reads locked.
   */
  async function planIn(tx: StoreTx, batch: PreparedRow[], lock: boolean, lookup: UserLookup = planner.lookup(batch)): Promise<Planned> {
    let t = performance.now()
    const existing = await (lock ? tx.lockUsers(cmd.directory.id, lookup) : tx.readUsers(cmd.directory.id, lookup))
    const takenIds = options.allowClientId ? new Set(await tx.idsTakenElsewhere(cmd.directory.id, clientIds(batch))) : undefined
    t = lap('lookup', t)
    const p = planner.plan(batch, existing, budget(), takenIds)
    lap('plan', t)
    return p
  }

  /** Writes the batch's users and history (and the door's fields, with the first batch that writes). */
  async function writeIn(tx: StoreTx, p: Planned): Promise<void> {
    const t = performance.now()
    const { write } = p.planned
    if (pending.length && write.inserts.length + write.updates.length > 0) {
      await tx.defineFields(cmd.directory.id, pending)
      pending = []
    }
    await tx.writeBatch(write)
    lap('write', t)
  }

  /** The caller's results and checkpoint, in the batch's transaction; returns the batch's results. */
  async function finishIn(tx: StoreTx, p: Planned): Promise<RowResult[]> {
    const t = performance.now()
    if (hooks.beforeCommit) {
      await hooks.beforeCommit(tx, p.planned.results, p.earlier)
      lap('results', t)
    }
    if (collect)
      for (const e of p.earlier) {
        const r = results[e.index - firstIndex]
        if (r) r.warnings = [...(r.warnings ?? []), e.warning]
      }
    return p.planned.results
  }

  /** Plans and writes one batch inside `tx`; returns its results without counting them. */
  async function applyBatch(tx: StoreTx, batch: PreparedRow[], lock: boolean): Promise<RowResult[]> {
    const p = await planIn(tx, batch, lock)
    await writeIn(tx, p)
    return finishIn(tx, p)
  }

  async function record(batchResults: RowResult[]): Promise<void> {
    for (const r of batchResults) {
      summary[r.status]++
      if (r.status === 'failed') failures++
      if (collect) results.push(r)
    }
    if (hooks.onProgress) await hooks.onProgress({ ...summary }, batchResults)
  }

  /** Reads the input into prepared batches and hands each to `apply`, which records its results. */
  async function consume(apply: (batch: PreparedRow[]) => Promise<void>): Promise<void> {
    let batch: PreparedRow[] = []
    const flush = async () => {
      if (batch.length === 0) return
      const current = batch
      batch = []
      if (stopped()) await record(current.map((r) => notProcessed(r.index, options.maxErrors ?? 0)))
      else await apply(current)
    }
    let index = firstIndex
    /** Adds a row to the batch; true when the batch is full. */
    const add = (row: BulkRow): boolean => {
      summary.total++
      batch.push(stopped() ? { index, patch: null, errors: [] } : planner.prepare(row, index))
      index++
      return batch.length >= options.batchSize
    }
    /** A full batch: validating stops, the batch is planned and written (timed inside). */
    const flushAt = async (since: number): Promise<number> => {
      lap('validate', since)
      await flush()
      return performance.now()
    }
    let t = performance.now()
    if (!(Symbol.asyncIterator in rows)) {
      // Rows in memory (a sync request's body): `for await` would wrap every row in a promise
      // and an iterator result, and wait a microtask for each.
      t = lap('read', t)
      for (const row of rows) if (add(row)) t = await flushAt(t)
      lap('validate', t)
    } else
      for await (const item of rows) {
        t = lap('read', t)
        if (!Array.isArray(item)) {
          if (add(item as BulkRow)) t = await flushAt(t)
        } else for (const row of item as readonly BulkRow[]) if (add(row)) t = await flushAt(t)
        t = lap('validate', t)
      }
    await flush()
  }

  if (options.atomic || options.dryRun) {
    try {
      await store.transaction(async (tx) => {
        await consume(async (batch) => record(await applyBatch(tx, batch, true)))
        if (options.dryRun || summary.failed > 0) throw ROLLBACK
      })
    } catch (e) {
      if (e === ROLLBACK) {
        /* rolled back on purpose */
      } else if (e instanceof WriteConflict) {
        throw new RollcallError('conflict', 'Another request changed the same users at the same time; retry the request', { cause: e })
      } else throw e
    }
  } else if (store.capabilities.concurrentTransactions && options.maxErrors == null) {
    // Two batches in flight (pipeline.ts). Not with maxErrors: a batch's error budget depends on
    // the failures of the batches before it, known only once they are planned.
    const pipeline = new Pipeline(store, MAX_BATCH_ATTEMPTS, gaveUp)
    await consume(async (batch) => {
      const lookup = planner.lookup(batch)
      let undefinedYet = pending
      let finished = 0
      let attempts = 0
      await pipeline.submit<Planned, RowResult[]>(
        {
          names: lookupNames(lookup),
          plan: async (tx) => {
            undefinedYet = pending
            const p = await planIn(tx, batch, ++attempts > 1, lookup)
            return { plan: p, holds: planner.holds(p) }
          },
          write: writeIn,
          finish: async (tx, p) => {
            const r = await finishIn(tx, p)
            finished = performance.now()
            return r
          },
          record: async (r) => {
            lap('commit', finished)
            await record(r)
          },
          // The definitions rolled back with the batch.
          rolledBack: () => void (pending = undefinedYet),
        },
        // The door's fields are defined by the first batch that writes: it runs alone.
        pending.length > 0,
      )
    })
    await pipeline.drain()
  } else {
    await consume(async (batch) => {
      for (let attempt = 1; ; attempt++) {
        const undefinedYet = pending
        let done: RowResult[]
        try {
          let written = 0
          done = await store.transaction(async (tx) => {
            const r = await applyBatch(tx, batch, attempt > 1)
            written = performance.now()
            return r
          })
          lap('commit', written)
        } catch (e) {
          pending = undefinedYet // the definitions rolled back with the batch
          if (!(e instanceof WriteConflict) || attempt >= MAX_BATCH_ATTEMPTS) {
            if (e instanceof WriteConflict) throw gaveUp(e)
            throw e
          }
          continue
        }
        return record(done)
      }
    })
  }

  const rolledBack = options.atomic && summary.failed > 0
  if (rolledBack && !options.dryRun) {
    // Nothing was written: every row that would have succeeded reports why it was not.
    const firstFailure = results.find((r) => r.status === 'failed')?.index
    for (const r of results) {
      if (r.status === 'failed') continue
      r.status = 'failed'
      r.changedFields = []
      r.errors = [{ field: '', code: 'rolled_back', message: `not written: the request is atomic and row ${firstFailure} failed` }]
      delete r.user
    }
    Object.assign(summary, { created: 0, updated: 0, unchanged: 0, failed: summary.total })
  }
  return { summary, results, rolledBack, stopped: stopped() }
}
