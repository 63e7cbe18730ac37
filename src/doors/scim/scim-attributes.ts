import { isPlainObject } from '../../core/merge.js'
import type { Json, JsonObject } from '../../core/types.js'
import { URN } from './scim-constants.js'
import type { AttrPath } from './scim-filter.js'
import { type AttrDef, COMMON_ATTRIBUTES, findAttr, type SchemaDef, type ScimSchemas } from './scim-schema.js'

/**
 * Attribute names resolved against a resource type's schemas, and request bodies rewritten with
 * canonical names. SCIM names are case-insensitive (`Name.GivenName` is `name.givenName`); once
 * canonical, the rest of the door works on plain JSON with exact keys.
 */
export type ResourceKind = 'User' | 'Group'

/** Where an attribute lives in a resource: at the top (`container` null) or inside an extension object. */
export interface Resolved {
  container: string | null
  attr: AttrDef
  sub: AttrDef | null
}

export interface ResourceSchemas {
  kind: ResourceKind
  core: SchemaDef
  /** Extension URN → schema (Users: enterprise and fields; Groups: none). */
  extensions: Map<string, SchemaDef>
}

export function resourceSchemas(s: ScimSchemas, kind: ResourceKind): ResourceSchemas {
  return kind === 'User'
    ? {
        kind,
        core: s.user,
        extensions: new Map([
          [URN.enterprise, s.enterprise],
          [URN.fields, s.fields],
        ]),
      }
    : { kind, core: s.group, extensions: new Map() }
}

/** The extension URN a string names, in its canonical spelling, or null. */
export function extensionUrn(rs: ResourceSchemas, text: string): string | null {
  const lower = text.toLowerCase()
  for (const urn of rs.extensions.keys()) if (urn.toLowerCase() === lower) return urn
  return null
}

function within(attrs: readonly AttrDef[], container: string | null, p: AttrPath): Resolved | null {
  const attr = findAttr(attrs, p.name)
  if (!attr) return null
  if (!p.sub) return { container, attr, sub: null }
  const sub = findAttr(attr.subAttributes, p.sub)
  return sub ? { container, attr, sub } : null
}

/**
 * An attribute path → its definition. A path without a URN names a core or common attribute,
 * else (leniently) an extension attribute of that name; a URN path names exactly one schema.
 */
export function resolvePath(rs: ResourceSchemas, p: AttrPath): Resolved | null {
  const core = [...COMMON_ATTRIBUTES, ...rs.core.attributes]
  if (p.uri === null) {
    const found = within(core, null, p)
    if (found) return found
    for (const [urn, schema] of rs.extensions) {
      const ext = within(schema.attributes, urn, p)
      if (ext) return ext
    }
    return null
  }
  if (p.uri.toLowerCase() === rs.core.id.toLowerCase()) return within(core, null, p)
  const urn = extensionUrn(rs, p.uri)
  return urn ? within((rs.extensions.get(urn) as SchemaDef).attributes, urn, p) : null
}

const BOOL_TEXT: Record<string, boolean> = { true: true, false: false }

/**
 * A value as the attribute's type would have it, with canonical sub-attribute names. Lenient
 * where identity providers are known to bend the types: booleans as "True"/"False" (Entra ID),
 * a single object for a multi-valued attribute, a bare id for `manager`. Sub-attributes the
 * door does not know are dropped, as unknown top-level attributes are.
 */
export function canonicalValue(attr: AttrDef, v: unknown, asElement = false): Json | undefined {
  if (v === undefined) return undefined
  if (v === null) return null
  if (attr.multiValued && !asElement) {
    const list = Array.isArray(v) ? v : [v]
    return list.map((x) => canonicalValue(attr, x, true)).filter((x): x is Json => x !== undefined && x !== null)
  }
  if (attr.type === 'complex' && attr.subAttributes) {
    // `manager: "id"`: a complex attribute sent as its value.
    if (!isPlainObject(v)) return attr.subAttributes.some((s) => s.name === 'value') ? { value: v as Json } : (v as Json)
    const out: JsonObject = {}
    for (const [k, x] of Object.entries(v)) {
      const sub = findAttr(attr.subAttributes, k)
      if (!sub || sub.ignored) continue
      const cv = canonicalValue(sub, x)
      if (cv !== undefined) out[sub.name] = cv
    }
    return out
  }
  if (attr.type === 'boolean' && typeof v === 'string' && v.toLowerCase() in BOOL_TEXT) return BOOL_TEXT[v.toLowerCase()]
  return v as Json
}

/**
 * A request body (POST, PUT, a Bulk operation's data) with canonical names and values: known
 * attributes kept, extension objects kept under their canonical URN (also when their attributes
 * come URN-qualified at the top), ignored and unknown attributes dropped.
 */
export function canonicalResource(rs: ResourceSchemas, body: JsonObject): JsonObject {
  const out: JsonObject = {}
  const put = (container: string | null, name: string, value: Json | undefined) => {
    if (value === undefined) return
    if (container === null) out[name] = value
    else ((out[container] ??= {}) as JsonObject)[name] = value
  }
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase() === 'schemas') {
      if (Array.isArray(value)) out.schemas = value.filter((x) => typeof x === 'string')
      continue
    }
    const urn = extensionUrn(rs, key)
    if (urn) {
      out[urn] ??= {}
      if (!isPlainObject(value)) continue
      const schema = rs.extensions.get(urn) as SchemaDef
      for (const [k, x] of Object.entries(value)) {
        const attr = findAttr(schema.attributes, k)
        if (attr && !attr.ignored) put(urn, attr.name, canonicalValue(attr, x))
      }
      continue
    }
    const at = key.lastIndexOf(':')
    const path = at >= 0 ? { uri: key.slice(0, at), name: key.slice(at + 1), sub: null } : { uri: null, name: key, sub: null }
    const r = resolvePath(rs, path)
    if (!r || r.attr.ignored) continue
    put(r.container, r.attr.name, canonicalValue(r.attr, value))
  }
  return out
}

/** Whether a request body asserts an extension: its URN in `schemas`, or its object present. */
export function assertsExtension(res: JsonObject, urn: string): boolean {
  return (
    urn in res || (Array.isArray(res.schemas) && res.schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase()))
  )
}
