import type { Json, JsonObject } from './types.js'

export const isPlainObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * RFC 7396 JSON Merge Patch: objects merge recursively, `null` deletes a key, anything else
 * replaces. Returns a new value; neither input is modified.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isPlainObject(patch)) return patch
  const out: JsonObject = isPlainObject(target) ? { ...target } : {}
  for (const key of Object.keys(patch)) {
    const value = patch[key]
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

/** Deep equality of JSON values; key order does not matter. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ak = Object.keys(a)
  if (ak.length !== Object.keys(b).length) return false
  for (const k of ak) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false
  return true
}

/** True when any string inside the value holds a NUL character, which neither engine can store in text. */
export function containsNul(v: unknown): boolean {
  return nulPaths(v).length > 0
}

/** Dotted paths of the strings (or keys) inside a value that hold a NUL character ('' for the value itself). */
export function nulPaths(v: unknown, path = ''): string[] {
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k))
  if (typeof v === 'string') return v.includes('\u0000') ? [path] : []
  if (Array.isArray(v)) return v.flatMap((x, i) => nulPaths(x, join(i)))
  if (isPlainObject(v))
    return Object.keys(v).flatMap((k) => (k.includes('\u0000') ? [join(k.split('\u0000').join('\\0'))] : nulPaths(v[k], join(k))))
  return []
}
