import { expect, it } from 'vitest'
import { BUILT_IN_FIELDS } from '../core/fields.js'
import type { Directory } from '../core/types.js'
import { BatchPlanner } from './batch-planner.js'
import { type BulkCommand, DEFAULT_OPTIONS } from './types.js'

const cmd: BulkCommand = {
  directory: { id: 'dir-1' } as Directory,
  fields: [...BUILT_IN_FIELDS],
  options: { ...DEFAULT_OPTIONS, batchSize: 3 },
  context: { channel: 'native', keyId: null, requestId: null, jobId: null },
}

/** Each row's duplicate warnings, as the messages a user reads. */
const warnings = (p: ReturnType<BatchPlanner['plan']>) => p.planned.results.map((r) => (r.warnings ?? []).map((w) => w.message))

it('duplicates: within a batch, across batches, and not against an earlier plan of the same batch planned again', () => {
  const planner = new BatchPlanner(cmd)
  const batch = (first: number, emails: string[]) =>
    emails.map((email, i) => planner.prepare({ data: { email, firstName: 'X' } }, first + i))
  const one = batch(0, ['a@x.io', 'b@x.io', 'A@x.io'])
  const first = planner.plan(one, [], Infinity)
  expect(warnings(first)).toEqual([
    ['row 2 names the same user again and applies on top of this row'],
    [],
    ['row 0 names the same user; this row applies on top of it'],
  ])
  // The same batch planned again (its write lost a race): the same warnings, none against its own first plan.
  expect(warnings(planner.plan(one, [], Infinity))).toEqual(warnings(first))
  // A later batch: a row naming b@x.io of the batch before warns, and that earlier row is told to the caller.
  const two = planner.plan(batch(3, ['c@x.io', 'B@x.io', 'c@x.io']), [], Infinity)
  expect(warnings(two)).toEqual([
    ['row 5 names the same user again and applies on top of this row'],
    ['row 1 names the same user; this row applies on top of it'],
    ['row 3 names the same user; this row applies on top of it'],
  ])
  expect(two.earlier).toEqual([
    {
      index: 1,
      warning: expect.objectContaining({
        code: 'duplicate_in_input',
        message: 'row 4 names the same user again and applies on top of this row',
      }),
    },
  ])
})
