import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { JobResultRow } from '../core/jobs.js'
import { decodeBatch, encodeBatch } from './result-batch.js'

const row = (index: number, patch: Partial<JobResultRow> = {}): JobResultRow => ({
  index,
  line: index + 2,
  status: 'created',
  userId: `0190f2a4-aaaa-7bbb-8ccc-${String(index).padStart(12, '0')}`,
  changedFields: ['email', 'firstName'],
  errors: [],
  warnings: [],
  plan: null,
  raw: null,
  ...patch,
})

describe('result batches', () => {
  it('round-trips the rows without detail: statuses, ids, lines (gaps and none), changed-field lists', () => {
    const rows = [
      row(10),
      row(11, { status: 'updated', changedFields: ['country'], line: 40 }),
      row(12, { status: 'unchanged', changedFields: [], line: 41 }),
      row(13, { line: null, changedFields: ['email', 'firstName'] }),
      row(14, { line: 45 }),
    ]
    const batch = encodeBatch(rows)
    expect(batch).toMatchObject({ firstIndex: 10, count: 5 })
    expect(decodeBatch(batch!)).toEqual(rows)
    const noLines = rows.map((r) => ({ ...r, line: null }))
    expect(decodeBatch(encodeBatch(noLines)!)).toEqual(noLines)
  })

  it('costs a few bytes a row, deflated, each list of changed fields once', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => row(i, i % 2 ? { status: 'unchanged', changedFields: [] } : {}))
    const batch = encodeBatch(rows)!
    expect(batch.data.length / rows.length).toBeLessThan(15)
    const text = inflateSync(batch.data as Buffer).toString('utf8')
    expect(text.match(/firstName/g)).toHaveLength(1)
    expect(decodeBatch(batch)).toEqual(rows)
  })

  it('reads the JSON text of records made before they were deflated, as a string or as bytes', () => {
    const rows = [row(0), row(1, { status: 'unchanged', changedFields: [] })]
    const text = inflateSync(encodeBatch(rows)!.data as Buffer).toString('utf8')
    expect(text.startsWith('{')).toBe(true)
    expect(decodeBatch({ firstIndex: 0, count: 2, data: text })).toEqual(rows)
    expect(decodeBatch({ firstIndex: 0, count: 2, data: Buffer.from(text) })).toEqual(rows)
  })

  it('is not made for rows out of sequence, nor when every row needs a row of its own', () => {
    expect(encodeBatch([row(1), row(3)])).toBeNull()
    expect(encodeBatch([])).toBeNull()
    const failed = row(0, {
      status: 'failed',
      userId: null,
      errors: [{ field: 'email', code: 'invalid_format', message: 'bad' }],
      raw: '["x"]',
    })
    expect(encodeBatch([failed])).toBeNull()
    // A failed row in a batch is in the record too (its detail lives in its own row).
    expect(decodeBatch(encodeBatch([failed, row(1)])!)[0]).toMatchObject({ index: 0, status: 'failed', errors: [], raw: null })
  })
})
