import { expect, it } from 'vitest'
import { uuidv7 } from './ids.js'

it('uuidv7: version 7, variant 10, increasing within and across milliseconds', () => {
  const ids = Array.from({ length: 5000 }, () => uuidv7())
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  expect([...ids].sort()).toEqual(ids)
  expect(new Set(ids).size).toBe(ids.length)
  const before = Date.now()
  const ms = parseInt(uuidv7().replace(/-/g, '').slice(0, 12), 16)
  expect(ms).toBeGreaterThanOrEqual(before)
  expect(ms).toBeLessThan(before + 5000)
})
