import { describe, expect, it } from 'vitest'
import { builtInDefinitions, effectiveFields, RESERVED_FIELD_KEYS } from './fields.js'
import { compileRowValidator, rowJsonSchema } from './schema.js'
import { DERIVED, deriveUserFields, USER_FIELDS, type UserFieldSpec } from './user-fields.js'

/** A built-in field added to the table in memory: every list that derives from the table has it. */
const NICKNAME: UserFieldSpec = {
  key: 'nickname',
  column: 'nickname',
  label: 'Nickname',
  type: 'string',
  writable: true,
  unique: false,
  matchKey: false,
  exported: true,
  maxLength: 12,
  pattern: null,
}
const TABLE: readonly UserFieldSpec[] = [...USER_FIELDS, NICKNAME]

describe('the table of built-in fields', () => {
  it('a field added to it flows into writing, matching, filtering, exporting, the columns and the definitions', () => {
    const d = deriveUserFields(TABLE)
    expect(d.writable).toContain('nickname')
    expect(d.serverOwned).not.toContain('nickname')
    expect(d.filterable).toContain('nickname')
    expect(d.exported).toContain('nickname')
    expect(d.columns.get('nickname')).toBe('nickname')
    expect(builtInDefinitions(TABLE).find((f) => f.key === 'nickname')).toMatchObject({
      type: 'string',
      maxLength: 12,
      builtIn: true,
      unique: false,
    })
    expect(effectiveFields([], TABLE).map((f) => f.key)).toContain('nickname')
  })

  it('…and into validation: the row schema takes it, checks it, and still refuses unknown and server-owned keys', () => {
    const validate = compileRowValidator([], TABLE)
    expect(validate({ email: 'a@x.io', nickname: 'Ada' })).toEqual([])
    expect(validate({ nickname: 'far too long a nickname' })).toEqual([expect.objectContaining({ field: 'nickname', code: 'too_long' })])
    expect(validate({ nickname: 7 })).toEqual([expect.objectContaining({ field: 'nickname', code: 'invalid_type' })])
    expect(validate({ loginCount: 3 })).toEqual([expect.objectContaining({ field: 'loginCount', code: 'read_only' })])
    // Without the row in the table the same key is unknown.
    expect(compileRowValidator([])({ nickname: 'Ada' })).toEqual([expect.objectContaining({ field: 'nickname', code: 'unknown_field' })])
    expect(Object.keys((rowJsonSchema([], TABLE) as { properties: object }).properties)).toContain('nickname')
  })

  it('today: every key of the table is reserved for custom fields, and the derived lists are the documented ones', () => {
    for (const f of USER_FIELDS) expect(RESERVED_FIELD_KEYS.has(f.key)).toBe(true)
    expect(DERIVED.matchKeys).toEqual(['id', 'externalId', 'email', 'username'])
    expect(DERIVED.serverOwned).toEqual(['id', 'createdAt', 'updatedAt', 'loginCount', 'version'])
    expect([...DERIVED.timeColumns]).toEqual(['emailVerifiedAt', 'createdAt', 'updatedAt', 'lastLoginAt'])
    expect([...DERIVED.intColumns]).toEqual(['loginCount', 'version'])
  })
})
