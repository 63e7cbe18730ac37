import { isPlainObject } from '../../core/merge.js'
import type { Json, JsonObject } from '../../core/types.js'
import { type Resolved, resolvePath, type ResourceSchemas } from './scim-attributes.js'
import { scimError } from './scim-errors.js'
import { type AttrDef, findAttr } from './scim-schema.js'
import { type AttrPath, type ScimFilter, type ScimValue, showPath } from './scim-filter.js'

/**
 * Filters evaluated on JSON in memory: the value filters of PATCH paths
 * (`emails[type eq "work"]`, `members[value eq "…"]`) and Group lists, whose groups are few.
 * User lists never come here: their filters become store queries (scim-user-query.ts).
 *
 * The semantics match the store's (src/core/user-filter.ts): a comparison with a missing value
 * is false, `ne` is `not eq`, strings compare case-insensitively unless `caseExact`.
 */
export type Resolver = (p: AttrPath) => Resolved | null

/** Resolves names among the sub-attributes of a multi-valued attribute (inside `[…]`). */
export const elementResolver =
  (attr: AttrDef): Resolver =>
  (p) => {
    if (p.uri !== null || p.sub !== null) return null
    const sub = findAttr(attr.subAttributes, p.name)
    return sub ? { container: null, attr: sub, sub: null } : null
  }

export const resourceResolver =
  (rs: ResourceSchemas): Resolver =>
  (p) =>
    resolvePath(rs, p)

function resolveOrFail(resolve: Resolver, p: AttrPath): Resolved {
  const r = resolve(p)
  if (!r || r.attr.ignored || r.sub?.ignored)
    throw scimError.invalidFilter(`Invalid filter: '${showPath(p)}' is not an attribute that can be filtered on`)
  return r
}

/** The values a path reaches in an object: a multi-valued attribute yields each of its values. */
function valuesAt(obj: JsonObject, r: Resolved): { values: Json[]; def: AttrDef } {
  const holder = r.container ? obj[r.container] : obj
  if (!isPlainObject(holder)) return { values: [], def: r.sub ?? r.attr }
  const raw = holder[r.attr.name]
  const items: Json[] = raw === undefined || raw === null ? [] : r.attr.multiValued && Array.isArray(raw) ? raw : [raw]
  if (r.sub)
    return {
      values: items.map((x) => (isPlainObject(x) ? x[r.sub!.name] : undefined)).filter((x): x is Json => x !== undefined && x !== null),
      def: r.sub,
    }
  if (r.attr.type === 'complex') {
    // A complex attribute compared as a whole means its `value` (RFC 7644 §3.4.2.2, multi-valued attributes).
    const value = findAttr(r.attr.subAttributes, 'value')
    if (!value) return { values: items.filter((x) => isPlainObject(x) && Object.keys(x).length > 0), def: r.attr }
    return {
      values: items.map((x) => (isPlainObject(x) ? x.value : undefined)).filter((x): x is Json => x !== undefined && x !== null),
      def: value,
    }
  }
  return { values: items, def: r.attr }
}

const isPresent = (v: Json): boolean => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)

function compareOne(op: string, def: AttrDef, actual: Json, expected: ScimValue): boolean {
  const bad = (why: string) => scimError.invalidFilter(`Invalid filter: ${def.name} ${why}`)
  switch (def.type) {
    case 'boolean':
      if (op !== 'eq') throw bad('is a boolean: only eq and ne apply')
      if (typeof expected !== 'boolean') throw bad('is a boolean: compare it with true or false')
      return actual === expected
    case 'integer':
    case 'decimal': {
      if (op === 'co' || op === 'sw' || op === 'ew') throw bad(`is a number: '${op}' applies to strings`)
      if (typeof expected !== 'number') throw bad('is a number: compare it with a number')
      if (typeof actual !== 'number') return false
      return cmp(op, actual - expected)
    }
    case 'dateTime': {
      if (op === 'co' || op === 'sw' || op === 'ew') throw bad(`is a dateTime: '${op}' applies to strings`)
      const e = typeof expected === 'string' ? Date.parse(expected) : NaN
      if (Number.isNaN(e)) throw bad('is a dateTime: compare it with an ISO 8601 string')
      const a = typeof actual === 'string' ? Date.parse(actual) : NaN
      return !Number.isNaN(a) && cmp(op, a - e)
    }
    case 'complex':
    case 'binary':
      throw bad(`cannot be compared with '${op}'`)
    default: {
      if (typeof expected !== 'string') throw bad('is a string: compare it with a "string"')
      if (typeof actual !== 'string') return false
      const a = def.caseExact ? actual : actual.toLowerCase()
      const e = def.caseExact ? expected : expected.toLowerCase()
      if (op === 'co') return a.includes(e)
      if (op === 'sw') return a.startsWith(e)
      if (op === 'ew') return a.endsWith(e)
      return cmp(op, a < e ? -1 : a > e ? 1 : 0)
    }
  }
}

function cmp(op: string, d: number): boolean {
  switch (op) {
    case 'eq':
      return d === 0
    case 'gt':
      return d > 0
    case 'ge':
      return d >= 0
    case 'lt':
      return d < 0
    default:
      return d <= 0
  }
}

/** Whether `obj` matches the filter; names resolve through `resolve`. Bad attributes or types are invalidFilter. */
export function matchesFilter(f: ScimFilter, obj: JsonObject, resolve: Resolver): boolean {
  switch (f.type) {
    case 'and':
      return matchesFilter(f.left, obj, resolve) && matchesFilter(f.right, obj, resolve)
    case 'or':
      return matchesFilter(f.left, obj, resolve) || matchesFilter(f.right, obj, resolve)
    case 'not':
      return !matchesFilter(f.filter, obj, resolve)
    case 'pr': {
      const { values } = valuesAt(obj, resolveOrFail(resolve, f.path))
      return values.some(isPresent)
    }
    case 'valuePath': {
      const r = resolveOrFail(resolve, f.path)
      if (!r.attr.multiValued || r.attr.type !== 'complex')
        throw scimError.invalidFilter(`Invalid filter: '${showPath(f.path)}' is not a multi-valued complex attribute`)
      const holder = r.container ? obj[r.container] : obj
      const items = isPlainObject(holder) && Array.isArray(holder[r.attr.name]) ? (holder[r.attr.name] as Json[]) : []
      const inner = elementResolver(r.attr)
      return items.some((x) => isPlainObject(x) && matchesFilter(f.filter, x, inner))
    }
    case 'cmp': {
      const { values, def } = valuesAt(obj, resolveOrFail(resolve, f.path))
      if (f.value === null) {
        if (f.op !== 'eq' && f.op !== 'ne') throw scimError.invalidFilter(`Invalid filter: null compares only with eq and ne`)
        return (f.op === 'eq') === !values.some(isPresent)
      }
      const op = f.op === 'ne' ? 'eq' : f.op
      const hit = values.some((v) => compareOne(op, def, v, f.value))
      // Types are checked even when there is no value to compare, so a bad filter fails on every resource.
      if (values.length === 0) compareOne(op, def, null, f.value)
      return f.op === 'ne' ? !hit : hit
    }
  }
}

/**
 * Checks every attribute and value of a filter, whatever the data: evaluation short-circuits
 * and sees no values on an empty list, and a bad filter must fail the same either way.
 */
export function validateFilter(f: ScimFilter, resolve: Resolver): void {
  switch (f.type) {
    case 'and':
    case 'or':
      validateFilter(f.left, resolve)
      validateFilter(f.right, resolve)
      return
    case 'not':
      validateFilter(f.filter, resolve)
      return
    case 'valuePath': {
      const r = resolveOrFail(resolve, f.path)
      if (!r.attr.multiValued || r.attr.type !== 'complex')
        throw scimError.invalidFilter(`Invalid filter: '${showPath(f.path)}' is not a multi-valued complex attribute`)
      validateFilter(f.filter, elementResolver(r.attr))
      return
    }
    default:
      matchesFilter(f, {}, resolve)
  }
}

/**
 * The values a value filter pins with `eq` on sub-attributes (`type eq "work"` → {type: "work"}),
 * or null when it does more than that. Lets an add or replace whose filter matches nothing
 * create the value it describes, which Entra ID relies on.
 */
export function pinnedValues(f: ScimFilter, attr: AttrDef): JsonObject | null {
  if (f.type === 'and') {
    const l = pinnedValues(f.left, attr)
    const r = pinnedValues(f.right, attr)
    return l && r ? { ...l, ...r } : null
  }
  if (f.type !== 'cmp' || f.op !== 'eq' || f.path.uri !== null || f.path.sub !== null || f.value === null) return null
  const sub = findAttr(attr.subAttributes, f.path.name)
  return sub ? { [sub.name]: f.value } : null
}
