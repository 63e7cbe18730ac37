import { isPlainObject, jsonEqual } from '../../core/merge.js'
import type { Json, JsonObject } from '../../core/types.js'
import { canonicalValue, extensionUrn, resolvePath, type ResourceSchemas } from './scim-attributes.js'
import { URN } from './scim-constants.js'
import { ScimError, scimError } from './scim-errors.js'
import { elementResolver, matchesFilter, pinnedValues, validateFilter } from './scim-filter-eval.js'
import { parseAttrPath, parsePatchPath, type ScimFilter, showPath } from './scim-filter.js'
import { type AttrDef, findAttr } from './scim-schema.js'

/**
 * SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON. The result goes back through the
 * same mapping as a PUT, so the engine sees one full row and records only what changed.
 *
 * Beyond the RFC, the identity providers' dialects are accepted: op names in any case (`Add`,
 * `Replace`), booleans as strings (`"False"`), a remove of `members` that lists the values to
 * remove (Entra ID), an add or replace with a filter that matches nothing creating the value the
 * filter describes (`emails[type eq "work"].value`), and a no-path value that repeats the
 * read-only `id` (Okta).
 */
export type PatchOpName = 'add' | 'replace' | 'remove'

export interface PatchOperation {
  op: PatchOpName
  path: string | null
  value: unknown
}

const OPS: ReadonlySet<string> = new Set(['add', 'replace', 'remove'])

/** A PatchOp request body → its operations; a malformed one is a 400 invalidSyntax. */
export function parsePatchBody(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw scimError.invalidSyntax('The body must be a PatchOp object')
  const schemas = body.schemas
  if (Array.isArray(schemas) && !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.patchOp.toLowerCase()))
    throw scimError.invalidSyntax(`A PATCH body's schemas must include ${URN.patchOp}`)
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations')
  const ops = key ? body[key] : undefined
  if (!Array.isArray(ops) || ops.length === 0) throw scimError.invalidSyntax('A PATCH body needs a non-empty "Operations" array')
  return ops.map((o, i) => {
    if (!isPlainObject(o)) throw scimError.invalidSyntax(`Operations[${i}] must be an object`)
    const get = (name: string) => o[Object.keys(o).find((k) => k.toLowerCase() === name) ?? name]
    const op = get('op')
    if (typeof op !== 'string' || !OPS.has(op.toLowerCase()))
      throw scimError.invalidSyntax(`Operations[${i}].op must be add, replace or remove`)
    const path = get('path')
    if (path !== undefined && path !== null && typeof path !== 'string')
      throw scimError.invalidPath(`Operations[${i}].path must be a string`)
    return { op: op.toLowerCase() as PatchOpName, path: typeof path === 'string' && path.trim() !== '' ? path : null, value: get('value') }
  })
}

export interface PatchOptions {
  /** Multi-valued attributes of which Rollcall keeps one value: the value an operation touches becomes the primary one. */
  oneValue?: ReadonlySet<string>
}

/** Applies operations in order to a copy of `resource` (canonical JSON, see scim-attributes.ts). */
export function applyPatch(resource: JsonObject, ops: PatchOperation[], rs: ResourceSchemas, opts: PatchOptions = {}): JsonObject {
  const res = structuredClone(resource)
  for (const op of ops) new Applier(res, rs, opts).apply(op)
  return res
}

class Applier {
  constructor(
    private readonly res: JsonObject,
    private readonly rs: ResourceSchemas,
    private readonly opts: PatchOptions,
  ) {}

  apply(op: PatchOperation): void {
    if (op.path === null) {
      if (op.op === 'remove') throw scimError.noTarget('A remove operation needs a path')
      this.applyObject(op.op, null, op.value)
      return
    }
    const urn = extensionUrn(this.rs, op.path.trim())
    if (urn) {
      if (op.op === 'remove') this.res[urn] = {}
      else this.applyObject(op.op, urn, op.value)
      return
    }
    const pp = parsePatchPath(op.path)
    const r = resolvePath(this.rs, pp.path)
    if (!r) throw scimError.invalidPath(`'${showPath(pp.path)}' is not an attribute of a ${this.rs.kind}`)
    let sub = r.sub
    if (pp.filter) {
      if (!r.attr.multiValued || r.attr.type !== 'complex')
        throw scimError.invalidPath(`'${r.attr.name}' is not multi-valued: a value filter does not apply`)
      try {
        validateFilter(pp.filter, elementResolver(r.attr))
      } catch (e) {
        throw e instanceof ScimError ? scimError.invalidPath(`Invalid path '${op.path}': ${e.message.replace(/^Invalid filter: /, '')}`) : e
      }
      if (pp.sub) {
        sub = findAttr(r.attr.subAttributes, pp.sub) ?? null
        if (!sub) throw scimError.invalidPath(`'${pp.sub}' is not a sub-attribute of '${r.attr.name}'`)
      }
    }
    this.target(op.op, r.container, r.attr, pp.filter, sub, op.value)
  }

  /** A no-path operation (or one on a whole extension): each key of the value is a path. */
  private applyObject(op: PatchOpName, container: string | null, value: unknown): void {
    if (!isPlainObject(value)) throw scimError.invalidValue('Without a path, the value must be an object of attributes')
    for (const [key, v] of Object.entries(value)) {
      if (key.toLowerCase() === 'schemas' && container === null) continue
      const urn = container === null ? extensionUrn(this.rs, key) : null
      if (urn) {
        this.applyObject(op, urn, v)
        continue
      }
      const p = parseAttrPath(container ? `${container}:${key}` : key)
      const r = p && resolvePath(this.rs, p)
      if (!r) throw scimError.invalidPath(`'${key}' is not an attribute of a ${this.rs.kind}`)
      this.target(op, r.container, r.attr, null, r.sub, v)
    }
  }

  private holder(container: string | null): JsonObject {
    if (container === null) return this.res
    if (!isPlainObject(this.res[container])) this.res[container] = {}
    return this.res[container] as JsonObject
  }

  private target(
    op: PatchOpName,
    container: string | null,
    attr: AttrDef,
    filter: ScimFilter | null,
    sub: AttrDef | null,
    value: unknown,
  ): void {
    if (attr.ignored || sub?.ignored) return
    const obj = this.holder(container)
    const name = attr.name
    const readOnly = attr.mutability === 'readOnly' || sub?.mutability === 'readOnly' || (sub?.mutability === 'immutable' && op !== 'add')
    if (readOnly) {
      // Clients echo read-only values back (Okta's no-path replace repeats `id`): a no-op is not an error.
      const same = op !== 'remove' && !filter && !sub && jsonEqual(obj[name], canonicalValue(attr, value) ?? null)
      if (!same) throw scimError.mutability(`'${sub ? `${name}.${sub.name}` : name}' is read-only`)
      return
    }
    if (value === null && op !== 'remove') return this.target('remove', container, attr, filter, sub, undefined)

    if (filter) return this.filtered(op, obj, attr, filter, sub, value)
    if (sub) return this.subAttribute(op, obj, attr, sub, value)
    if (op === 'remove') {
      // Entra ID removes members by listing them as the value instead of filtering the path.
      if (attr.multiValued && Array.isArray(value) && value.length > 0) {
        const gone = canonicalValue(attr, value) as Json[]
        obj[name] = this.items(obj, name).filter((x) => !gone.some((g) => this.same(attr, x, g)))
      } else delete obj[name]
      return
    }
    const v = canonicalValue(attr, value)
    if (attr.multiValued) {
      const incoming = (v ?? []) as Json[]
      // The elements as they stand in the list after the operation, one per incoming value.
      let placed = incoming
      if (op === 'replace') obj[name] = incoming
      else {
        const list = this.items(obj, name)
        placed = incoming.map((x) => {
          const at = list.findIndex((y) => this.same(attr, y, x))
          if (at < 0) list.push(x)
          else if (isPlainObject(list[at]) && isPlainObject(x)) list[at] = { ...list[at], ...x }
          return at < 0 ? x : list[at]
        })
        obj[name] = list
      }
      const primary = placed.find((x, i) => isPlainObject(incoming[i]) && (incoming[i] as JsonObject).primary === true)
      const last = placed[placed.length - 1]
      if (primary !== undefined || (last !== undefined && op === 'add')) this.makePrimary(attr, obj, primary ?? last)
      return
    }
    // A complex attribute merges: sub-attributes the value leaves out stay (§3.5.2.1 and §3.5.2.3).
    if (attr.type === 'complex' && isPlainObject(v) && isPlainObject(obj[name])) obj[name] = { ...(obj[name] as JsonObject), ...v }
    else obj[name] = v ?? null
  }

  private subAttribute(op: PatchOpName, obj: JsonObject, attr: AttrDef, sub: AttrDef, value: unknown): void {
    const v = canonicalValue(sub, value)
    if (!attr.multiValued) {
      const cur = isPlainObject(obj[attr.name]) ? (obj[attr.name] as JsonObject) : {}
      if (op === 'remove') delete cur[sub.name]
      else cur[sub.name] = v ?? null
      obj[attr.name] = cur
      return
    }
    const list = this.items(obj, attr.name)
    if (op !== 'remove' && list.length === 0) list.push({})
    for (const x of list) {
      if (!isPlainObject(x)) continue
      if (op === 'remove') delete x[sub.name]
      else x[sub.name] = v ?? null
    }
    obj[attr.name] = list
  }

  private filtered(op: PatchOpName, obj: JsonObject, attr: AttrDef, filter: ScimFilter, sub: AttrDef | null, value: unknown): void {
    const list = this.items(obj, attr.name)
    const match = elementResolver(attr)
    const hits = list.filter((x) => isPlainObject(x) && matchesFilter(filter, x, match)) as JsonObject[]
    if (op === 'remove') {
      if (sub) for (const x of hits) delete x[sub.name]
      else obj[attr.name] = list.filter((x) => !hits.includes(x as JsonObject))
      return
    }
    const v = sub ? canonicalValue(sub, value) : canonicalValue(attr, value, true)
    if (!sub && !isPlainObject(v)) throw scimError.invalidValue(`The value for '${attr.name}[…]' must be an object`)
    if (hits.length === 0) {
      const pinned = pinnedValues(filter, attr)
      if (!pinned) throw scimError.noTarget(`No value of '${attr.name}' matches the filter`)
      const created: JsonObject = sub ? { ...pinned, [sub.name]: v ?? null } : { ...pinned, ...(v as JsonObject) }
      list.push(created)
      obj[attr.name] = list
      this.makePrimary(attr, obj, created)
      return
    }
    for (const x of hits) {
      if (sub) x[sub.name] = v ?? null
      else if (op === 'replace') for (const k of Object.keys(x)) delete x[k]
      if (!sub) Object.assign(x, v as JsonObject)
    }
    obj[attr.name] = list
    this.makePrimary(attr, obj, hits[hits.length - 1])
  }

  private items(obj: JsonObject, name: string): Json[] {
    return Array.isArray(obj[name]) ? [...(obj[name] as Json[])] : []
  }

  /** Two values of a multi-valued attribute are the same value: by `value` when they have one. */
  private same(attr: AttrDef, a: Json, b: Json): boolean {
    if (isPlainObject(a) && isPlainObject(b) && findAttr(attr.subAttributes, 'value') && a.value !== undefined && b.value !== undefined) {
      const caseExact = findAttr(attr.subAttributes, 'value')?.caseExact
      return caseExact || typeof a.value !== 'string' || typeof b.value !== 'string'
        ? a.value === b.value
        : a.value.toLowerCase() === b.value.toLowerCase()
    }
    return jsonEqual(a, b)
  }

  /** RFC 7643 §2.4: at most one primary value; for one-value attributes, the touched value is it. */
  private makePrimary(attr: AttrDef, obj: JsonObject, chosen: Json): void {
    const oneValue = this.opts.oneValue?.has(attr.name)
    const explicit = isPlainObject(chosen) && chosen.primary === true
    if (!oneValue && !explicit) return
    for (const x of this.items(obj, attr.name)) if (isPlainObject(x) && x !== chosen) delete x.primary
    if (isPlainObject(chosen) && findAttr(attr.subAttributes, 'primary')) chosen.primary = true
  }
}
