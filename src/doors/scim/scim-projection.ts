import { isPlainObject } from '../../core/merge.js'
import type { Json, JsonObject } from '../../core/types.js'
import { type Resolved, resolvePath, type ResourceSchemas } from './scim-attributes.js'
import { parseAttrPath } from './scim-filter.js'

/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.9): which attributes a response carries.
 * `id` and `schemas` are always returned. Names that resolve to nothing are ignored, as a
 * client asking for an attribute this server lacks should still get the resource.
 */
export interface Projection {
  /** Only these (null: every default attribute). */
  only: Resolved[] | null
  excluded: Resolved[]
}

const ALWAYS = new Set(['id', 'schemas'])

function names(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
  return list
    .flatMap((x) => (typeof x === 'string' ? x.split(',') : []))
    .map((x) => x.trim())
    .filter(Boolean)
}

function resolveAll(rs: ResourceSchemas, v: unknown): Resolved[] {
  return names(v).flatMap((n) => {
    const p = parseAttrPath(n)
    const r = p && resolvePath(rs, p)
    return r && !r.attr.ignored ? [r] : []
  })
}

export function parseProjection(rs: ResourceSchemas, attributes: unknown, excludedAttributes: unknown): Projection {
  const only = resolveAll(rs, attributes)
  return { only: names(attributes).length ? only : null, excluded: resolveAll(rs, excludedAttributes) }
}

export const NO_PROJECTION: Projection = { only: null, excluded: [] }

/** Whether the response asks for an attribute that is only returned on request (a User's `groups` in a list). */
export function requests(p: Projection, container: string | null, name: string): boolean {
  return !!p.only?.some((r) => r.container === container && r.attr.name === name)
}

/** Whether the response leaves an attribute out. */
export function excludes(p: Projection, container: string | null, name: string): boolean {
  if (p.excluded.some((r) => r.container === container && r.attr.name === name && !r.sub)) return true
  return p.only !== null && !p.only.some((r) => r.container === container && r.attr.name === name)
}

function holder(obj: JsonObject, container: string | null): JsonObject | undefined {
  if (container === null) return obj
  const h = obj[container]
  return isPlainObject(h) ? h : undefined
}

/** Copies one attribute (or one sub-attribute of it) from `src` into `dst`. */
function copy(src: JsonObject, dst: JsonObject, r: Resolved): void {
  const from = holder(src, r.container)
  const value = from?.[r.attr.name]
  if (value === undefined) return
  const to = r.container === null ? dst : ((dst[r.container] ??= {}) as JsonObject)
  if (!r.sub) {
    to[r.attr.name] = value
    return
  }
  const sub = r.sub.name
  const pick = (x: Json): JsonObject => (isPlainObject(x) && x[sub] !== undefined ? { [sub]: x[sub] } : {})
  const prev = to[r.attr.name]
  if (Array.isArray(value)) {
    // Two sub-attributes of one multi-valued attribute (emails.value, emails.type) fill the same elements.
    const before = Array.isArray(prev) ? prev : []
    to[r.attr.name] = value.map((x, i) => ({ ...(isPlainObject(before[i]) ? before[i] : {}), ...pick(x) }))
  } else if (isPlainObject(value)) to[r.attr.name] = { ...(isPlainObject(prev) ? prev : {}), ...pick(value) }
}

/** The resource as the response should carry it. */
export function project(res: JsonObject, p: Projection): JsonObject {
  let out: JsonObject
  if (p.only) {
    out = {}
    for (const k of Object.keys(res)) if (ALWAYS.has(k)) out[k] = res[k]
    for (const r of p.only) if (!(r.container === null && ALWAYS.has(r.attr.name))) copy(res, out, r)
  } else out = structuredClone(res)
  for (const r of p.excluded) {
    if (r.container === null && ALWAYS.has(r.attr.name)) continue
    const h = holder(out, r.container)
    if (!h || h[r.attr.name] === undefined) continue
    if (!r.sub) delete h[r.attr.name]
    else {
      const v = h[r.attr.name]
      for (const x of Array.isArray(v) ? v : [v]) if (isPlainObject(x)) delete x[r.sub.name]
    }
  }
  // `schemas` names only the extensions the response still carries.
  if (Array.isArray(out.schemas)) out.schemas = out.schemas.filter((u) => typeof u !== 'string' || !(u in res) || u in out)
  return out
}
