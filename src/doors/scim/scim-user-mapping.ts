import { isPlainObject, own } from '../../core/merge.js'
import type { FieldDefinition, Group, Json, JsonObject, UserRecord } from '../../core/types.js'
import { URN } from './scim-constants.js'
import { scimError } from './scim-errors.js'
import { ENTERPRISE_KEYS, type ScimSchemas } from './scim-schema.js'

/**
 * SCIM User ↔ Rollcall user.
 *
 * | SCIM                          | Rollcall                                   |
 * | ----------------------------- | ------------------------------------------ |
 * | id, externalId, locale        | id, externalId, locale                     |
 * | userName                      | username; read back as email when unset    |
 * | name.givenName / familyName   | firstName / lastName                       |
 * | displayName (or name.formatted) | displayName                              |
 * | emails (one value)            | email                                      |
 * | phoneNumbers (one value)      | phone                                      |
 * | active                        | active                                     |
 * | enterprise extension          | fields.<same key> when the directory has it |
 * | fields extension              | fields.<key>                               |
 * | meta.created / lastModified / version | createdAt / updatedAt / W/"version" |
 *
 * Rollcall keeps one email and one phone: from a request, the value marked primary, else the
 * first. `metadata`, `avatarUrl`, `country` and the other Rollcall fields SCIM has no attribute
 * for are never touched by SCIM writes (a PUT replaces what SCIM can see, nothing else).
 */

const WORK = 'work'

const present = (v: unknown): boolean => v !== undefined && v !== null && v !== ''

/** Drops absent values, empty objects and empty arrays, which RFC 7643 §2.5 treats as unassigned. */
export function stripEmpty(v: Json): Json | undefined {
  if (v === null || v === '') return undefined
  if (Array.isArray(v)) {
    const items = v.map(stripEmpty).filter((x): x is Json => x !== undefined)
    return items.length ? items : undefined
  }
  if (isPlainObject(v)) {
    const out: JsonObject = {}
    for (const [k, x] of Object.entries(v)) {
      const s = stripEmpty(x)
      if (s !== undefined) out[k] = s
    }
    return Object.keys(out).length ? out : undefined
  }
  return v
}

export const userEtag = (u: Pick<UserRecord, 'version'>): string => `W/"${u.version}"`

/**
 * A user as a full SCIM resource, extension objects always present (empty when unset) so a
 * PATCH can tell "no value" from "not asserted"; `stripEmpty` makes it the wire form.
 */
export function userResource(u: UserRecord, s: ScimSchemas, base: string, groups?: Group[]): JsonObject {
  const one = (value: string | null): Json => (value === null ? [] : [{ value, type: WORK, primary: true }])
  const enterprise: JsonObject = {}
  for (const key of ENTERPRISE_KEYS) {
    const v = own(u.fields, key)
    if (!s.definitions.has(key) || !present(v)) continue
    enterprise[key] = key === 'manager' ? { value: v as Json } : (v as Json)
  }
  const fields: JsonObject = {}
  for (const a of s.fields.attributes) {
    // Own keys only: a custom field may be called `toString`.
    const v = own(u.fields, a.name)
    if (v !== undefined) fields[a.name] = v
  }
  const schemas: Json[] = [URN.user]
  if (Object.keys(enterprise).length) schemas.push(URN.enterprise)
  if (Object.keys(fields).length) schemas.push(URN.fields)
  const res: JsonObject = {
    schemas,
    id: u.id,
    externalId: u.externalId,
    userName: u.username ?? u.email ?? u.id,
    name: { givenName: u.firstName, familyName: u.lastName, formatted: u.displayName },
    displayName: u.displayName,
    locale: u.locale,
    active: u.active,
    emails: one(u.email),
    phoneNumbers: one(u.phone),
    [URN.enterprise]: enterprise,
    [URN.fields]: fields,
    meta: {
      resourceType: 'User',
      created: u.createdAt,
      lastModified: u.updatedAt,
      location: `${base}/Users/${u.id}`,
      version: userEtag(u),
    },
  }
  if (groups) res.groups = groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.name, type: 'direct' }))
  return res
}

/** The value kept from a multi-valued attribute: the primary one, else the first. */
function kept(list: Json | undefined, sub: string): Json {
  if (!Array.isArray(list)) return null
  const items = list.filter(isPlainObject)
  const chosen = items.find((x) => x.primary === true) ?? items[0]
  return chosen?.[sub] ?? null
}

/** Loosely typed input made strict where the field's type is unambiguous (Entra sends numbers as text). */
function coerce(def: FieldDefinition, v: Json): Json {
  if (typeof v !== 'string') return v
  if ((def.type === 'number' || def.type === 'integer') && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
  if (def.type === 'boolean' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true'
  return v
}

export interface UserRow {
  /** The engine's row: built-ins SCIM maps, and the custom fields it asserts (null clears). */
  data: JsonObject
}

/**
 * A canonical SCIM resource (see scim-attributes.ts) → the row that makes the user look like it:
 * every attribute SCIM maps is set, absent ones cleared. Extensions are replaced only when the
 * resource asserts them, so a client that does not know the fields extension does not wipe it.
 * `current` is the user being replaced (null on create).
 */
export function userRow(res: JsonObject, s: ScimSchemas, current: UserRecord | null, asserts: (urn: string) => boolean): UserRow {
  const userName = res.userName
  if (typeof userName !== 'string' || userName.trim() === '')
    throw scimError.invalidValue('userName is required and must be a non-empty string')
  const name = isPlainObject(res.name) ? res.name : {}
  // An empty string is how some clients clear a value; Rollcall stores no value as null.
  const value = (...vs: (Json | undefined)[]): Json => vs.find((v) => v !== undefined && v !== null && v !== '') ?? null
  const email = value(kept(res.emails, 'value'))
  const data: JsonObject = {
    externalId: value(res.externalId),
    firstName: value(name.givenName),
    lastName: value(name.familyName),
    displayName: value(res.displayName, name.formatted),
    locale: value(res.locale),
    email,
    phone: value(kept(res.phoneNumbers, 'value')),
  }
  // A user without a username reads back its email (or id) as userName; echoing that back in a
  // PUT must not turn it into a username.
  const fallback =
    current &&
    current.username === null &&
    [typeof email === 'string' ? email : null, current.id].some((x) => x !== null && x.toLowerCase() === userName.toLowerCase())
  if (!fallback) data.username = userName

  // Unsaid, `active` stays as it is (a new user is active).
  if (res.active !== undefined && res.active !== null) {
    if (typeof res.active !== 'boolean') throw scimError.invalidValue(`active must be true or false, got ${JSON.stringify(res.active)}`)
    data.active = res.active
  }
  const fields: JsonObject = {}
  if (asserts(URN.enterprise)) {
    const ext = isPlainObject(res[URN.enterprise]) ? (res[URN.enterprise] as JsonObject) : {}
    for (const key of ENTERPRISE_KEYS) {
      const def = s.definitions.get(key)
      if (!def) continue
      let v = own(ext, key) ?? null
      if (key === 'manager' && isPlainObject(v)) v = v.value ?? null
      fields[key] = v === null ? null : coerce(def, v)
    }
  }
  if (asserts(URN.fields)) {
    const ext = isPlainObject(res[URN.fields]) ? (res[URN.fields] as JsonObject) : {}
    for (const a of s.fields.attributes) {
      const v = own(ext, a.name) ?? null
      fields[a.name] = v === null ? null : coerce(s.definitions.get(a.name) as FieldDefinition, v)
    }
  }
  if (Object.keys(fields).length) data.fields = fields
  return { data }
}

/** A core field path of an engine error → the SCIM attribute a client knows. */
export function scimAttributeOf(field: string): string {
  const direct: Record<string, string> = {
    username: 'userName',
    firstName: 'name.givenName',
    lastName: 'name.familyName',
    displayName: 'displayName',
    email: 'emails.value',
    phone: 'phoneNumbers.value',
    active: 'active',
  }
  if (direct[field]) return direct[field]
  if (field.startsWith('fields.')) {
    const key = field.slice('fields.'.length)
    return `${(ENTERPRISE_KEYS as readonly string[]).includes(key) ? URN.enterprise : URN.fields}:${key}`
  }
  return field
}
