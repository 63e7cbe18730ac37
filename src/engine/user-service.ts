import { errors, type FieldError, RollcallError } from '../core/errors.js'
import { effectiveFields, withNeededFields } from '../core/fields.js'
import { isConflict } from '../core/row-errors.js'
import type { ChangeContext, ChangeSet, Directory, FeedPosition, FieldInput, FieldType, UserRecord } from '../core/types.js'
import { WRITABLE_FIELDS } from '../core/types.js'
import { type ChangeQuery, changeWrite, type Store, type UserListQuery, type UserLookup } from '../store/store.js'
import { runBulk } from './bulk-engine.js'
import type { UserFilterExpr, UserSearch } from '../core/user-filter.js'
import { type UserCondition, userFilterOf } from './user-conditions.js'
import { type DeletedUserRef, restoreUser } from './user-restore.js'
import { type BulkHooks, type BulkOptions, type BulkResult, type BulkRow, DEFAULT_OPTIONS } from './types.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** User ids are UUIDs: anything else names no user (and never reaches a query). */
function assertUserId(id: string): void {
  if (!UUID_RE.test(id)) throw errors.userNotFound(id)
}

/** A single-user write failed: the row's errors as one request error. */
function rowFailure(errs: FieldError[]): RollcallError {
  if (errs.some((e) => e.code === 'user_not_found')) return new RollcallError('user_not_found', errs[0].message, { errors: errs })
  if (errs.some((e) => e.code === 'version_mismatch'))
    return new RollcallError('version_mismatch', errs.find((e) => e.code === 'version_mismatch')?.message, { errors: errs })
  if (errs.some(isConflict))
    return new RollcallError(
      'user_exists',
      errs
        .filter(isConflict)
        .map((e) => e.message)
        .join('; '),
      { errors: errs },
    )
  return errors.validation(errs)
}

/** Users of one directory: reads go to the store, every write goes through the bulk engine. */
export function createUserService(store: Store, defaults: { batchSize: number }) {
  async function bulk(
    dir: Directory,
    rows: AsyncIterable<BulkRow> | Iterable<BulkRow>,
    options: Partial<BulkOptions>,
    context: ChangeContext,
    hooks?: BulkHooks,
  ): Promise<BulkResult> {
    const fields = await store.listFields(dir.id)
    return runBulk(
      store,
      { directory: dir, fields, options: { ...DEFAULT_OPTIONS, batchSize: defaults.batchSize, ...options }, context },
      rows,
      hooks,
    )
  }

  async function one(dir: Directory, row: BulkRow, options: Partial<BulkOptions>, context: ChangeContext): Promise<UserRecord> {
    const r = await bulk(dir, [row], { ...options, returnUsers: true, atomic: false, dryRun: false }, context)
    const res = r.results[0]
    if (res.status === 'failed') throw rowFailure(res.errors)
    return res.user as UserRecord
  }

  return {
    bulk,

    async get(dir: Directory, id: string): Promise<UserRecord> {
      assertUserId(id)
      const u = await store.getUser(dir.id, id)
      if (!u) throw errors.userNotFound(id)
      return u
    },

    list: (dir: Directory, q: UserListQuery) => store.listUsers(dir.id, q),

    /** Users matching a filter tree, sorted and paged by offset, with the total (SCIM lists). */
    search: (dir: Directory, q: UserSearch) => store.searchUsers(dir.id, q),

    /** Users holding any of the given ids, externalIds, emails or usernames, in one query (doors that address users by their own keys). */
    find: (dir: Directory, lookup: UserLookup) => store.findUsers(dir.id, lookup),

    /** Types custom-field filter values from the query string by their definitions. */
    async fieldFilters(dir: Directory, raw: Record<string, string>): Promise<Record<string, string | number | boolean>> {
      const defs = new Map(
        effectiveFields(await store.listFields(dir.id))
          .filter((f) => !f.builtIn)
          .map((f) => [f.key, f.type]),
      )
      const out: Record<string, string | number | boolean> = {}
      const problems: FieldError[] = []
      for (const [key, value] of Object.entries(raw)) {
        const type: FieldType | undefined = defs.get(key)
        const field = `fields.${key}`
        if (!type) problems.push({ field, code: 'unknown_field', message: `no custom field '${key}' in this directory` })
        else if (type === 'number' || type === 'integer') {
          const n = Number(value)
          if (value.trim() === '' || !Number.isFinite(n)) problems.push({ field, code: 'invalid_type', message: 'must be a number' })
          else out[key] = n
        } else if (type === 'boolean') {
          if (value !== 'true' && value !== 'false') problems.push({ field, code: 'invalid_type', message: 'must be true or false' })
          else out[key] = value === 'true'
        } else if (type === 'json') problems.push({ field, code: 'invalid', message: 'json fields cannot be filtered by equality' })
        else out[key] = value
      }
      if (problems.length) throw errors.validation(problems)
      return out
    },

    create: (
      dir: Directory,
      data: unknown,
      context: ChangeContext,
      opts: Pick<Partial<BulkOptions>, 'allowClientId' | 'needsFields'> = {},
    ) =>
      one(
        dir,
        { data },
        {
          mode: 'create',
          match: ['id', 'email', 'username', 'externalId'],
          allowClientId: opts.allowClientId ?? false,
          needsFields: opts.needsFields,
        },
        context,
      ),

    /** Merge-patches one user by id (RFC 7396 for the whole body). */
    async patch(dir: Directory, id: string, data: unknown, context: ChangeContext, expectedVersion?: number): Promise<UserRecord> {
      assertUserId(id)
      if (data === null || typeof data !== 'object' || Array.isArray(data))
        throw errors.validation([{ field: '', code: 'invalid_type', message: 'the body must be a JSON object' }])
      if ('id' in data && (data as { id: unknown }).id !== id)
        throw errors.validation([{ field: 'id', code: 'read_only', message: 'a user id cannot be changed' }])
      if (Object.keys(data).length === 0) return this.get(dir, id)
      return one(dir, { data: { ...data, id }, expectedVersion }, { mode: 'update', match: ['id'] }, context)
    },

    async remove(dir: Directory, id: string, context: ChangeContext, expectedVersion?: number): Promise<void> {
      assertUserId(id)
      await store.transaction(async (tx) => {
        const [user] = await tx.lockUsers(dir.id, { id: [id] })
        if (!user) throw errors.userNotFound(id)
        if (expectedVersion !== undefined && user.version !== expectedVersion)
          throw new RollcallError('version_mismatch', `the user is at version ${user.version}, not ${expectedVersion}`)
        await tx.writeBatch({
          directoryId: dir.id,
          inserts: [],
          updates: [],
          deletes: [{ userId: id, expectedVersion: user.version }],
          changes: [changeWrite(context, id, 'delete', new Date().toISOString(), deletionChanges(user))],
        })
      })
    },

    history: (dir: Directory, q: ChangeQuery) => store.listChanges(dir.id, q),

    /**
     * The change feed after `after`: what is there now, or, with `waitMs`, the first records to
     * arrive within it (checked every `pollMs`; PostgreSQL's writers may be other processes).
     * `stop()` ends the wait early (the client went away).
     */
    async changes(
      dir: Directory,
      after: FeedPosition | null,
      limit: number,
      wait: { waitMs: number; pollMs?: number; stop?: () => boolean } = { waitMs: 0 },
    ) {
      const deadline = Date.now() + wait.waitMs
      for (;;) {
        const page = await store.changeFeed(dir.id, after, limit)
        if (page.expired)
          throw new RollcallError(
            'cursor_expired',
            'The feed no longer holds the record this cursor follows (history retention deleted it, or a restore reset it): read the history, then start the feed again without a cursor',
          )
        if (page.items.length || Date.now() >= deadline || wait.stop?.()) return page.items
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait.pollMs ?? 200, Math.max(1, deadline - Date.now()))))
      }
    },

    /** Typed conditions (`fields.xp >= 10`, `createdAt <= 2024-01-31`) as a list filter, checked against the directory's fields. */
    /** With `needs`: a door's fields the directory lacks yet are known (and hold no value). */
    filterOf: async (dir: Directory, conditions: readonly UserCondition[], needs?: readonly FieldInput[]): Promise<UserFilterExpr> =>
      userFilterOf(withNeededFields(await store.listFields(dir.id), needs).fields, conditions),

    /** Brings a deleted user back, same id and values, from its deletion record (see user-restore.ts). */
    restore: (dir: Directory, ref: DeletedUserRef, context: ChangeContext): Promise<UserRecord> =>
      restoreUser(
        { store, create: (d, row, ctx) => one(d, { data: row }, { mode: 'create', match: ['id'], allowClientId: true }, ctx) },
        dir,
        ref,
        context,
      ),
  }
}

/** A deleted user's change-set: every field that had a value, to null. */
export function deletionChanges(u: UserRecord): ChangeSet {
  const changes: ChangeSet = {}
  for (const f of WRITABLE_FIELDS) if (u[f] !== null) changes[f] = [u[f], null]
  for (const [k, v] of Object.entries(u.metadata)) changes[`metadata.${k}`] = [v, null]
  for (const [k, v] of Object.entries(u.fields)) changes[`fields.${k}`] = [v, null]
  return changes
}

export type UserService = ReturnType<typeof createUserService>
