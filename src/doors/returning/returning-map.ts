import { own } from '../../core/merge.js'
import { createHash } from 'node:crypto'
import type { ChangeRecord, Directory, FieldDefinition, FieldType, Json, UserRecord } from '../../core/types.js'
import type { FieldInput } from '../../engine/directory-service.js'

/**
 * Returning.AI's names and ids over Rollcall's users and field definitions. Returning.AI ids are
 * 24-hex ObjectIds; Rollcall's are UUIDs or keys, so the door derives stable 24-hex ids from them
 * (the same every time, and a client may send either form back).
 */

/** A community's id: the first 24 hex digits of its directory's UUID (traceable to the directory at a glance). */
export const communityIdOf = (dir: Directory): string => dir.id.replace(/-/g, '').slice(0, 24)

/** A 24-hex id derived from parts: fields (directory + key) and history items (directory + seq + key). */
export const objectId = (...parts: (string | number)[]): string =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24)

export const fieldIdOf = (dir: Directory, key: string): string => objectId(dir.id, 'field', key)

/** The platform's numeric user fields: custom fields of every community the door writes to. */
export const PLATFORM_FIELDS: readonly FieldInput[] = [
  { key: 'xp', label: 'XP', type: 'number' },
  { key: 'coins', label: 'Coins', type: 'number' },
]
const PLATFORM_KEYS: ReadonlySet<string> = new Set(PLATFORM_FIELDS.map((f) => f.key))

/** Returning.AI's user field names (filters, `fields`) → canonical fields. Anything else names a custom field by key. */
const NAMES: Record<string, string> = {
  userId: 'id',
  email: 'email',
  username: 'username',
  first_name: 'firstName',
  firstname: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  display_name: 'displayName',
  displayname: 'displayName',
  join_date: 'createdAt',
  language: 'locale',
  externalId: 'externalId',
  xp: 'fields.xp',
  coins: 'fields.coins',
}
/** The names a filtered user is rendered with when a request asks for no `fields`. */
export const DEFAULT_FIELDS = ['email', 'first_name', 'last_name', 'join_date', 'xp', 'coins'] as const

export const canonicalOf = (name: string): string => own(NAMES, name) ?? `fields.${name}`

/** A canonical path (`firstName`, `fields.vip`, `metadata.referral`) → the name a Returning.AI client sent. */
export function returningPath(path: string): string {
  if (path.startsWith('fields.')) return path.slice(7)
  if (path.startsWith('metadata.')) return path.slice(9)
  const create: Record<string, string> = {
    firstName: 'firstname',
    lastName: 'lastname',
    displayName: 'displayname',
    createdAt: 'join_date',
    locale: 'language',
  }
  return own(create, path) ?? path
}

/** One field of a user by its Returning.AI name; the platform's counters read 0 when unset. */
export function valueOf(u: UserRecord, name: string): Json {
  const path = canonicalOf(name)
  if (path.startsWith('fields.')) {
    const key = path.slice(7)
    return own(u.fields, key) ?? (PLATFORM_KEYS.has(key) ? 0 : null)
  }
  return own(u as unknown as Record<string, Json>, path) ?? null
}

const num = (v: Json | undefined): number => (typeof v === 'number' ? v : 0)

/**
 * "User data": the documented keys first, Rollcall's identity fields after them. Activity
 * counters Rollcall does not keep (messages, reactions, time spent, streaks) are 0, every user
 * has the one role `@all`, and `visitCount` is the user's login count.
 */
export function renderUserData(u: UserRecord) {
  const customFields = Object.fromEntries(Object.entries(u.fields).filter(([k]) => !PLATFORM_KEYS.has(k)))
  return {
    userId: u.id,
    xp: num(u.fields.xp),
    coins: num(u.fields.coins),
    roles: ['@all'],
    highestRole: '@all',
    firstName: u.firstName,
    lastName: u.lastName,
    xpEarnedToday: 0,
    coinsEarnedToday: 0,
    language: u.locale,
    totalMessages: 0,
    totalReactions: 0,
    visitCount: u.loginCount,
    replySent: 0,
    timeSpent: 0,
    loginStreak: 0,
    customFields,
    email: u.email,
    username: u.username,
    displayName: u.displayName,
    externalId: u.externalId,
    joinDate: u.createdAt,
  }
}

/** Returning.AI field types → Rollcall's. */
export const TYPE_IN: Record<string, FieldType> = {
  text: 'string',
  'single-line-text': 'string',
  'multi-line-text': 'string',
  number: 'number',
  numerical: 'number',
  boolean: 'boolean',
  date: 'date',
  select: 'enum',
}

/** Rollcall's field types → the nearest Returning.AI type. */
function typeOut(t: FieldType): string {
  if (t === 'number' || t === 'integer') return 'number'
  if (t === 'boolean') return 'boolean'
  if (t === 'date' || t === 'datetime') return 'date'
  if (t === 'enum') return 'select'
  return 'text'
}

/** A field definition as a Returning.AI user field. Rollcall does not record who defined a field: `creator` is null. */
export function renderField(dir: Directory, f: FieldDefinition) {
  return {
    _id: fieldIdOf(dir, f.key),
    field: f.key,
    name: f.label,
    type: typeOut(f.type),
    required: f.required,
    ...(f.enumValues ? { options: f.enumValues } : {}),
    creator: null,
    communityId: communityIdOf(dir),
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
  }
}

/** Where a change came from, in the history model's terms (the exact channel travels beside it). */
function sourceOf(rec: ChangeRecord): string {
  if (rec.jobId) return 'bulk-update'
  return rec.channel === 'console' || rec.channel === 'cli' ? 'admin' : 'api'
}

/**
 * A change record as user field history items: one per custom field it changed (optionally only
 * `onlyKey`). History keeps values, not arithmetic, so every item is an `overwrite` from
 * `previousValue` to `value`, whatever operation produced it.
 */
export function historyItems(dir: Directory, rec: ChangeRecord, onlyKey?: string) {
  return Object.entries(rec.changes)
    .filter(([path]) => path.startsWith('fields.') && (onlyKey === undefined || path === `fields.${onlyKey}`))
    .map(([path, [before, after]]) => {
      const key = path.slice(7)
      return {
        _id: objectId(dir.id, 'history', rec.seq, key),
        communityId: communityIdOf(dir),
        fieldId: fieldIdOf(dir, key),
        field: key,
        userId: rec.userId,
        previousValue: before,
        value: after,
        operation: 'overwrite',
        source: sourceOf(rec),
        channel: rec.channel,
        jobId: rec.jobId,
        createdAt: rec.at,
      }
    })
}
