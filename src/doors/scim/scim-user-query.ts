import type { FieldDefinition } from '../../core/types.js'
import { type CompareOp, type FilterColumn, type FilterField, uf, type UserFilterExpr, type UserSort } from '../../core/user-filter.js'
import { type Resolved, resolvePath, type ResourceSchemas } from './scim-attributes.js'
import { scimError } from './scim-errors.js'
import { type AttrPath, parseAttrPath, type ScimFilter, type ScimValue, showPath } from './scim-filter.js'
import { type AttrDef, findAttr } from './scim-schema.js'

/**
 * A SCIM filter on Users → the core's filter tree, which the store runs as one SQL query: users
 * are never loaded to be filtered in memory. Also `sortBy` → the core's sort.
 *
 * Special attributes:
 * - `userName` is the username, or the email of users without one (how they read back);
 *   compared case-insensitively through the store's lowercased, indexed columns.
 * - `active` is the built-in `active` (every user has it: `active pr` always holds).
 * - `emails` and `phoneNumbers` hold one value, typed "work" and primary: `emails[type eq "work"]`
 *   and `emails.primary eq true` mean "has an email".
 */

const bad = (msg: string) => scimError.invalidFilter(`Invalid filter: ${msg}`)

/** What a resolved attribute is in the store. */
type Target =
  | { t: 'field'; field: FilterField; type: 'string' | 'dateTime' | 'number' | 'boolean'; caseExact: boolean }
  | { t: 'userName' }
  | { t: 'active' }
  /** A value every present element has (`emails.type` is "work"); present when `exists` is. */
  | { t: 'constant'; value: string | boolean; exists: FilterField }
  /** `name` as a whole: present when any of its parts is. */
  | { t: 'anyOf'; fields: FilterField[] }

const col = (column: FilterColumn): FilterField => ({ column })
const text = (column: FilterColumn, caseExact = false): Target => ({ t: 'field', field: col(column), type: 'string', caseExact })

function customTarget(def: FieldDefinition | undefined, name: string): Target {
  if (!def) throw bad(`'${name}' is not stored in this directory`)
  if (def.type === 'json') throw bad(`'${name}' holds JSON and cannot be filtered on`)
  if (def.type === 'number' || def.type === 'integer')
    return { t: 'field', field: { custom: def.key, kind: 'number' }, type: 'number', caseExact: true }
  if (def.type === 'boolean') return { t: 'field', field: { custom: def.key, kind: 'boolean' }, type: 'boolean', caseExact: true }
  // Custom dates and date-times are kept as written, so they compare as text.
  return { t: 'field', field: { custom: def.key, kind: 'text' }, type: 'string', caseExact: false }
}

function targetOf(r: Resolved, definitions: Map<string, FieldDefinition>): Target {
  const { attr, sub } = r
  const name = sub ? `${attr.name}.${sub.name}` : attr.name
  if (attr.ignored || sub?.ignored) throw bad(`'${name}' is not stored by Rollcall`)
  if (r.container !== null) {
    const key = attr.name
    if (key === 'manager' && sub && sub.name !== 'value') throw bad(`'${name}' cannot be filtered on`)
    const t = customTarget(definitions.get(key), name)
    return key === 'manager' && t.t === 'field' ? { ...t, caseExact: true } : t
  }
  switch (attr.name) {
    case 'id':
      return text('id', true)
    case 'externalId':
      return text('externalId', true)
    case 'userName':
      return { t: 'userName' }
    case 'displayName':
      return text('displayName')
    case 'locale':
      return text('locale')
    case 'active':
      return { t: 'active' }
    case 'name':
      if (!sub) return { t: 'anyOf', fields: [col('firstName'), col('lastName'), col('displayName')] }
      return text(sub.name === 'givenName' ? 'firstName' : sub.name === 'familyName' ? 'lastName' : 'displayName')
    case 'emails':
    case 'phoneNumbers': {
      const column: FilterColumn = attr.name === 'emails' ? 'email' : 'phone'
      if (!sub || sub.name === 'value') return text(column)
      if (sub.name === 'type') return { t: 'constant', value: 'work', exists: col(column) }
      return { t: 'constant', value: true, exists: col(column) }
    }
    case 'meta':
      if (sub?.name === 'created') return { t: 'field', field: col('createdAt'), type: 'dateTime', caseExact: true }
      if (sub?.name === 'lastModified') return { t: 'field', field: col('updatedAt'), type: 'dateTime', caseExact: true }
      if (sub?.name === 'resourceType') return { t: 'constant', value: 'User', exists: col('id') }
      throw bad(`'${name}' cannot be filtered on`)
    default:
      throw bad(`'${name}' cannot be filtered on`)
  }
}

/** A filter value checked against the attribute's type, as the store compares it. */
function valueFor(t: Extract<Target, { t: 'field' }>, op: string, v: ScimValue, name: string): string | number | boolean {
  if (t.type === 'boolean') {
    if (op !== 'eq' && op !== 'ne') throw bad(`'${name}' is a boolean: only eq and ne apply`)
    if (typeof v !== 'boolean') throw bad(`'${name}' is a boolean: compare it with true or false`)
    return v
  }
  if ((op === 'co' || op === 'sw' || op === 'ew') && t.type !== 'string') throw bad(`'${op}' applies to strings, and '${name}' is not one`)
  if (t.type === 'number') {
    if (typeof v !== 'number') throw bad(`'${name}' is a number: compare it with a number`)
    return v
  }
  if (typeof v !== 'string') throw bad(`'${name}' is a ${t.type}: compare it with a "string"`)
  if (t.type === 'dateTime') {
    const ms = Date.parse(v)
    if (Number.isNaN(ms)) throw bad(`'${name}' is a dateTime: "${v}" is not an ISO 8601 date-time`)
    return new Date(ms).toISOString()
  }
  return v
}

/** A comparison on a plain value outside the store (`emails.type eq "work"`). */
function constantHolds(op: string, actual: string | boolean, v: ScimValue, name: string): boolean {
  if (typeof actual === 'boolean') {
    if ((op !== 'eq' && op !== 'ne') || typeof v !== 'boolean') throw bad(`'${name}' is a boolean: compare it with eq true or false`)
    return op === 'eq' ? actual === v : actual !== v
  }
  if (typeof v !== 'string') throw bad(`'${name}' is a string: compare it with a "string"`)
  const a = actual.toLowerCase()
  const e = v.toLowerCase()
  const map: Record<string, boolean> = {
    eq: a === e,
    ne: a !== e,
    co: a.includes(e),
    sw: a.startsWith(e),
    ew: a.endsWith(e),
    gt: a > e,
    ge: a >= e,
    lt: a < e,
    le: a <= e,
  }
  return map[op]
}

class Translator {
  constructor(
    private readonly rs: ResourceSchemas,
    private readonly definitions: Map<string, FieldDefinition>,
  ) {}

  /** A path at the top, or inside `[…]` of `scope` (where names are sub-attributes of it). */
  private resolve(p: AttrPath, scope: AttrDef | null): Resolved {
    if (!scope) {
      const r = resolvePath(this.rs, p)
      if (!r) throw bad(`'${showPath(p)}' is not a User attribute`)
      return r
    }
    const sub = p.uri === null && p.sub === null ? findAttr(scope.subAttributes, p.name) : undefined
    if (!sub) throw bad(`'${showPath(p)}' is not a sub-attribute of '${scope.name}'`)
    return { container: null, attr: scope, sub }
  }

  filter(f: ScimFilter, scope: AttrDef | null = null): UserFilterExpr {
    switch (f.type) {
      case 'and':
        return uf.and(this.filter(f.left, scope), this.filter(f.right, scope))
      case 'or':
        return uf.or(this.filter(f.left, scope), this.filter(f.right, scope))
      case 'not':
        return uf.not(this.filter(f.filter, scope))
      case 'valuePath': {
        if (scope) throw bad('value filters cannot nest')
        const r = this.resolve(f.path, null)
        if (r.container !== null || (r.attr.name !== 'emails' && r.attr.name !== 'phoneNumbers'))
          throw bad(`'${showPath(f.path)}[…]': value filters apply to emails and phoneNumbers`)
        // One value at most: "some value matches" is "there is a value, and it matches".
        return uf.and({ op: 'pr', field: col(r.attr.name === 'emails' ? 'email' : 'phone') }, this.filter(f.filter, r.attr))
      }
      case 'pr':
        return this.present(targetOf(this.resolve(f.path, scope), this.definitions))
      case 'cmp': {
        const t = targetOf(this.resolve(f.path, scope), this.definitions)
        const name = showPath(f.path)
        if (f.value === null) {
          if (f.op !== 'eq' && f.op !== 'ne') throw bad('null compares only with eq and ne')
          const pr = this.present(t)
          return f.op === 'eq' ? uf.not(pr) : pr
        }
        if (f.op === 'ne') return uf.not(this.compare(t, 'eq', f.value, name))
        return this.compare(t, f.op, f.value, name)
      }
    }
  }

  private present(t: Target): UserFilterExpr {
    switch (t.t) {
      case 'field':
        return { op: 'pr', field: t.field }
      case 'userName':
        return uf.or({ op: 'pr', field: col('username') }, { op: 'pr', field: col('email') })
      case 'active':
        return uf.const(true)
      case 'constant':
        return { op: 'pr', field: t.exists }
      case 'anyOf':
        return uf.or(...t.fields.map((field): UserFilterExpr => ({ op: 'pr', field })))
    }
  }

  private compare(t: Target, op: Exclude<CompareOp, 'ne'>, v: Exclude<ScimValue, null>, name: string): UserFilterExpr {
    switch (t.t) {
      case 'field':
        return { op, field: t.field, value: valueFor(t, op, v, name), caseExact: t.caseExact }
      case 'userName': {
        if (typeof v !== 'string') throw bad(`'${name}' is a string: compare it with a "string"`)
        const hasUsername: UserFilterExpr = { op: 'pr', field: col('username') }
        return uf.or(
          uf.and(hasUsername, { op, field: col('username'), value: v }),
          uf.and(uf.not(hasUsername), { op, field: col('email'), value: v }),
        )
      }
      case 'active': {
        if (op !== 'eq' || typeof v !== 'boolean') throw bad(`'active' is a boolean: compare it with eq true or false`)
        return { op: 'eq', field: col('active'), value: v }
      }
      case 'constant':
        return uf.and({ op: 'pr', field: t.exists }, uf.const(constantHolds(op, t.value, v, name)))
      case 'anyOf':
        throw bad(`'${name}' is complex: compare one of its sub-attributes`)
    }
  }
}

/** A parsed SCIM filter on Users → the store's filter tree. Unknown or unfilterable attributes are invalidFilter. */
export function userFilterOf(f: ScimFilter, rs: ResourceSchemas, definitions: Map<string, FieldDefinition>): UserFilterExpr {
  return new Translator(rs, definitions).filter(f)
}

/** `sortBy` and `sortOrder` → the store's sort. */
export function userSortOf(
  sortBy: string,
  sortOrder: string | undefined,
  rs: ResourceSchemas,
  definitions: Map<string, FieldDefinition>,
): UserSort {
  const descending = sortOrder?.toLowerCase() === 'descending'
  if (sortOrder !== undefined && !descending && sortOrder.toLowerCase() !== 'ascending')
    throw scimError.invalidValue(`sortOrder must be "ascending" or "descending", got "${sortOrder}"`)
  const p = parseAttrPath(sortBy.trim())
  const r = p && resolvePath(rs, p)
  if (!r) throw scimError.invalidValue(`sortBy: '${sortBy}' is not a User attribute`)
  let t: Target
  try {
    t = targetOf(r, definitions)
  } catch {
    throw scimError.invalidValue(`sortBy: '${sortBy}' cannot be sorted on`)
  }
  if (t.t === 'userName') return { by: [col('username'), col('email')], descending }
  if (t.t !== 'field' || t.type === 'boolean') throw scimError.invalidValue(`sortBy: '${sortBy}' cannot be sorted on`)
  return { by: [t.field], descending, caseExact: t.caseExact }
}
