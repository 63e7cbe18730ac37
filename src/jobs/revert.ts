import { jsonEqual, own, setOwn } from '../core/merge.js'
import type { ChangeRecord, ChangeSet, Json, JsonObject, UserRecord, WritableField } from '../core/types.js'
import { WRITABLE_FIELDS } from '../core/types.js'
import { blankUser } from '../core/user-patch.js'
import { deletionChanges } from '../engine/user-service.js'
import { type BatchWrite, changeWrite, WriteConflict } from '../store/store.js'
import type { RunContext } from './runner.js'
import type { Job, RevertConflict, RevertSummary } from '../core/jobs.js'
import { LeaseLost } from '../store/store.js'

/** Users per revert transaction. */
const USERS_PER_BATCH = 200
const WRITABLE: ReadonlySet<string> = new Set(WRITABLE_FIELDS)

/** A field's value in a user record, by change path (`email`, `metadata.plan`, `fields.dept`); undefined when absent. */
function valueAt(u: UserRecord, path: string): Json | undefined {
  if (WRITABLE.has(path)) return u[path as WritableField]
  // Own keys only: a metadata key `constructor` that is gone is gone, not Object's constructor.
  if (path.startsWith('metadata.')) return own(u.metadata, path.slice(9))
  if (path.startsWith('fields.')) return own(u.fields, path.slice(7))
  return undefined
}

const same = (a: Json | undefined, b: Json | undefined) => jsonEqual(a ?? null, b ?? null)

function setAt(u: UserRecord, path: string, v: Json): void {
  if (WRITABLE.has(path)) (u as unknown as Record<string, Json>)[path] = v
  else {
    const [bag, key] = path.startsWith('metadata.') ? ['metadata' as const, path.slice(9)] : ['fields' as const, path.slice(7)]
    const next: JsonObject = { ...u[bag] }
    if (v === null) delete next[key]
    else setOwn(next, key, v)
    u[bag] = next
  }
}

/** What the job did to one user: its first "before" and last "after" per field, and whether it created the user. */
function netEffect(records: ChangeRecord[]): { created: boolean; before: Map<string, Json>; after: Map<string, Json> } {
  const before = new Map<string, Json>()
  const after = new Map<string, Json>()
  for (const r of records)
    for (const [path, [b, a]] of Object.entries(r.changes)) {
      if (!before.has(path)) before.set(path, b)
      after.set(path, a)
    }
  return { created: records[0]?.action === 'create', before, after }
}

/**
 * Reverts a completed import: for every user it changed, each field the job set goes back to
 * what it was before the job, unless someone changed that field since (a conflict, left as it
 * is and reported). Users the job created are deleted again, unless changed since; users it
 * deleted are made again, same id and values (createdAt and loginCount start afresh). Runs as a job
 * in batches of users; running it again (after a crash) skips what is already back.
 */
export async function runRevert(job: Job, ctx: RunContext): Promise<Job['state']> {
  const { store, owner } = ctx
  const summary: RevertSummary = job.revert ?? { users: 0, restored: 0, deleted: 0, conflicts: 0 }
  let after: string | null = null
  try {
    for (;;) {
      const ids = await store.jobs.changedUsers(job.directoryId, job.id, after, USERS_PER_BATCH)
      if (ids.length === 0) break
      after = ids[ids.length - 1]
      const records = await store.jobs.changesOf(job.directoryId, job.id, ids)
      const byUser = new Map<string, ChangeRecord[]>()
      for (const r of records) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r])

      // Unique values the revert would give back: whoever holds them now is read too.
      const restoring = { email: [] as string[], username: [] as string[], externalId: [] as string[] }
      for (const list of byUser.values())
        for (const [path, before] of netEffect(list).before)
          if ((path === 'email' || path === 'username' || path === 'externalId') && typeof before === 'string') restoring[path].push(before)

      for (let attempt = 1; ; attempt++) {
        try {
          await store.transaction(async (tx) => {
            const locked = await tx.lockUsers(job.directoryId, { id: ids, ...restoring })
            const current = new Map(locked.map((u) => [u.id, u]))
            const holder = (path: string, v: Json) =>
              locked.find(
                (o) =>
                  typeof v === 'string' &&
                  typeof o[path as 'email'] === 'string' &&
                  (path === 'externalId' ? o.externalId === v : o[path as 'email']?.toLowerCase() === v.toLowerCase()),
              )
            const now = new Date().toISOString()
            const write: BatchWrite = { directoryId: job.directoryId, inserts: [], updates: [], deletes: [], changes: [] }
            const conflicts: RevertConflict[] = []
            const batch = { users: 0, restored: 0, deleted: 0 }
            const context = {
              channel: job.options.channel ?? ('native' as const),
              keyId: job.keyId,
              requestId: `revert:${job.id}`,
              jobId: null,
            }
            for (const id of ids) {
              batch.users++
              const u = current.get(id)
              const list = byUser.get(id) ?? []
              const effect = netEffect(list)
              if (!u) {
                // Deleted by the job (a mirror import's absent user, say): made again as it was before
                // the job, same id, unless someone took one of its unique values since. A user the
                // job both created and deleted is simply gone.
                if (effect.created || list[list.length - 1]?.action !== 'delete') continue
                const taken = (['email', 'username', 'externalId'] as const)
                  .map((k) => ({ k, v: effect.before.get(k) ?? null, o: holder(k, effect.before.get(k) ?? null) }))
                  .find((t) => t.o !== undefined)
                if (taken) {
                  conflicts.push({ userId: id, field: taken.k, expected: taken.v, actual: `taken by user ${taken.o?.id}` })
                  continue
                }
                const user = blankUser(id, job.directoryId, now)
                const changes: ChangeSet = {}
                for (const [path, before] of effect.before)
                  if (before !== null) {
                    setAt(user, path, before)
                    changes[path] = [null, before]
                  }
                user.version = 1
                write.inserts.push(user)
                write.changes.push(changeWrite(context, id, 'create', now, changes))
                batch.restored++
                continue
              }
              if (effect.created) {
                // Delete a user the job created only if it is still exactly as the job left it.
                const changedSince = [...effect.after].filter(([path, v]) => !same(valueAt(u, path), v))
                if (changedSince.length)
                  conflicts.push({
                    userId: id,
                    field: '',
                    expected: 'unchanged since the import',
                    actual: changedSince.map(([p]) => p).join(', '),
                  })
                else {
                  write.deletes?.push({ userId: id, expectedVersion: u.version })
                  write.changes.push(changeWrite(context, id, 'delete', now, deletionChanges(u)))
                  batch.deleted++
                }
                continue
              }
              const next: UserRecord = { ...u }
              const changes: ChangeSet = {}
              for (const [path, before] of effect.before) {
                const now = valueAt(u, path)
                if (same(now, before)) continue // already back (a second run, or someone undid it)
                if (!same(now, effect.after.get(path))) {
                  conflicts.push({ userId: id, field: path, expected: effect.after.get(path) ?? null, actual: now ?? null })
                  continue
                }
                const owner = holder(path, before)
                if (owner && owner.id !== id) {
                  conflicts.push({ userId: id, field: path, expected: before, actual: `taken by user ${owner.id}` })
                  continue
                }
                setAt(next, path, before)
                changes[path] = [now ?? null, before]
              }
              if (Object.keys(changes).length === 0) continue
              next.version = u.version + 1
              next.updatedAt = now
              write.updates.push({ user: next, expectedVersion: u.version, before: u })
              write.changes.push(changeWrite(context, id, 'update', now, changes))
              batch.restored++
            }
            await tx.writeBatch(write)
            await tx.jobs.addConflicts(job.id, summary.conflicts, conflicts)
            const next = {
              users: summary.users + batch.users,
              restored: summary.restored + batch.restored,
              deleted: summary.deleted + batch.deleted,
              conflicts: summary.conflicts + conflicts.length,
            }
            await tx.jobs.update(job.id, owner, { revert: next })
            Object.assign(summary, next)
          })
          break
        } catch (e) {
          // A restored email or username taken meanwhile: the batch is re-read and retried.
          if (!(e instanceof WriteConflict) || attempt >= 5) throw e
        }
      }
    }
    await store.jobs.update(job.id, owner, { state: 'reverted', finished: true, release: true })
    return 'reverted'
  } catch (e) {
    if (e instanceof LeaseLost) return job.state
    ctx.log?.error({ err: e, jobId: job.id }, 'revert failed')
    // Back to completed, with the reason: what was reverted stays reverted, and a new revert resumes.
    await store.jobs
      .update(job.id, owner, { state: 'completed', error: `revert failed: ${(e as Error).message}`, release: true })
      .catch(() => {})
    return 'completed'
  }
}
