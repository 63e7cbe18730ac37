import { describe, expect, it } from 'vitest'
import { parseJsonArray, parseNdjson } from './json.js'

async function collect<T>(gen: AsyncGenerator<T>) {
  const out: T[] = []
  for await (const x of gen) out.push(x)
  return out
}
async function* chunked(s: string, size: number) {
  const b = Buffer.from(s)
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
}

describe('parseNdjson', () => {
  it('one value per line, bad lines reported with their number', async () => {
    for (const size of [1, 3, 100]) {
      const rows = await collect(parseNdjson(chunked('{"a":1}\r\n\n{"b":"x\\ny"}\n{bad\n[1,2]', size)))
      expect(rows.map((r) => [r.line, r.value ?? null, r.error ? 'error' : null])).toEqual([
        [1, { a: 1 }, null],
        [3, { b: 'x\ny' }, null],
        [4, null, 'error'],
        [5, [1, 2], null],
      ])
    }
  })
})

describe('parseJsonArray', () => {
  it('streams the elements of a top-level array, nested brackets and commas in strings included', async () => {
    const doc = '[\n {"a": "x, ]}[{", "b": [1, {"c": 2}]},\n {"d": "\\"q\\""} ,\n 3\n]\n'
    for (const size of [1, 4, 1000]) {
      const rows = await collect(parseJsonArray(chunked(doc, size)))
      expect(rows.map((r) => [r.line, r.value])).toEqual([
        [2, { a: 'x, ]}[{', b: [1, { c: 2 }] }],
        [3, { d: '"q"' }],
        [4, 3],
      ])
    }
  })

  it('reports a bad element on its own and refuses what is not an array', async () => {
    const rows = await collect(parseJsonArray(chunked('[{"a":1}, {oops}, {"b":2}]', 5)))
    expect(rows.map((r) => (r.error ? 'error' : r.value))).toEqual([{ a: 1 }, 'error', { b: 2 }])
    await expect(collect(parseJsonArray(chunked('{"a":1}', 5)))).rejects.toThrow('not a JSON array')
    await expect(collect(parseJsonArray(chunked('', 5)))).rejects.toThrow('empty')
    await expect(collect(parseJsonArray(chunked('[{"a":1}', 5)))).rejects.toThrow('not closed')
    expect(await collect(parseJsonArray(chunked(' [ ] ', 2)))).toEqual([])
  })
})
