import { errors, type FieldError } from '../core/errors.js'
import type { RowErrorCode } from '../core/row-errors.js'
import type { FieldDefinition } from '../core/types.js'
import {
  type CustomFieldKind,
  FILTER_COLUMNS,
  type FilterColumn,
  type FilterField,
  BOOL_COLUMNS,
  INT_COLUMNS,
  TIME_COLUMNS,
  uf,
  type UserFilterExpr,
} from '../core/user-filter.js'

/**
 * One condition on a user by canonical field name, the way vendors that filter by field and
 * operator put it (Returning.AI's `{xp: {gte: 10}}`): translated here into the core's filter
 * tree, with the value checked against the directory's field definitions.
 */
export interface UserCondition {
  /** A built-in column (`email`, `firstName`, `createdAt`, `loginCount`, …), `fields.<key>` or `metadata.<key>`. */
  field: string
  op: 'eq' | 'gte' | 'lte'
  value: string | number | boolean
  /** Text equality that respects case (default: case-insensitive). */
  caseExact?: boolean
}

const COLUMNS: ReadonlySet<string> = new Set(FILTER_COLUMNS)
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/

const kindOf = (def: FieldDefinition): CustomFieldKind | null =>
  def.type === 'number' || def.type === 'integer' ? 'number' : def.type === 'boolean' ? 'boolean' : def.type === 'json' ? null : 'text'

/**
 * The instants a timestamp value covers, as [start, end): a date covers its whole UTC day, a
 * date-time its millisecond. So `lte: "2024-01-31"` includes the 31st, as a person means it.
 */
function span(value: unknown): [string, string] | null {
  if (typeof value !== 'string') return null
  const day = DAY_RE.test(value)
  const start = day ? Date.parse(`${value}T00:00:00.000Z`) : /T/.test(value) ? Date.parse(value) : NaN
  if (Number.isNaN(start)) return null
  return [new Date(start).toISOString(), new Date(start + (day ? 86_400_000 : 1)).toISOString()]
}

/** `field op value` for a range given as [start, end). */
function timeRange(field: FilterField, op: UserCondition['op'], [start, end]: [string, string]): UserFilterExpr {
  const from: UserFilterExpr = { op: 'ge', field, value: start }
  const to: UserFilterExpr = { op: 'lt', field, value: end }
  return op === 'gte' ? from : op === 'lte' ? to : uf.and(from, to)
}

/**
 * Translates conditions into one filter (all must hold), checked against the directory's fields:
 * every problem is reported at once, each with its field.
 */
export function userFilterOf(definitions: readonly FieldDefinition[], conditions: readonly UserCondition[]): UserFilterExpr {
  const custom = new Map(definitions.filter((d) => !d.builtIn).map((d) => [d.key, d]))
  const problems: FieldError[] = []
  const parts: UserFilterExpr[] = []
  const bad = (field: string, code: RowErrorCode, message: string) => problems.push({ field, code, message })
  const compare = (field: FilterField, c: UserCondition): UserFilterExpr => ({
    op: c.op === 'gte' ? 'ge' : c.op === 'lte' ? 'le' : 'eq',
    field,
    value: c.value,
    ...(c.caseExact ? { caseExact: true } : {}),
  })

  for (const c of conditions) {
    if (COLUMNS.has(c.field)) {
      const column = c.field as FilterColumn
      if (TIME_COLUMNS.has(column)) {
        const s = span(c.value)
        if (s) parts.push(timeRange({ column }, c.op, s))
        else bad(c.field, 'invalid_format', 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time')
      } else if (INT_COLUMNS.has(column)) {
        if (typeof c.value === 'number') parts.push(compare({ column }, c))
        else bad(c.field, 'invalid_type', 'must be a number')
      } else if (BOOL_COLUMNS.has(column)) {
        if (typeof c.value !== 'boolean') bad(c.field, 'invalid_type', 'must be a boolean')
        else if (c.op !== 'eq') bad(c.field, 'invalid_operation', `'${c.op}' needs a numeric, date or text field`)
        else parts.push(compare({ column }, c))
      } else if (typeof c.value !== 'string') bad(c.field, 'invalid_type', 'must be a string')
      else parts.push(compare({ column }, c))
      continue
    }
    if (c.field.startsWith('metadata.') && c.field.length > 9) {
      // Metadata is free-form: the value's own JSON type says how to compare.
      const kind: CustomFieldKind = typeof c.value === 'number' ? 'number' : typeof c.value === 'boolean' ? 'boolean' : 'text'
      if (kind === 'boolean' && c.op !== 'eq') bad(c.field, 'invalid_operation', `'${c.op}' needs a numeric, date or text field`)
      else parts.push(compare({ metadata: c.field.slice(9), kind }, c))
      continue
    }
    const def = c.field.startsWith('fields.') ? custom.get(c.field.slice(7)) : undefined
    if (!def) {
      bad(c.field, 'unknown_field', `no field '${c.field}' to filter by in this directory`)
      continue
    }
    const kind = kindOf(def)
    const field: FilterField = { custom: def.key, kind: kind ?? 'text' }
    if (kind === null) bad(c.field, 'invalid_operation', 'json fields cannot be filtered')
    else if (typeof c.value !== (kind === 'text' ? 'string' : kind))
      bad(c.field, 'invalid_type', `must be a ${kind === 'text' ? 'string' : kind}`)
    else if (kind === 'boolean' && c.op !== 'eq') bad(c.field, 'invalid_operation', `'${c.op}' needs a numeric, date or text field`)
    else if (def.type === 'datetime' && typeof c.value === 'string' && DAY_RE.test(c.value))
      parts.push(timeRange(field, c.op, span(c.value) as [string, string]))
    else parts.push(compare(field, c))
  }
  if (problems.length) throw errors.validation(problems)
  return uf.and(...parts)
}
