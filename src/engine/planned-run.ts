import type { FieldError } from '../core/errors.js'
import { type EncodedBatch, type Store, WriteConflict } from '../store/store.js'
import { gaveUp, MAX_BATCH_ATTEMPTS } from './bulk-engine.js'
import type { BulkHooks, BulkResult, BulkStage, BulkSummary, RowResult } from './types.js'

/** A batch planned away from its write (the import planner's thread), as the writer gets it. */
export interface PlannedBatchIn {
  /** Its number in the run, from 0. */
  no: number
  /** One per row, in input order. */
  results: RowResult[]
  /** Encoded where it was planned: the writer binds the values and nothing else. */
  write: EncodedBatch
  /** Warnings for rows of earlier batches: a row of this one named the same user. */
  earlier: { index: number; warning: FieldError }[]
  /** The planner's seconds per stage for this batch (read, validate, lookup, plan). */
  stages: Partial<Record<BulkStage, number>>
}

/**
 * Where planned batches come from. The planner reads each batch's users outside the write
 * transaction, so what it planned may be stale by the time it is written: every update names the
 * version it was planned against, and every unique value is checked by the database. A batch that
 * loses such a race is planned again (`replan`) and written again.
 */
export interface PlannedSource {
  /** The batches, in input order; ends when the input does. */
  batches(): AsyncIterable<PlannedBatchIn>
  /** Plans batch `no` again from what is committed now. */
  replan(no: number): Promise<PlannedBatchIn>
  /** Batch `no` is committed: the planner may read the users it wrote. */
  committed(no: number): void
}

/**
 * The writing half of a bulk run whose batches were planned elsewhere: each batch's users, history
 * and (through `hooks.beforeCommit`) results and checkpoint in one transaction, in input order,
 * one batch at a time. Best-effort only (no atomic, dry run or maxErrors): those plan inside the
 * transaction (runBulk).
 */
export async function runPlanned(store: Store, source: PlannedSource, hooks: BulkHooks = {}): Promise<BulkResult> {
  const summary: BulkSummary = { total: 0, created: 0, updated: 0, unchanged: 0, failed: 0 }
  const lap = (stage: BulkStage, since: number): number => {
    const t = performance.now()
    hooks.onStage?.(stage, (t - since) / 1000)
    return t
  }
  /** The planner's own stages for a batch, as planned the first time or again. */
  const tell = (b: PlannedBatchIn) => {
    for (const [stage, seconds] of Object.entries(b.stages)) hooks.onStage?.(stage as BulkStage, seconds)
  }
  for await (let batch of source.batches()) {
    tell(batch)
    for (let attempt = 1; ; attempt++) {
      try {
        let t = performance.now()
        const b = batch
        await store.transaction(async (tx) => {
          await tx.writeEncoded(b.write)
          t = lap('write', t)
          if (hooks.beforeCommit) {
            await hooks.beforeCommit(tx, b.results, b.earlier)
            t = lap('results', t)
          }
        })
        lap('commit', t)
        break
      } catch (e) {
        if (!(e instanceof WriteConflict)) throw e
        if (attempt >= MAX_BATCH_ATTEMPTS) throw gaveUp(e)
        batch = await source.replan(batch.no)
        tell(batch)
      }
    }
    source.committed(batch.no)
    for (const r of batch.results) {
      summary.total++
      summary[r.status]++
    }
    if (hooks.onProgress) await hooks.onProgress({ ...summary }, batch.results)
  }
  return { summary, results: [], rolledBack: false, stopped: false }
}
