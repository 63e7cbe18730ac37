import { describe, expect, it } from 'vitest'
import { BUILT_IN_FIELDS } from './fields.js'
import { applyPatch, blankUser } from './user-patch.js'

describe('applyPatch', () => {
  const now = '2026-01-01T00:00:00.000Z'
  const opts = { metadata: 'merge' as const, now }

  it('stores built-in timestamps in one form (UTC, milliseconds), whatever offset or precision they came in', () => {
    const { after, changes } = applyPatch(
      blankUser('u1', 'd1', now),
      { lastLoginAt: '2024-01-10T12:00:00+02:00', emailVerifiedAt: '2024-01-10T10:00:00Z' },
      BUILT_IN_FIELDS,
      opts,
    )
    expect(after.lastLoginAt).toBe('2024-01-10T10:00:00.000Z')
    expect(after.emailVerifiedAt).toBe('2024-01-10T10:00:00.000Z')
    expect(changes.lastLoginAt).toEqual([null, '2024-01-10T10:00:00.000Z'])
  })

  it('the same instant spelled differently is no change', () => {
    const before = { ...blankUser('u1', 'd1', now), lastLoginAt: '2024-01-10T10:00:00.000Z' }
    const { changes, after } = applyPatch(before, { lastLoginAt: '2024-01-10T10:00:00Z' }, BUILT_IN_FIELDS, opts)
    expect(changes).toEqual({})
    expect(after.version).toBe(before.version)
  })

  it('a patch that changes nothing returns the user itself, unversioned, and one that does a new record', () => {
    const before = { ...blankUser('u1', 'd1', now), email: 'a@x.io', metadata: { plan: 'gold', seats: 3, tags: ['a'] }, version: 4 }
    const same = applyPatch(before, { email: 'a@x.io', metadata: { plan: 'gold', tags: ['a'], gone: null } }, BUILT_IN_FIELDS, opts)
    expect(same.changes).toEqual({})
    expect(same.after).toBe(before)

    const changed = applyPatch(before, { metadata: { seats: 4 } }, BUILT_IN_FIELDS, { ...opts, now: '2026-02-01T00:00:00.000Z' })
    expect(changed.changes).toEqual({ 'metadata.seats': [3, 4] })
    expect(changed.after).not.toBe(before)
    expect(changed.after).toMatchObject({
      version: 5,
      updatedAt: '2026-02-01T00:00:00.000Z',
      metadata: { plan: 'gold', seats: 4, tags: ['a'] },
    })
    expect(before).toMatchObject({ version: 4, metadata: { plan: 'gold', seats: 3, tags: ['a'] } })

    const replaced = applyPatch(before, { metadata: { tags: ['a'], seats: 3, plan: 'gold' } }, BUILT_IN_FIELDS, {
      ...opts,
      metadata: 'replace',
    })
    expect(replaced.changes).toEqual({})
    expect(replaced.after).toBe(before)

    const withFields = { ...before, fields: { team: 'ops', level: 2 } }
    const sameFields = applyPatch(withFields, { fields: { team: 'ops', level: 2 } }, BUILT_IN_FIELDS, opts)
    expect(sameFields.changes).toEqual({})
    expect(sameFields.after).toBe(withFields)
    const newLevel = applyPatch(withFields, { fields: { level: 3 } }, BUILT_IN_FIELDS, opts)
    expect(newLevel.changes).toEqual({ 'fields.level': [2, 3] })
    expect(newLevel.after).toMatchObject({ version: 5, fields: { team: 'ops', level: 3 } })
    expect(withFields.fields).toEqual({ team: 'ops', level: 2 })

    const cleared = applyPatch(before, { metadata: { plan: null } }, BUILT_IN_FIELDS, opts)
    expect(cleared.changes).toEqual({ 'metadata.plan': ['gold', null] })
    expect(cleared.after.metadata).toEqual({ seats: 3, tags: ['a'] })
  })
})
