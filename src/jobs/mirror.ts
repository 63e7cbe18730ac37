import {
  type AbsentSummary,
  type AbsentUserRef,
  DEFAULT_MAX_ABSENT,
  type ImportOptions,
  type Job,
  type JobResultRow,
  type MaxAbsent,
} from '../core/jobs.js'
import type { ChangeContext, Directory, FieldDefinition, UserRecord } from '../core/types.js'
import { uf } from '../core/user-filter.js'
import { type UserCondition, userFilterOf } from '../engine/user-conditions.js'
import { deletionChanges } from '../engine/user-service.js'
import { type AbsentQuery, type BatchWrite, type ChangeWrite, changeWrite, type Store, type StoreTx } from '../store/store.js'

/** What the absent phase needs of a running job's context. */
export interface AbsentContext {
  store: Store
  /** The worker holding the job's lease. */
  owner: string
  batchSize: number
}

/** Absent users the summary's sample shows. */
const SAMPLE = 10

/** A mirror import's scope as the core's conditions: each key equal to its value (metadata text exactly, as the users list filters it). */
export const scopeConditions = (scope: ImportOptions['scope']): UserCondition[] =>
  Object.entries(scope ?? {}).map(([field, value]) => ({
    field,
    op: 'eq',
    value,
    ...(field.startsWith('metadata.') && { caseExact: true }),
  }))

/** Which users a mirror import may find absent: those in its scope (to deactivate, only active ones) that existed when it began. */
export function absentQuery(job: Job, definitions: readonly FieldDefinition[]): AbsentQuery {
  const scope = userFilterOf(definitions, scopeConditions(job.options.scope))
  return {
    filter: job.options.absent === 'deactivate' ? uf.and(scope, { op: 'eq', field: { column: 'active' }, value: true }) : scope,
    createdBefore: job.startedAt ?? job.createdAt,
  }
}

/** The safeguard's limit as a count of users. */
export const absentLimit = (max: MaxAbsent | undefined, scoped: number): number => {
  const m = max ?? DEFAULT_MAX_ABSENT
  return 'count' in m ? m.count : Math.floor((scoped * m.percent) / 100)
}

const refOf = (u: UserRecord): AbsentUserRef => ({ id: u.id, email: u.email, username: u.username, externalId: u.externalId })

/**
 * What the absent phase does once the input is in, before it changes anyone: skip (rows failed,
 * or the input stopped early), stop for a confirmation (over the safeguard), or go on. The
 * summary it returns is stored on the job.
 */
export async function assessAbsent(
  ctx: Pick<AbsentContext, 'store'>,
  job: Job,
  q: AbsentQuery,
  outcome: { failed: number; stopped: boolean },
): Promise<AbsentSummary> {
  const action = job.options.absent === 'delete' ? 'delete' : 'deactivate'
  const base: AbsentSummary = {
    action,
    phase: 'running',
    scoped: 0,
    absent: 0,
    limit: 0,
    confirmed: false,
    deactivated: 0,
    deleted: 0,
    reason: null,
    sample: [],
  }
  if (outcome.stopped)
    return {
      ...base,
      phase: 'skipped',
      reason: 'the import stopped at maxErrors before reading its whole input, so no user is known to be absent',
    }
  if (outcome.failed > 0 && !job.options.absentOnErrors)
    return {
      ...base,
      phase: 'skipped',
      reason: `${outcome.failed} rows failed, and a failed row may be a user who is still there: nobody was ${action === 'delete' ? 'deleted' : 'deactivated'} (set absentOnErrors=true to go on regardless)`,
    }
  const { scoped, absent } = await ctx.store.jobs.countAbsent(job.directoryId, job.id, q)
  const limit = absentLimit(job.options.maxAbsent, scoped)
  const sample = absent > 0 ? (await ctx.store.jobs.absentUsers(job.directoryId, job.id, q, 0, SAMPLE)).users.map(refOf) : []
  return { ...base, phase: absent > limit ? 'needs_confirmation' : 'running', scoped, absent, limit, sample }
}

/**
 * Deactivates or deletes absent users (at most a batch, as locked now: one deleted or deactivated
 * meanwhile is passed over), inside the caller's transaction, with their history under the job.
 * A dry run writes nothing and plans each one instead. Returns their results, indexed from `firstIndex`.
 */
export async function changeAbsent(
  tx: StoreTx,
  dir: Directory,
  action: 'deactivate' | 'delete',
  candidates: readonly UserRecord[],
  context: ChangeContext,
  firstIndex: number,
  dryRun: boolean,
): Promise<JobResultRow[]> {
  if (candidates.length === 0) return []
  const locked = dryRun ? candidates : await tx.lockUsers(dir.id, { id: candidates.map((u) => u.id) })
  const byId = new Map(locked.map((u) => [u.id, u]))
  const now = new Date().toISOString()
  const updates: BatchWrite['updates'] = []
  const deletes: { userId: string; expectedVersion: number }[] = []
  const changes: ChangeWrite[] = []
  const rows: JobResultRow[] = []
  for (const c of candidates) {
    const u = byId.get(c.id)
    if (!u || (action === 'deactivate' && !u.active)) continue
    const set = action === 'delete' ? deletionChanges(u) : { active: [true, false] as [boolean, boolean] }
    if (action === 'delete') deletes.push({ userId: u.id, expectedVersion: u.version })
    else updates.push({ user: { ...u, active: false, version: u.version + 1, updatedAt: now }, expectedVersion: u.version, before: u })
    changes.push(changeWrite(context, u.id, action === 'delete' ? 'delete' : 'update', now, set))
    rows.push({
      index: firstIndex + rows.length,
      line: null,
      status: action === 'delete' ? 'deleted' : 'deactivated',
      userId: u.id,
      changedFields: action === 'delete' ? [] : ['active'],
      errors: [],
      warnings: [],
      plan: dryRun ? { data: null, userId: u.id, baseVersion: u.version, changes: set } : null,
      raw: null,
    })
  }
  if (!dryRun && changes.length) await tx.writeBatch({ directoryId: dir.id, inserts: [], updates, deletes, changes })
  return rows
}

/**
 * The absent phase after a mirror import's input: every absent user changed (or, for a dry run,
 * planned) a batch per transaction, each with its results and the job's absent summary. Absent
 * users are found again for every batch (scoped, unmatched, and still active or still there), so
 * a resume after a crash picks up exactly the ones not yet done.
 */
export async function runAbsentPhase(
  ctx: AbsentContext,
  job: Job,
  dir: Directory,
  q: AbsentQuery,
  start: AbsentSummary,
  firstIndex: number,
  context: ChangeContext,
  between: () => Promise<void>,
): Promise<AbsentSummary> {
  const { store, owner } = ctx
  const dryRun = job.options.dryRun
  let summary: AbsentSummary = { ...start, phase: 'running' }
  for (;;) {
    const page = await store.jobs.absentUsers(dir.id, job.id, q, summary.afterSeq ?? 0, ctx.batchSize)
    if (page.lastSeq === null) break
    const afterSeq = page.lastSeq
    summary = await store.transaction(async (tx) => {
      const done = summary.deactivated + summary.deleted
      const rows = await changeAbsent(tx, dir, summary.action, page.users, context, firstIndex + done, dryRun)
      const next = {
        ...summary,
        afterSeq,
        [summary.action === 'delete' ? 'deleted' : 'deactivated']:
          (summary.action === 'delete' ? summary.deleted : summary.deactivated) + rows.length,
      }
      await tx.jobs.recordAbsent(job.id, owner, rows, next)
      return next
    })
    await between()
  }
  const { afterSeq: _, ...done } = summary
  return { ...done, phase: 'done' }
}
