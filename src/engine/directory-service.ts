import { errors, type FieldError, RollcallError } from '../core/errors.js'
import { hasControlChar } from '../core/input-guard.js'
import { BUILT_IN_KEYS, definitionOf, effectiveFields, FIELD_KEY_PATTERN, RESERVED_FIELD_KEYS, withNeededFields } from '../core/fields.js'
import { canSeeDirectory, type Principal } from '../core/keys.js'
import { rowJsonSchema } from '../core/schema.js'
import type { Directory, FieldDefinition, FieldInput, FieldType } from '../core/types.js'
import { ACTIVE_JOB_STATES } from '../core/jobs.js'
import type { DirectoryPatch, Store } from '../store/store.js'
import { UniqueViolation } from '../store/store.js'

export type { FieldInput }

export type FieldPatch = Partial<Omit<FieldInput, 'key' | 'type'>>

const STRINGY: ReadonlySet<FieldType> = new Set(['string', 'email', 'url', 'phone'])
const UNIQUE_TYPES: ReadonlySet<FieldType> = new Set(['string', 'email', 'url', 'phone', 'integer', 'country', 'enum', 'date'])

/** Directories and their field schemas, always seen through a principal: nothing crosses tenants. */
/** A directory's externalId is an id: no control characters (every door's schema says so too). */
function checkExternalId(externalId: string | null | undefined): void {
  if (externalId && hasControlChar(externalId))
    throw errors.validation([
      {
        field: 'externalId',
        code: 'invalid_character',
        message: "'externalId' may not contain a control character (U+0000–U+001F, U+007F)",
      },
    ])
}

export function createDirectoryService(store: Store) {
  async function resolve(p: Principal, ref: string): Promise<Directory> {
    const dir = await store.getDirectory(p.tenantId, ref)
    // A directory the key may not see is reported exactly like one that does not exist.
    if (!dir || !canSeeDirectory(p, dir.id)) throw errors.directoryNotFound(ref)
    return dir
  }

  function checkField(def: FieldDefinition): void {
    const problems: FieldError[] = []
    if (def.maxLength != null && !STRINGY.has(def.type))
      problems.push({ field: 'maxLength', code: 'invalid', message: `maxLength applies to text fields, not '${def.type}'` })
    if (def.pattern != null) {
      if (!STRINGY.has(def.type))
        problems.push({ field: 'pattern', code: 'invalid', message: `pattern applies to text fields, not '${def.type}'` })
      try {
        new RegExp(def.pattern, 'u')
      } catch (e) {
        problems.push({ field: 'pattern', code: 'invalid_format', message: `not a valid regular expression: ${(e as Error).message}` })
      }
    }
    if (def.type === 'enum' && (!def.enumValues || def.enumValues.length === 0))
      problems.push({ field: 'enumValues', code: 'required', message: 'an enum field needs at least one value in enumValues' })
    if (def.type !== 'enum' && def.enumValues != null)
      problems.push({ field: 'enumValues', code: 'invalid', message: 'enumValues applies only to enum fields' })
    if (def.unique && !def.builtIn && !UNIQUE_TYPES.has(def.type))
      problems.push({ field: 'unique', code: 'invalid', message: `unique applies to text and integer fields, not '${def.type}'` })
    if (problems.length) throw errors.validation(problems)
  }

  return {
    resolve,

    /**
     * Like `resolve`, but a directory of the caller's tenant that the key may not use is a 403, not
     * a 404: for doors whose vendors document both answers (Dynamic's environments). Directories
     * of other tenants stay invisible (404).
     */
    async resolveForKey(p: Principal, ref: string): Promise<Directory> {
      const dir = await store.getDirectory(p.tenantId, ref)
      if (!dir) throw errors.directoryNotFound(ref)
      if (!canSeeDirectory(p, dir.id)) throw new RollcallError('forbidden', `This API key has no access to directory '${ref}'`)
      return dir
    },

    async create(
      p: Principal,
      input: { name: string; externalId?: string | null; historyRetentionDays?: number | null },
    ): Promise<Directory> {
      if (p.directories !== null) throw new RollcallError('forbidden', 'A key limited to some directories cannot create directories')
      checkExternalId(input.externalId)
      try {
        return await store.createDirectory(p.tenantId, {
          name: input.name,
          externalId: input.externalId ?? null,
          historyRetentionDays: input.historyRetentionDays ?? null,
        })
      } catch (e) {
        if (e instanceof UniqueViolation)
          throw new RollcallError('directory_exists', `A directory with externalId '${input.externalId}' already exists`)
        throw e
      }
    },

    list: (p: Principal) => store.listDirectories(p.tenantId, p.directories),

    async update(p: Principal, ref: string, patch: DirectoryPatch): Promise<Directory> {
      const dir = await resolve(p, ref)
      checkExternalId(patch.externalId)
      try {
        return (await store.updateDirectory(p.tenantId, dir.id, patch, new Date().toISOString())) as Directory
      } catch (e) {
        if (e instanceof UniqueViolation)
          throw new RollcallError('directory_exists', `A directory with externalId '${patch.externalId}' already exists`)
        throw e
      }
    },

    /** Refused (409) while one of its imports is uploading, queued, running or reverting: cancel or wait for them first. */
    async remove(p: Principal, ref: string): Promise<void> {
      const dir = await resolve(p, ref)
      const unique = (await store.listFields(dir.id)).filter((f) => f.unique && !f.builtIn)
      const outcome = await store.deleteDirectory(p.tenantId, dir.id)
      if (outcome === 'not_found') throw errors.directoryNotFound(ref)
      if (outcome === 'busy') {
        const active = (await store.jobs.list(dir.id, { limit: 100 })).filter((j) => ACTIVE_JOB_STATES.includes(j.state))
        throw new RollcallError(
          'conflict',
          `The directory has ${active.length === 1 ? 'an import' : `${active.length} imports`} in progress (${active.map((j) => `${j.id}: ${j.state}`).join(', ')}); cancel ${active.length === 1 ? 'it' : 'them'} (POST /api/v1/imports/{id}/cancel) or wait until ${active.length === 1 ? 'it ends' : 'they end'}, then delete the directory`,
        )
      }
      // The partial unique indexes of its unique custom fields go with it.
      for (const f of unique) await store.setUniqueFieldIndex(dir.id, f.key, false)
    },

    /**
     * The directory's effective fields; with `needs`, also the fields a door needs and the
     * directory lacks, as they will be defined by the door's first write (nothing is written here).
     */
    async fields(dir: Directory, needs?: readonly FieldInput[]): Promise<FieldDefinition[]> {
      return withNeededFields(await store.listFields(dir.id), needs).fields
    },

    /** What the directory holds: its users (counted, one index scan) and its custom field definitions. */
    async stats(dir: Directory): Promise<{ users: number; customFields: number }> {
      const [users, fields] = await Promise.all([store.countUsers(dir.id), store.listFields(dir.id)])
      return { users, customFields: fields.filter((f) => !f.builtIn).length }
    },

    async schema(dir: Directory): Promise<Record<string, unknown>> {
      return { ...rowJsonSchema(await store.listFields(dir.id)), title: `User of directory ${dir.name}` }
    },

    async createField(dir: Directory, input: FieldInput): Promise<FieldDefinition> {
      if (!FIELD_KEY_PATTERN.test(input.key))
        throw errors.validation([
          { field: 'key', code: 'invalid_format', message: 'must start with a letter and hold only letters, digits, _ or - (at most 64)' },
        ])
      if (RESERVED_FIELD_KEYS.has(input.key))
        throw new RollcallError('field_exists', `'${input.key}' is a built-in or reserved field`, {
          errors: [{ field: 'key', code: 'reserved', message: `'${input.key}' is reserved` }],
        })
      const stored = await store.listFields(dir.id)
      if (stored.some((f) => f.key === input.key)) throw new RollcallError('field_exists', `A field '${input.key}' already exists`)
      const def = definitionOf(input, new Date().toISOString())
      checkField(def)
      await store.putField(dir.id, def)
      if (def.unique) {
        try {
          await store.setUniqueFieldIndex(dir.id, def.key, true)
        } catch (e) {
          await store.deleteField(dir.id, def.key)
          if (e instanceof UniqueViolation)
            throw new RollcallError('conflict', `Users of this directory already share values of '${def.key}'; it cannot be unique`)
          throw e
        }
      }
      return def
    },

    async updateField(dir: Directory, key: string, patch: FieldPatch): Promise<FieldDefinition> {
      const current = effectiveFields(await store.listFields(dir.id)).find((f) => f.key === key)
      if (!current) throw errors.fieldNotFound(key)
      if (current.builtIn) {
        const allowed = new Set(['label', 'required'])
        const refused = Object.keys(patch).filter((k) => !allowed.has(k))
        if (refused.length)
          throw errors.validation(
            refused.map((k) => ({ field: k, code: 'read_only', message: `'${k}' of a built-in field cannot be changed` })),
          )
      }
      const now = new Date().toISOString()
      const def: FieldDefinition = { ...current, ...stripUndefined(patch), updatedAt: now, createdAt: current.createdAt ?? now }
      checkField(def)
      await store.putField(dir.id, def)
      return def
    },

    async deleteField(dir: Directory, key: string): Promise<void> {
      if (BUILT_IN_KEYS.has(key)) throw new RollcallError('bad_request', `'${key}' is a built-in field and cannot be deleted`)
      if (!(await store.deleteField(dir.id, key))) throw errors.fieldNotFound(key)
      await store.setUniqueFieldIndex(dir.id, key, false)
    },
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

export type DirectoryService = ReturnType<typeof createDirectoryService>
