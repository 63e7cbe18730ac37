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
})
