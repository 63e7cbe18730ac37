import type { FieldError } from '../core/errors.js'
import { effectiveFields, withNeededFields } from '../core/fields.js'
import { compileRowValidator, type RowValidator } from '../core/schema.js'
import type { FieldDefinition, UserRecord } from '../core/types.js'
import type { UserLookup } from '../store/store.js'
import { addUserNames, lookupFor, type PlannedBatch, planBatch, type PreparedRow, prepareRow, uniqueCustomKeys } from './plan.js'
import type { BulkCommand, BulkRow } from './types.js'

/**
 * How many distinct users of an input are remembered to flag a later row naming one of them
 * again (`duplicate_in_input`): the last 100,000 to 200,000 keys, a few MiB. Repeats further apart
 * go unflagged (they still apply in order).
 */
const DUPLICATE_WINDOW = 100_000

/** A batch read and planned, not yet written. */
export interface Planned {
  existing: UserRecord[]
  planned: PlannedBatch
  /** Warnings for rows of earlier batches: a row of this batch named the same user. */
  earlier: { index: number; warning: FieldError }[]
}

/**
 * What a bulk command needs to plan its batches, made once per run: the row validator, the
 * effective field definitions, and the users the input named so far. Pure: the caller reads the
 * batch's users (in its write transaction, or on the planner thread beside it) and writes the plan.
 */
export class BatchPlanner {
  /** Fields the door needs and the directory lacks: defined with the first batch that writes. */
  readonly needed: FieldDefinition[]
  readonly uniqueFields: readonly string[]
  private readonly validate: RowValidator
  private readonly definitions: readonly FieldDefinition[]
  /** Users named so far (key → first row index), each batch's added as it is planned. */
  private seen = new Map<string, number>()
  /** The window's older half: `seen` moves here when full, and what was here is dropped. */
  private older = new Map<string, number>()

  constructor(private readonly cmd: BulkCommand) {
    const { pending } = withNeededFields(cmd.fields, cmd.options.needsFields)
    this.needed = pending
    const fields = [...cmd.fields, ...pending]
    this.validate = compileRowValidator(fields)
    this.definitions = effectiveFields(fields)
    this.uniqueFields = uniqueCustomKeys(this.definitions)
  }

  /** Validates one input row. */
  prepare(row: BulkRow, index: number): PreparedRow {
    return prepareRow(row, index, this.validate)
  }

  /** Everything the batch must read. */
  lookup(batch: PreparedRow[]): UserLookup {
    return lookupFor(batch, this.uniqueFields)
  }

  /**
   * Plans a batch against its users as read (`existing`). `errorBudget`: failures still allowed
   * (maxErrors). A batch planned again (it lost a race) sees only what earlier batches named.
   */
  plan(batch: PreparedRow[], existing: UserRecord[], errorBudget: number, takenIds?: ReadonlySet<string>): Planned {
    const { cmd } = this
    const duplicates: { earlier: number; later: number; field: string }[] = []
    this.rotate()
    const planned = planBatch(batch, existing, {
      directoryId: cmd.directory.id,
      definitions: this.definitions,
      options: cmd.options,
      context: cmd.context,
      now: new Date().toISOString(),
      errorBudget,
      seen: { get: (k) => this.seen.get(k) ?? this.older.get(k), set: (k, i) => void this.seen.set(k, i) },
      onDuplicate: (earlier, later, field) => duplicates.push({ earlier, later, field }),
      takenIds,
    })
    // The earlier row of a duplicate gets a warning too: in this batch, or told to the caller.
    const earlier: Planned['earlier'] = []
    const byIndex = duplicates.length ? new Map(planned.results.map((r) => [r.index, r])) : null
    for (const d of duplicates) {
      const warning: FieldError = {
        field: d.field,
        code: 'duplicate_in_input',
        message: `row ${d.later} names the same user again and applies on top of this row`,
      }
      const r = byIndex?.get(d.earlier)
      if (r) r.warnings = [...(r.warnings ?? []), warning]
      else earlier.push({ index: d.earlier, warning })
    }
    return { existing, planned, earlier }
  }

  /**
   * The unique values of every user a planned batch read (the pipeline's waits, with the values
   * its rows name). That covers what it writes too: an updated user is one it read, holding its old
   * values and the new ones its row named; a created user holds only what its row named, and an id
   * made for it that no other row can know.
   */
  holds(p: Planned): Set<string> {
    const holds = new Set<string>()
    addUserNames(holds, p.existing, this.uniqueFields)
    return holds
  }

  /**
   * Keeps the users named so far bounded, so memory stays flat for inputs of any size: two
   * generations of DUPLICATE_WINDOW keys at most, the older dropped whole when the newer is full
   * (deleting the oldest keys one by one left a Map's iteration walking its holes). A batch's
   * keys go straight into the newer one as it is planned: one Map write per row, where a batch
   * map of its own and a copy of it cost three more Map operations per row.
   */
  private rotate(): void {
    if (this.seen.size < DUPLICATE_WINDOW) return
    this.older = this.seen
    this.seen = new Map()
  }
}
