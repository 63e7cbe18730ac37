import { describe, expect, it } from 'vitest'
import { inexactIntegers, inexactNumberProblems, inputProblems, MAX_JSON_DEPTH, metadataKeyProblems, tooDeepAt } from './input-guard.js'
import { jsonEqual, mergePatch, nulPaths } from './merge.js'
import type { Json } from './types.js'

/** An array nested `levels` deep around 1, built without recursion. */
function nested(levels: number): Json {
  let v: Json = 1
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

describe('input guard', () => {
  it('finds nesting beyond the limit, with its path, at any depth without overflowing', () => {
    expect(tooDeepAt(nested(MAX_JSON_DEPTH))).toBeNull()
    expect(tooDeepAt(nested(MAX_JSON_DEPTH + 1))).toBe(Array(MAX_JSON_DEPTH).fill('0').join('.'))
    expect(tooDeepAt({ a: nested(1_000_000) })).toMatch(/^a(\.0)+$/)
    expect(inputProblems({ a: nested(1_000_000) })).toEqual([
      { field: expect.stringMatching(/^a(\.0)+$/), code: 'too_deep', message: `nested deeper than ${MAX_JSON_DEPTH} levels` },
    ])
  })

  it('names every value the stores would not keep as sent', () => {
    expect(inputProblems({ ok: 'fine 😀', n: 1e308, list: [1, 'two'] })).toEqual([])
    expect(
      inputProblems({ a: 'x\u0000', b: ['\ud800'], c: { d: Infinity, e: -Infinity }, ['k\udc00']: 1, __proto__x: 1 })
        .map((p) => [p.field, p.code])
        .sort(),
    ).toEqual([
      ['a', 'invalid_character'],
      ['b.0', 'invalid_character'],
      ['c.d', 'invalid_value'],
      ['c.e', 'invalid_value'],
      ['k\\udc00', 'invalid_character'],
    ])
    const proto = JSON.parse('{"metadata":{"__proto__":{"admin":true}},"__proto__":1}') as unknown
    expect(inputProblems(proto)).toEqual([
      { field: '__proto__', code: 'forbidden_key', message: "the key '__proto__' is not allowed" },
      { field: 'metadata.__proto__', code: 'forbidden_key', message: "metadata key '__proto__' is not allowed" },
    ])
    expect(inputProblems({ q: 'a\u0000b' }, { prefix: 'query' })).toEqual([expect.objectContaining({ field: 'query.q' })])
  })

  it('metadata keys with control characters are named visibly, at any depth', () => {
    expect(metadataKeyProblems({ 'role\n': 1, a: [{ 'b\u007f': 2 }], fine: { 'c d': 3 } }).map((p) => p.field)).toEqual([
      'metadata.role\\n',
      'metadata.a.0.b\\u007f',
    ])
  })
})

describe('inexact integer literals', () => {
  it('are found in the text, outside strings, fractions and exponents', () => {
    expect(inexactIntegers('{"a":9007199254740993}')).toEqual(new Set([9007199254740992]))
    expect(inexactIntegers('[-12345678901234567891,1]')).toEqual(new Set([-12345678901234567000]))
    expect(inexactIntegers('{"a":9007199254740992,"b":-9007199254740991,"c":1e21}')).toBeNull()
    expect(inexactIntegers('{"s":"12345678901234567890","t":"a\\"12345678901234567890"}')).toBeNull()
    expect(inexactIntegers('[0.12345678901234567890,1.5e12345678901234567,1e-12345678901234567]')).toBeNull()
    const value = JSON.parse('{"a":[1,{"b":9007199254740993}]}') as unknown
    expect(inexactNumberProblems(value, inexactIntegers('{"a":[1,{"b":9007199254740993}]}') as Set<number>)).toEqual([
      expect.objectContaining({ field: 'a.1.b', code: 'out_of_range' }),
    ])
  })
})

describe('walkers of client data do not recurse without bound', () => {
  it('jsonEqual and nulPaths take values a million levels deep', () => {
    expect(jsonEqual(nested(1_000_000), nested(1_000_000))).toBe(true)
    expect(jsonEqual(nested(1_000_000), nested(999_999))).toBe(false)
    expect(nulPaths({ a: nested(1_000_000) })).toEqual([])
  })

  it('mergePatch refuses a patch deeper than the limit instead of overflowing, and keeps __proto__ as a key', () => {
    expect(() => mergePatch({}, { a: nested(100_000) })).not.toThrow()
    let deep: Json = { x: 1 }
    for (let i = 0; i < 100_000; i++) deep = { d: deep }
    expect(() => mergePatch({}, deep)).toThrow(/nested deeper/)
    const merged = mergePatch({}, JSON.parse('{"__proto__":{"admin":true}}') as Json) as Record<string, unknown>
    expect(Object.keys(merged)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype)
    expect((merged as { admin?: unknown }).admin).toBeUndefined()
  })
})
