import { describe, expect, it } from 'vitest'
import { columnIndex, duplicateColumn, isFieldPath, normalizeHeader, suggestMapping, suggestPath } from './column-mapping.js'

describe('column mapping suggestions (shared by the CSV mapper and the console)', () => {
  it('normalizes names ignoring case, spaces, _ and -', () => {
    expect(normalizeHeader('First Name')).toBe('firstname')
    expect(normalizeHeader('first_name')).toBe('firstname')
    expect(normalizeHeader('FIRST-NAME')).toBe('firstname')
  })

  it('suggests built-ins, custom fields, metadata.<key> and fields.<key>; nothing for unknown names', () => {
    expect(
      suggestMapping(
        ['E-mail', 'First Name', 'external_id', 'metadata.Plan', 'Department', 'fields.seats', 'fields.nope', 'Shoe size', 'ID'],
        ['department', 'seats'],
      ),
    ).toEqual(['email', 'firstName', 'externalId', 'metadata.Plan', 'fields.department', 'fields.seats', null, null, 'id'])
  })

  it('a custom key that normalizes like a built-in is not suggested for that name', () => {
    const index = columnIndex(['e_mail'])
    expect(suggestPath('e_mail', index)).toBe('email')
    expect(suggestPath('fields.e_mail', index)).toBe('fields.e_mail')
  })

  it('knows which paths a column may be mapped to', () => {
    const custom = new Set(['department'])
    for (const ok of ['email', 'id', 'metadata', 'metadata.plan', 'fields.department', 'department'])
      expect(isFieldPath(ok, custom), ok).toBe(true)
    for (const bad of ['metadata.', 'fields.nope', 'createdAt', 'nope']) expect(isFieldPath(bad, custom), bad).toBe(false)
  })

  it('finds the first duplicate column name', () => {
    expect(duplicateColumn(['email', 'name', 'x', 'name'])).toEqual({ name: 'name', first: 1, second: 3 })
    expect(duplicateColumn(['email', 'Email'])).toBeNull()
  })
})
