import { RollcallError } from './errors.js'
import { MAX_JSON_DEPTH } from './input-guard.js'
import type { Json, JsonObject } from './types.js'

export const isPlainObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `obj[key]` if `obj` has it as its own property: a client's `constructor` is not Object's. */
export const own = <T>(obj: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(obj, key) ? obj[key] : undefined)

/**
 * Sets an own property whatever the key: `obj[key] = v` with key `__proto__` would replace the
 * prototype instead (and the key would vanish), so that key is defined, never assigned. Any other
 * key is assigned: on a plain object that makes the same own, enumerable, writable property
 * (`constructor` and the like shadow Object.prototype's; `__proto__` is its only setter), and
 * assigning is several times cheaper than defineProperty, which the bulk path ran for every key
 * of every row's metadata.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
  else obj[key] = value
}

/**
 * RFC 7396 JSON Merge Patch: objects merge recursively, `null` deletes a key, anything else
 * replaces. Returns a new value; neither input is modified. Input is depth-checked before it gets
 * here (MAX_JSON_DEPTH); the recursion refuses anything deeper rather than overflow the stack.
 */
export function mergePatch(target: Json | undefined, patch: Json, depth = 1): Json {
  if (!isPlainObject(patch)) return patch
  if (depth > MAX_JSON_DEPTH + 1) throw new RollcallError('bad_request', `The value is nested deeper than ${MAX_JSON_DEPTH} levels`)
  const out: JsonObject = {}
  if (isPlainObject(target)) for (const key of Object.keys(target)) setOwn(out, key, target[key])
  for (const key of Object.keys(patch)) {
    const value = patch[key]
    if (value === null) delete out[key]
    else setOwn(out, key, mergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value, depth + 1))
  }
  return out
}

/**
 * Whether `mergePatch(target, patch)` could differ from `target`, without building it: false only
 * when the merge would give a value equal to `target` (jsonEqual). What lets a re-sent row whose
 * metadata is already stored cost a compare instead of a copy of the metadata. Conservative: a
 * patch that is not an object, or nested past the limit, answers true (the caller then merges and
 * compares the result).
 */
export function mergeChanges(target: Json | undefined, patch: Json, depth = 1): boolean {
  if (!isPlainObject(patch) || !isPlainObject(target) || depth > MAX_JSON_DEPTH) return true
  for (const key in patch) {
    if (!Object.hasOwn(patch, key)) continue
    const value = patch[key]
    const has = Object.hasOwn(target, key)
    if (value === null) {
      if (has) return true
    } else if (!has) return true
    else if (isPlainObject(value)) {
      if (mergeChanges(target[key], value, depth + 1)) return true
    } else if (!jsonEqual(target[key], value)) return true
  }
  return false
}

/** Depth to which jsonEqual compares by recursion (no allocation) before its iterative walk. */
const RECURSE_DEPTH = 32

/** Deep equality of JSON values; key order does not matter. No depth can overflow it. */
export function jsonEqual(x: Json | undefined, y: Json | undefined): boolean {
  const r = equalTo(x, y, RECURSE_DEPTH)
  return r === undefined ? equalIterative(x, y) : r
}

/** jsonEqual by recursion, allocating nothing; undefined when the values nest deeper than `left`. */
function equalTo(a: Json | undefined, b: Json | undefined, left: number): boolean | undefined {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (left === 0) return undefined
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) {
      const r = equalTo(a[i], b[i], left - 1)
      if (r !== true) return r
    }
    return true
  }
  if (Array.isArray(b)) return false
  let count = 0
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue
    count++
    if (!Object.hasOwn(b, k)) return false
    const r = equalTo(a[k], b[k], left - 1)
    if (r !== true) return r
  }
  for (const k in b) if (Object.hasOwn(b, k)) count--
  return count === 0
}

/** jsonEqual with an explicit stack: any depth. */
function equalIterative(x: Json | undefined, y: Json | undefined): boolean {
  const stack: [Json | undefined, Json | undefined][] = [[x, y]]
  while (stack.length) {
    const [a, b] = stack.pop() as [Json | undefined, Json | undefined]
    if (a === b) continue
    if (a === null || b === null || a === undefined || b === undefined) return false
    if (typeof a !== 'object' || typeof b !== 'object') return false
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false
      for (let i = 0; i < a.length; i++) stack.push([a[i], b[i]])
      continue
    }
    if (Array.isArray(b)) return false
    const ak = Object.keys(a)
    if (ak.length !== Object.keys(b).length) return false
    for (const k of ak) {
      if (!Object.hasOwn(b, k)) return false
      stack.push([a[k], b[k]])
    }
  }
  return true
}

/** True when any string inside the value holds a NUL character, which neither engine can store in text. */
export function containsNul(v: unknown): boolean {
  return nulPaths(v).length > 0
}

/** Dotted paths of the strings (or keys) inside a value that hold a NUL character ('' for the value itself). Iterative. */
export function nulPaths(v: unknown, path = ''): string[] {
  const out: string[] = []
  const stack: [unknown, string][] = [[v, path]]
  while (stack.length) {
    const [x, at] = stack.pop() as [unknown, string]
    const join = (k: string | number) => (at ? `${at}.${k}` : String(k))
    if (typeof x === 'string') {
      if (x.includes('\u0000')) out.push(at)
    } else if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) stack.push([x[i], join(i)])
    } else if (isPlainObject(x)) {
      const keys = Object.keys(x)
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]
        if (k.includes('\u0000')) out.push(join(k.split('\u0000').join('\\0')))
        else stack.push([x[k], join(k)])
      }
    }
  }
  return out
}
