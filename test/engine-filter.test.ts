import { describe, expect, it } from 'vitest'
import { ENGINE_NAMES, enginesToRun, leftOutByFilter } from './helpers/engine-filter.js'

describe('ENGINES: which engines a test run covers', () => {
  it('unset or empty runs both', () => {
    expect(enginesToRun({})).toEqual(['sqlite', 'postgres'])
    expect(enginesToRun({ ENGINES: '' })).toEqual(['sqlite', 'postgres'])
    expect(leftOutByFilter('postgres', {})).toBeUndefined()
  })

  it('one name runs only that engine; a comma list runs those', () => {
    expect(enginesToRun({ ENGINES: 'postgres' })).toEqual(['postgres'])
    expect(enginesToRun({ ENGINES: 'sqlite' })).toEqual(['sqlite'])
    expect(enginesToRun({ ENGINES: ' postgres , sqlite ' })).toEqual(['sqlite', 'postgres'])
    expect(leftOutByFilter('sqlite', { ENGINES: 'postgres' })).toBe('ENGINES=postgres leaves sqlite out')
    expect(leftOutByFilter('postgres', { ENGINES: 'postgres' })).toBeUndefined()
  })

  it('an unknown name fails loudly, with the valid names', () => {
    expect(() => enginesToRun({ ENGINES: 'mysql' })).toThrow(
      `ENGINES="mysql": unknown engine 'mysql'; the valid names are ${ENGINE_NAMES.join(', ')}`,
    )
    expect(() => enginesToRun({ ENGINES: 'sqlite,Postgres' })).toThrow(/unknown engine 'Postgres'; the valid names are sqlite, postgres/)
    expect(() => enginesToRun({ ENGINES: ',' })).toThrow(/no engine named; the valid names are sqlite, postgres/)
  })
})
