import { describe, expect, it } from 'vitest'
import { pgTimestampToIso } from './postgres-store.js'

/** What the general path gives: PostgreSQL's text read as a date, the offset spelled out. */
const viaDate = (text: string): string => {
  const m = /^(.*) (.*?)([+-]\d\d)(?::?(\d\d))?$/.exec(text) as RegExpExecArray
  return new Date(`${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`).toISOString()
}

describe('pgTimestampToIso', () => {
  it('reads every UTC value PostgreSQL prints as Date would, the fraction cut to milliseconds', () => {
    const days = ['2026-01-31', '2024-02-29', '0001-01-01', '0999-12-31', '9999-12-31']
    const fractions = ['', '.1', '.12', '.123', '.1234', '.12345', '.123456', '.999999', '.000001', '.5']
    for (const day of days)
      for (const time of ['00:00:00', '12:34:56', '23:59:59'])
        for (const f of fractions) {
          const text = `${day} ${time}${f}+00`
          expect(pgTimestampToIso(text), text).toBe(viaDate(text))
        }
  })

  it('takes the general path for other offsets', () => {
    expect(pgTimestampToIso('2026-01-31 12:00:00.5+02')).toBe('2026-01-31T10:00:00.500Z')
    expect(pgTimestampToIso('2026-01-31 12:00:00+05:30')).toBe('2026-01-31T06:30:00.000Z')
  })
})
