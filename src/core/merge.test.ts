import { describe, expect, it } from 'vitest'
import { containsNul, jsonEqual, mergeChanges, mergePatch, setOwn } from './merge.js'
import type { Json } from './types.js'

describe('mergePatch (RFC 7396 appendix A)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ]
  it.each(cases)('%j + %j = %j', (target, patch, expected) => {
    expect(mergePatch(target as never, patch as never)).toEqual(expected)
  })

  it('does not modify its inputs', () => {
    const target = { a: { b: 1 } }
    mergePatch(target, { a: { c: 2 } })
    expect(target).toEqual({ a: { b: 1 } })
  })
})

describe('mergeChanges', () => {
  // Every pair: the merge tells whether it changes the target, and a "no" is always right.
  const targets: Json[] = [
    {},
    { a: 'b' },
    { a: 'b', b: 'c' },
    { a: { b: 'c' } },
    { a: { b: 'c', d: [1, { e: 2 }] } },
    { a: ['b'] },
    { a: null },
    { e: null, a: 1 },
    JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Json,
  ]
  const patches: Json[] = [
    {},
    { a: 'b' },
    { a: 'c' },
    { a: null },
    { z: null },
    { a: { b: 'c' } },
    { a: { b: 'c', q: null } },
    { a: { b: 'd' } },
    { a: {} },
    { a: ['b'] },
    { a: [] },
    { a: { b: 'c', d: [1, { e: 2 }] } },
    { a: { d: [1, { e: 3 }] } },
    JSON.parse('{"__proto__": {"x": 1}}') as Json,
    JSON.parse('{"__proto__": {"x": 2}}') as Json,
    null,
    'bar',
    ['c'],
  ]
  for (const target of targets)
    for (const patch of patches)
      it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
        const changes = !jsonEqual(mergePatch(target, patch), target)
        const said = mergeChanges(target, patch)
        // A patch that is not an object is never compared: the caller merges it.
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) expect(said).toBe(true)
        else expect(said).toBe(changes)
      })

  it('answers "changes" past the nesting limit instead of walking on', () => {
    let deep: Json = { leaf: 1 }
    for (let i = 0; i < 80; i++) deep = { n: deep }
    expect(mergeChanges(deep, deep)).toBe(true)
  })
})

describe('jsonEqual', () => {
  it('ignores key order and compares deeply', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true)
    expect(jsonEqual({ a: 1 }, { a: 1, b: null })).toBe(false)
    expect(jsonEqual({ a: 1, b: null }, { a: 1 })).toBe(false)
    expect(jsonEqual({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false)
    expect(jsonEqual([1, 2], [2, 1])).toBe(false)
    expect(jsonEqual('1', 1)).toBe(false)
  })

  it('gives the same answer on either side of the depth where it stops recursing', () => {
    const nest = (depth: number, leaf: Json): Json => {
      let v = leaf
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v }
      return v
    }
    for (const depth of [30, 31, 32, 33, 34, 100]) {
      expect(jsonEqual(nest(depth, 1), nest(depth, 1))).toBe(true)
      expect(jsonEqual(nest(depth, 1), nest(depth, 2))).toBe(false)
      expect(jsonEqual(nest(depth, { a: 1 }), nest(depth, { a: 1, b: 2 }))).toBe(false)
    }
  })
})

describe('containsNul', () => {
  it('finds NUL in nested strings and keys', () => {
    expect(containsNul({ a: ['x', 'y\u0000'] })).toBe(true)
    expect(containsNul({ 'k\u0000': 1 })).toBe(true)
    expect(containsNul({ a: 'fine' })).toBe(false)
  })
})

describe('setOwn', () => {
  it('makes an own, enumerable property of every key, __proto__ and those Object.prototype has included', () => {
    const o: Record<string, unknown> = JSON.parse('{"a":1}')
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'b']) setOwn(o, k, `v-${k}`)
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
    expect(Object.keys(o)).toEqual(['a', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'b'])
    for (const k of Object.keys(o).slice(1))
      expect(Object.getOwnPropertyDescriptor(o, k)).toMatchObject({ value: `v-${k}`, enumerable: true, writable: true })
    expect(JSON.parse(JSON.stringify(o))).toEqual(
      JSON.parse(
        '{"a":1,"__proto__":"v-__proto__","constructor":"v-constructor","toString":"v-toString","hasOwnProperty":"v-hasOwnProperty","b":"v-b"}',
      ),
    )
  })

  it('merges a patch naming __proto__ into the data, never into the prototype', () => {
    const merged = mergePatch({ a: 1 }, JSON.parse('{"__proto__":{"admin":true}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    expect(Object.getOwnPropertyDescriptor(merged, '__proto__')?.value).toEqual({ admin: true })
  })
})
