/**
 * The JSON Merge Patch (RFC 7396) that turns `before` into `after`: keys that went are null, keys
 * that changed carry their new value, nested objects are diffed key by key. Merge Patch cannot
 * set a value to null inside an object (null removes the key), so a null in `after` removes it.
 */
export function mergePatchOf(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {}
  for (const k of Object.keys(before)) if (!Object.hasOwn(after, k)) patch[k] = null
  for (const [k, v] of Object.entries(after)) {
    const old = Object.hasOwn(before, k) ? before[k] : undefined
    if (isObject(v) && isObject(old)) {
      const inner = mergePatchOf(old, v)
      if (Object.keys(inner).length) patch[k] = inner
    } else if (!sameJson(old, v)) patch[k] = v
  }
  return patch
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
