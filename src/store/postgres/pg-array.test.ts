import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { pgArray } from './pg-array.js'

/** pg's own conversion of a parameter (what it sends for a JavaScript array). */
const { prepareValue } = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils

describe('pgArray', () => {
  it('spells an array as pg itself does, whatever its elements hold', () => {
    const values = [
      'plain',
      '',
      'NULL',
      'null',
      'with "quotes"',
      'back\\slash',
      '\\"',
      'a,b',
      '{braces}',
      ' spaced ',
      'tab\tnew\nline',
      'ünïcødé 🙂',
      '{"json": ["x", 1, null]}',
      null,
      undefined,
      0,
      -1.5,
      1e21,
      true,
      false,
    ]
    expect(pgArray(values)).toBe(prepareValue(values))
    for (const v of values) expect(pgArray([v, v])).toBe(prepareValue([v, v]))
    expect(pgArray([])).toBe('{}')
    expect(pgArray([null])).toBe('{NULL}')
  })

  it('refuses nested values rather than spell them differently from pg', () => {
    expect(() => pgArray([{ a: 1 }])).toThrow(TypeError)
    expect(() => pgArray([['a']])).toThrow(TypeError)
  })
})
