import { describe, expect, it } from 'vitest'
import type { FieldDefinition } from '../../core/types.js'
import { suggestMapping } from '../../core/column-mapping.js'
import { csvMapper, MappingError } from './mapping.js'

const def = (key: string, type: FieldDefinition['type']): FieldDefinition => ({
  key,
  label: key,
  type,
  required: false,
  unique: false,
  maxLength: null,
  pattern: null,
  enumValues: null,
  builtIn: false,
  createdAt: null,
  updatedAt: null,
})
const defs = [def('department', 'string'), def('seats', 'integer'), def('vip', 'boolean')]
const base = { mapping: null, unmapped: 'fail' as const, emptyMeans: 'skip' as const }

describe('csvMapper', () => {
  it('maps headers by name ignoring case, spaces, _ and -, with metadata.* and custom keys', () => {
    const map = csvMapper(['E-mail', 'First Name', 'last_name', 'metadata.plan', 'Department', 'SEATS', 'vip'], defs, base)
    expect(map(['a@x.io', 'Ada', 'L', 'pro', 'R&D', '3', 'yes'])).toEqual({
      data: {
        email: 'a@x.io',
        firstName: 'Ada',
        lastName: 'L',
        metadata: { plan: 'pro' },
        fields: { department: 'R&D', seats: 3, vip: true },
      },
      errors: [],
    })
  })

  it('empty cells leave fields as they are, or clear them with emptyMeans=null', () => {
    expect(csvMapper(['email', 'phone'], defs, base)(['a@x.io', '']).data).toEqual({ email: 'a@x.io' })
    expect(csvMapper(['email', 'phone'], defs, { ...base, emptyMeans: 'null' })(['a@x.io', '']).data).toEqual({
      email: 'a@x.io',
      phone: null,
    })
  })

  it('fails the whole input, before any write, on unmapped, duplicate or doubly mapped columns', () => {
    expect(() => csvMapper(['email', 'Shoe Size', 'hat'], defs, base)).toThrow(
      new MappingError(
        "columns that map to no field: 'Shoe Size', 'hat'; map them with \"mapping\", or pass unmapped=metadata or unmapped=ignore",
      ),
    )
    expect(() => csvMapper(['email', 'x', 'email'], defs, { ...base, unmapped: 'ignore' })).toThrow(
      "duplicate column 'email' (columns 1 and 3)",
    )
    expect(() => csvMapper(['email', 'E-Mail'], defs, base)).toThrow("columns 'email' and 'E-Mail' both map to email")
    expect(() => csvMapper(['email'], defs, { ...base, mapping: { mail: 'email' } })).toThrow(
      "mapping names columns the file does not have: 'mail'",
    )
    expect(() => csvMapper(['email', 'x'], defs, { ...base, mapping: { x: 'shoe' } })).toThrow("mapping sends column 'x' to 'shoe'")
  })

  it('unmapped=metadata keeps unknown columns as metadata; explicit mapping wins', () => {
    const map = csvMapper(['Mail', 'Shoe Size'], defs, { ...base, unmapped: 'metadata', mapping: { Mail: 'email' } })
    expect(map(['a@x.io', '42']).data).toEqual({ email: 'a@x.io', metadata: { 'Shoe Size': '42' } })
  })

  it('operator columns turn a numeric cell into add or subtract; bad operators are row errors', () => {
    const map = csvMapper(['email', 'seats_op', 'seats', 'department_op', 'department'], defs, { ...base, opSuffix: '_op' })
    expect(map(['a@x.io', 'add', '5', '', 'R&D'])).toEqual({
      data: { email: 'a@x.io', fields: { seats: 5, department: 'R&D' } },
      errors: [],
      ops: { seats: 'add' },
    })
    expect(map(['a@x.io', 'overwrite', '5', '', '']).ops).toBeUndefined()
    expect(map(['a@x.io', 'times', '5', 'add', 'x']).errors.map((e) => [e.field, e.code])).toEqual([
      ['seats_op', 'invalid_value'],
      ['department_op', 'invalid_operation'],
    ])
  })

  it('a numeric cell no number holds exactly is a row error, not a rounded value', () => {
    const map = csvMapper(['email', 'seats', 'score'], [...defs, def('score', 'number')], base)
    expect(map(['a@x.io', '9007199254740991', '12345678901234567'])).toEqual({
      data: { email: 'a@x.io', fields: { seats: 9007199254740991 } },
      errors: [{ field: 'fields.score', code: 'out_of_range', message: expect.stringMatching(/beyond/) }],
    })
    expect(map(['a@x.io', '9007199254740993', '1.5']).errors).toEqual([
      expect.objectContaining({ field: 'fields.seats', code: 'out_of_range' }),
    ])
  })

  it('a __proto__ or constructor column with unmapped=metadata stays a key of its own', () => {
    const map = csvMapper(['email', '__proto__', 'constructor'], defs, { ...base, unmapped: 'metadata' })
    const { data } = map(['a@x.io', 'x', 'y'])
    expect(Object.keys(data.metadata as object)).toEqual(['__proto__', 'constructor'])
    expect(Object.getPrototypeOf(data.metadata)).toBe(Object.prototype)
  })

  it('a metadata column holds JSON; a bad cell is a row error naming the field', () => {
    const map = csvMapper(['email', 'metadata'], defs, base)
    expect(map(['a@x.io', '{"k":[1]}']).data).toEqual({ email: 'a@x.io', metadata: { k: [1] } })
    expect(map(['a@x.io', '{oops']).errors).toEqual([
      { field: 'metadata', code: 'invalid_json', message: 'the metadata cell is not valid JSON' },
    ])
  })
})

describe('the console suggests what the mapper maps', () => {
  it('suggestMapping (core/column-mapping.ts) names exactly the columns csvMapper maps without a mapping', () => {
    const header = ['E-mail', 'First Name', 'metadata.plan', 'Department', 'seats', 'fields.vip', 'fields.nope', 'Shoe size', 'createdAt']
    const suggested = suggestMapping(
      header,
      defs.map((d) => d.key),
    )
    const unmapped = header.filter((_, i) => suggested[i] === null)
    expect(unmapped).toEqual(['fields.nope', 'Shoe size', 'createdAt'])
    expect(() => csvMapper(header, defs, base)).toThrow(`columns that map to no field: ${unmapped.map((u) => `'${u}'`).join(', ')}`)
    const mapped = header.filter((_, i) => suggested[i] !== null)
    const explicit = Object.fromEntries(mapped.map((h) => [h, suggested[header.indexOf(h)] as string]))
    const cells = ['a@x.io', 'Ada', 'pro', 'R&D', '3', 'yes']
    expect(csvMapper(mapped, defs, base)(cells)).toEqual(csvMapper(mapped, defs, { ...base, mapping: explicit })(cells))
  })
})
