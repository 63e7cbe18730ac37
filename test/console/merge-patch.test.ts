import { describe, expect, it } from 'vitest'
import { mergePatchOf } from '../../web/src/merge-patch.js'

/** RFC 7396's own application rule, to check that a computed patch turns before into after. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = applyMergePatch(out[k], v)
  }
  return out
}

describe("the console's merge patch (user edit)", () => {
  const before = { plan: 'pro', seats: 3, tags: ['a', 'b'], billing: { email: 'a@x.io', vat: 'DE1', address: { city: 'Bonn' } }, gone: 1 }

  it('holds only what changed: removed keys as null, nested objects key by key, arrays whole', () => {
    const after = { plan: 'pro', seats: 4, tags: ['a', 'c'], billing: { email: 'a@x.io', address: { city: 'Köln' } }, added: true }
    const patch = mergePatchOf(before, after)
    expect(patch).toEqual({ gone: null, seats: 4, tags: ['a', 'c'], billing: { vat: null, address: { city: 'Köln' } }, added: true })
    expect(applyMergePatch(before, patch)).toEqual(after)
  })

  it('is empty when nothing changed, whatever the key order', () => {
    const same = { gone: 1, billing: { address: { city: 'Bonn' }, vat: 'DE1', email: 'a@x.io' }, tags: ['a', 'b'], seats: 3, plan: 'pro' }
    expect(mergePatchOf(before, same)).toEqual({})
  })

  it('replaces a value that changes between object and not', () => {
    expect(mergePatchOf({ a: { b: 1 } }, { a: 'flat' })).toEqual({ a: 'flat' })
    expect(mergePatchOf({ a: 'flat' }, { a: { b: 1 } })).toEqual({ a: { b: 1 } })
    expect(mergePatchOf({ a: [1] }, { a: { 0: 1 } })).toEqual({ a: { 0: 1 } })
  })
})
