import { describe, expect, it } from 'vitest'
import { isRollcallError } from '../core/errors.js'
import { definitionOf } from '../core/fields.js'
import type { FieldDefinition } from '../core/types.js'
import { userFilterOf } from './user-conditions.js'

const def = (key: string, type: FieldDefinition['type']): FieldDefinition => definitionOf({ key, type }, null)
const DEFS = [
  def('xp', 'number'),
  def('vip', 'string'),
  def('active', 'boolean'),
  def('born', 'date'),
  def('seen', 'datetime'),
  def('blob', 'json'),
]

function problems(run: () => unknown): { field: string; code: string }[] {
  try {
    run()
  } catch (e) {
    if (isRollcallError(e)) return e.errors.map(({ field, code }) => ({ field, code }))
    throw e
  }
  throw new Error('expected a validation error')
}

describe('userFilterOf', () => {
  it('translates equality and ranges on built-ins and custom fields, typed by their definitions', () => {
    expect(
      userFilterOf(DEFS, [
        { field: 'email', op: 'eq', value: 'A@x.io' },
        { field: 'fields.xp', op: 'gte', value: 10 },
        { field: 'fields.xp', op: 'lte', value: 20 },
        { field: 'fields.vip', op: 'eq', value: 'Gold', caseExact: true },
        { field: 'fields.active', op: 'eq', value: true },
        { field: 'loginCount', op: 'gte', value: 1 },
      ]),
    ).toEqual({
      op: 'and',
      of: [
        { op: 'eq', field: { column: 'email' }, value: 'A@x.io' },
        { op: 'ge', field: { custom: 'xp', kind: 'number' }, value: 10 },
        { op: 'le', field: { custom: 'xp', kind: 'number' }, value: 20 },
        { op: 'eq', field: { custom: 'vip', kind: 'text' }, value: 'Gold', caseExact: true },
        { op: 'eq', field: { custom: 'active', kind: 'boolean' }, value: true },
        { op: 'ge', field: { column: 'loginCount' }, value: 1 },
      ],
    })
    expect(userFilterOf(DEFS, [])).toEqual({ op: 'const', value: true })
  })

  it('a date on a timestamp covers its whole UTC day; a date-time its millisecond', () => {
    const day = { start: '2024-01-31T00:00:00.000Z', end: '2024-02-01T00:00:00.000Z' }
    const createdAt = { column: 'createdAt' }
    expect(userFilterOf(DEFS, [{ field: 'createdAt', op: 'lte', value: '2024-01-31' }])).toEqual({
      op: 'lt',
      field: createdAt,
      value: day.end,
    })
    expect(userFilterOf(DEFS, [{ field: 'createdAt', op: 'gte', value: '2024-01-31' }])).toEqual({
      op: 'ge',
      field: createdAt,
      value: day.start,
    })
    expect(userFilterOf(DEFS, [{ field: 'createdAt', op: 'eq', value: '2024-01-31' }])).toEqual({
      op: 'and',
      of: [
        { op: 'ge', field: createdAt, value: day.start },
        { op: 'lt', field: createdAt, value: day.end },
      ],
    })
    expect(userFilterOf(DEFS, [{ field: 'createdAt', op: 'lte', value: '2024-01-31T10:00:00+02:00' }])).toEqual({
      op: 'lt',
      field: createdAt,
      value: '2024-01-31T08:00:00.001Z',
    })
    expect(userFilterOf(DEFS, [{ field: 'fields.seen', op: 'lte', value: '2024-01-31' }])).toEqual({
      op: 'lt',
      field: { custom: 'seen', kind: 'text' },
      value: day.end,
    })
    // A date field holds dates: compared as the text it is.
    expect(userFilterOf(DEFS, [{ field: 'fields.born', op: 'gte', value: '2000-01-01' }])).toEqual({
      op: 'ge',
      field: { custom: 'born', kind: 'text' },
      value: '2000-01-01',
    })
  })

  it('reports every bad condition at once, each with its field', () => {
    expect(
      problems(() =>
        userFilterOf(DEFS, [
          { field: 'fields.xp', op: 'eq', value: 'ten' },
          { field: 'fields.nope', op: 'eq', value: 1 },
          { field: 'fields.blob', op: 'eq', value: 'x' },
          { field: 'fields.active', op: 'gte', value: true },
          { field: 'createdAt', op: 'gte', value: 'soon' },
          { field: 'loginCount', op: 'eq', value: '3' },
          { field: 'email', op: 'eq', value: 3 },
          { field: 'metadata', op: 'eq', value: 'x' },
        ]),
      ),
    ).toEqual([
      { field: 'fields.xp', code: 'invalid_type' },
      { field: 'fields.nope', code: 'unknown_field' },
      { field: 'fields.blob', code: 'invalid_operation' },
      { field: 'fields.active', code: 'invalid_operation' },
      { field: 'createdAt', code: 'invalid_format' },
      { field: 'loginCount', code: 'invalid_type' },
      { field: 'email', code: 'invalid_type' },
      { field: 'metadata', code: 'unknown_field' },
    ])
  })
})
