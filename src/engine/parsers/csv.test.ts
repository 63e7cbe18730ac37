import { describe, expect, it } from 'vitest'
import { detectDelimiter, HANDOVER, parseCsv, parseCsvChunks } from './csv.js'

async function parse(text: string | Buffer, chunkSize = 7, delimiter: string | null = ',') {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')
  async function* chunks() {
    for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, i + chunkSize)
  }
  const out = []
  for await (const r of parseCsv(chunks(), { delimiter, quote: '"' })) out.push(r)
  return out
}

describe('parseCsv', () => {
  it('hands over, per input chunk, the records that chunk completes: a record cut by a seam comes with the chunk that ends it, the last one (no line break) once the input ends', async () => {
    const chunks = ['a,b\n1,2\n3,', '4\n"x\n', 'y",5\n6,7']
    async function* source() {
      for (const c of chunks) yield Buffer.from(c, 'utf8')
    }
    const groups: (string[] | null)[][] = []
    for await (const records of parseCsvChunks(source(), { delimiter: ',', quote: '"' })) groups.push(records.map((r) => r.cells))
    expect(groups).toEqual([
      [
        ['a', 'b'],
        ['1', '2'],
      ],
      [['3', '4']],
      [['x\ny', '5']],
      [['6', '7']],
    ])
  })

  it('hands over a chunk holding many records in groups of at most HANDOVER, in order, none lost', async () => {
    const n = HANDOVER * 2 + HANDOVER / 2
    const text = Array.from({ length: n }, (_, i) => `r${i},x`).join('\n') + '\n'
    async function* source() {
      yield Buffer.from(text, 'utf8')
    }
    const groups: string[][] = []
    for await (const records of parseCsvChunks(source(), { delimiter: ',', quote: '"' }))
      groups.push(records.map((r) => r.cells?.[0] ?? ''))
    expect(groups.map((g) => g.length)).toEqual([HANDOVER, HANDOVER, HANDOVER / 2])
    expect(groups.flat()).toEqual(Array.from({ length: n }, (_, i) => `r${i}`))
  })

  it('reads plain, quoted, doubled-quote and multi-line cells, CRLF or LF, in any chunking', async () => {
    const text = 'a,b,c\r\n1,"two, 2","say ""hi"""\n"multi\nline",x,\n\n4,5,6'
    for (const size of [1, 2, 5, 64, 4096]) {
      const rows = await parse(text, size)
      expect(rows.map((r) => [r.line, r.cells])).toEqual([
        [1, ['a', 'b', 'c']],
        [2, ['1', 'two, 2', 'say "hi"']],
        [3, ['multi\nline', 'x', '']],
        [6, ['4', '5', '6']],
      ])
    }
  })

  it('reads CR-only line endings (old Mac files) as lines, in any chunking, quoted breaks kept', async () => {
    const text = 'a,b\r1,"x\ry"\r\r2,3\r"q,uoted",4'
    for (const size of [1, 2, 3, 5, 64, 4096]) {
      const rows = await parse(text, size)
      expect(
        rows.map((r) => [r.line, r.cells, r.error ?? null]),
        `chunks of ${size}`,
      ).toEqual([
        [1, ['a', 'b'], null],
        [2, ['1', 'x\ry'], null],
        [5, ['2', '3'], null],
        [6, ['q,uoted', '4'], null],
      ])
    }
    // Delimiter detection splits CR-only lines too.
    expect(detectDelimiter('a;b;c\r1;2;3\r4;5;6', '"')).toBe(';')
    expect((await parse('a;b\r1;2\r', 4, null)).map((r) => r.cells)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ])
  })

  it('fails a record with an unbalanced or stray quote on its own line number and goes on', async () => {
    const rows = await parse('h1,h2\nok,1\n"bad,2\nfine,3\nx"y,4\nlast,5\n')
    expect(rows.map((r) => [r.line, r.cells, r.error ?? null])).toEqual([
      [1, ['h1', 'h2'], null],
      [2, ['ok', '1'], null],
      [3, null, expect.stringMatching(/closing quote|never closed/)],
      [4, ['fine', '3'], null],
      [5, null, 'a quote inside an unquoted cell at column 1'],
      [6, ['last', '5'], null],
    ])
  })

  it('an unterminated quote at the end fails that record only', async () => {
    const rows = await parse('a,b\n1,2\n3,"never')
    expect(rows.map((r) => [r.line, r.error ?? null])).toEqual([
      [1, null],
      [2, null],
      [3, 'a quoted cell is never closed (unbalanced quote)'],
    ])
  })

  it('drops a BOM, flags invalid UTF-8 per row and oversized cells', async () => {
    const bad = Buffer.concat([
      Buffer.from('\ufeffname,x\nok,1\n'),
      Buffer.from([0x62, 0xff, 0x2c, 0x32, 0x0a]),
      Buffer.from(`big,${'y'.repeat(1024 * 1024 + 1)}\n`),
    ])
    const rows = await parse(bad, 1000)
    expect(rows[0].cells).toEqual(['name', 'x'])
    expect(rows[1].cells).toEqual(['ok', '1'])
    expect(rows[2]).toMatchObject({ line: 3, cells: null, error: 'the row is not valid UTF-8' })
    expect(rows[3]).toMatchObject({ line: 4, cells: null, error: 'a cell is larger than 1 MB' })
  })

  it('an endless line fails once and memory stays bounded; the next line is read', async () => {
    const huge = Buffer.concat([Buffer.from('a,b\n'), Buffer.alloc(9 * 1024 * 1024, 'x'), Buffer.from('\nc,d\n')])
    const rows = await parse(huge, 64 * 1024)
    expect(rows.map((r) => [r.line, r.cells, r.error ?? null])).toEqual([
      [1, ['a', 'b'], null],
      [2, null, 'a record longer than 8 MB'],
      [3, ['c', 'd'], null],
    ])
  })

  it('detects the delimiter among , ; tab |', async () => {
    expect(detectDelimiter('a;b;c\n1;2;3')).toBe(';')
    expect(detectDelimiter('a\tb\n1\t2')).toBe('\t')
    expect(detectDelimiter('a|b|"c|d"\n1|2|3')).toBe('|')
    expect(detectDelimiter('"x, y";b\n1;2')).toBe(';')
    const rows = await parse('email;name\na@x.io;"A; B"\n', 3, null)
    expect(rows[1].cells).toEqual(['a@x.io', 'A; B'])
  })
})
