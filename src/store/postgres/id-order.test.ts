import { describe, expect, it } from 'vitest'
import { inIdOrder } from './postgres-store.js'

describe('inIdOrder (the order writes lock users in)', () => {
  const id = (r: { id: string }) => r.id
  it('keeps rows already in bytewise id order as they are, and sorts a copy of others', () => {
    const sorted = [{ id: '0190-a' }, { id: '0190-b' }, { id: 'Z' }, { id: 'a' }]
    expect(inIdOrder(sorted, id)).toBe(sorted)
    const mixed = [{ id: 'b' }, { id: 'B' }, { id: 'a-1' }, { id: 'a' }, { id: 'é' }, { id: '0' }]
    const before = mixed.map(id)
    expect(inIdOrder(mixed, id).map(id)).toEqual(['0', 'B', 'a', 'a-1', 'b', 'é'])
    expect(mixed.map(id)).toEqual(before)
    expect(inIdOrder([], id)).toEqual([])
  })
})
