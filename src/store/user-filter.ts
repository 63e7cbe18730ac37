import { type Expression, type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely'
import {
  type CompareOp,
  type CustomFieldKind,
  type FilterColumn,
  type FilterField,
  BOOL_COLUMNS,
  INT_COLUMNS,
  TIME_COLUMNS,
  type UserFilterExpr,
  type UserSearch,
  type UserSearchResult,
  type UserSort,
} from '../core/user-filter.js'
import { errors } from '../core/errors.js'
import { DERIVED, USER_FIELDS, type UserFieldSpec } from '../core/user-fields.js'
import { type Codec, userFromRow } from './codec.js'
import type { DB } from './db-types.js'

/** The JSON columns of `users` a filter reads keys of. */
export type JsonBag = 'fields' | 'metadata'

/**
 * Compiles the core's user filter (src/core/user-filter.ts) to SQL that reads the same on
 * SQLite and PostgreSQL. The engine-specific pieces are the two hooks of `UserFilterDialect`.
 *
 * Everything else sticks to functions both engines share (`lower`, `substr`, `length`,
 * `replace`, `COALESCE`): substring tests use `substr`/`replace` instead of LIKE, so no wildcard
 * escaping is needed and case sensitivity does not depend on the engine's LIKE (SQLite's ignores
 * ASCII case, PostgreSQL's does not).
 */
export interface UserFilterDialect {
  /** A key's value read out of a JSON column (`fields`, or `metadata`) as `kind`; NULL when absent or of another JSON type. */
  customValue(key: string, kind: CustomFieldKind, bag?: JsonBag): Expression<unknown>
  /** Text compared and sorted in code-point order, whatever the database's collation. */
  binaryText(e: Expression<unknown>): Expression<unknown>
}

/** Each built-in field's column, from the table of built-in fields (core/user-fields.ts). */
const COLUMN = Object.fromEntries(DERIVED.columns) as Record<FilterColumn, string>

/** Columns kept lowercased beside the original (by the same JS toLowerCase as the writers): indexed, Unicode-aware. */
const BUILT_INS: readonly UserFieldSpec[] = USER_FIELDS
const NORMALISED: Partial<Record<FilterColumn, string>> = Object.fromEntries(
  BUILT_INS.flatMap((f) => (f.foldedColumn === undefined ? [] : [[f.key, f.foldedColumn]])),
)

type Kind = 'text' | 'time' | 'int' | 'number' | 'boolean'

interface Operand {
  kind: Kind
  /** The raw value. */
  raw: Expression<unknown>
  /** Text only: the value compared case-insensitively… */
  folded?: {
    expr: Expression<unknown>
    /** …and a literal folded the same way: the same function on both sides, so a value always equals itself. */
    literal: (v: string) => Expression<unknown> | string
  }
}

/** SQL's lower() of a literal: SQLite folds ASCII only, and the column side is folded by it too. */
const sqlLower = (v: string) => sql`lower(cast(${v} as text))`

function operand(f: FilterField, d: UserFilterDialect): Operand {
  if ('custom' in f || 'metadata' in f) {
    const raw = 'custom' in f ? d.customValue(f.custom, f.kind) : d.customValue(f.metadata, f.kind, 'metadata')
    if (f.kind !== 'text') return { kind: f.kind, raw }
    return { kind: 'text', raw, folded: { expr: sql`lower(${raw})`, literal: sqlLower } }
  }
  const raw = sql.ref(COLUMN[f.column])
  if (TIME_COLUMNS.has(f.column)) return { kind: 'time', raw }
  if (INT_COLUMNS.has(f.column)) return { kind: 'int', raw }
  if (BOOL_COLUMNS.has(f.column)) return { kind: 'boolean', raw }
  const norm = NORMALISED[f.column]
  // The *_norm columns hold JS toLowerCase() of the value, written by the store: fold literals alike.
  if (norm) return { kind: 'text', raw, folded: { expr: sql.ref(norm), literal: (v) => v.toLowerCase() } }
  return { kind: 'text', raw, folded: { expr: sql`lower(${raw})`, literal: sqlLower } }
}

const TRUE = sql<SqlBool>`(1 = 1)`
const FALSE = sql<SqlBool>`(1 = 0)`
const CMP = { gt: '>', ge: '>=', lt: '<', le: '<=' } as const
/** Length in characters as SQL counts them (code points), not UTF-16 units. */
const chars = (s: string): number => [...s].length

/**
 * `a OR b OR …` nested as a balanced tree: SQLite parses a flat chain as one level per operand
 * and refuses expressions deeper than 1000, which a long filter or a batch of ids would reach.
 */
function balanced(parts: RawBuilder<SqlBool>[], op: string): RawBuilder<SqlBool> {
  const FLAT = 16
  if (parts.length <= FLAT) return sql<SqlBool>`(${sql.join(parts, sql.raw(op))})`
  const size = Math.ceil(parts.length / FLAT)
  const groups: RawBuilder<SqlBool>[] = []
  for (let i = 0; i < parts.length; i += size) groups.push(balanced(parts.slice(i, i + size), op))
  return balanced(groups, op)
}

/** SQL for one filter node. Every node is true or false, never NULL, so NOT is safe anywhere. */
export function compileUserFilter(f: UserFilterExpr, d: UserFilterDialect): RawBuilder<SqlBool> {
  switch (f.op) {
    case 'const':
      return f.value ? TRUE : FALSE
    case 'and':
    case 'or':
      if (f.of.length === 0) return f.op === 'and' ? TRUE : FALSE
      return balanced(
        f.of.map((x) => compileUserFilter(x, d)),
        f.op === 'and' ? ' AND ' : ' OR ',
      )
    case 'in': {
      if (f.values.length === 0) return FALSE
      const o = operand(f.field, d)
      const fold = o.kind === 'text' && !f.caseExact ? o.folded : undefined
      const e = fold ? fold.expr : o.raw
      const values = f.values.map((v) => (fold && typeof v === 'string' ? fold.literal(v) : v))
      return sql<SqlBool>`(${e} IS NOT NULL AND ${e} IN (${sql.join(values)}))`
    }
    case 'not':
      return sql<SqlBool>`(NOT ${compileUserFilter(f.of, d)})`
    case 'pr': {
      const o = operand(f.field, d)
      return o.kind === 'text' ? sql<SqlBool>`(${o.raw} IS NOT NULL AND ${o.raw} <> '')` : sql<SqlBool>`(${o.raw} IS NOT NULL)`
    }
    case 'ne':
      return sql<SqlBool>`(NOT ${compileUserFilter({ ...f, op: 'eq' }, d)})`
    default:
      return compare(f as Comparison, operand(f.field, d), d)
  }
}

type Comparison = { op: Exclude<CompareOp, 'ne'>; value: string | number | boolean; caseExact?: boolean }

function compare(f: Comparison, o: Operand, d: UserFilterDialect): RawBuilder<SqlBool> {
  const { op } = f
  if (o.kind === 'boolean') {
    if (op !== 'eq' || typeof f.value !== 'boolean') throw errors.badRequest('a boolean field supports only eq/ne with true or false')
    // A literal, not a parameter: better-sqlite3 cannot bind booleans, and both engines read TRUE/FALSE.
    return sql<SqlBool>`(${o.raw} IS NOT NULL AND ${o.raw} = ${sql.lit(f.value)})`
  }
  if (o.kind !== 'text') {
    if (op === 'co' || op === 'sw' || op === 'ew') throw errors.badRequest(`'${op}' applies to text fields only`)
    if (o.kind === 'int' && typeof f.value === 'number') {
      const c = int32Comparison(op, f.value)
      if (typeof c === 'boolean') return c ? sql<SqlBool>`(${o.raw} IS NOT NULL)` : FALSE
      return sql<SqlBool>`(${o.raw} IS NOT NULL AND ${o.raw} ${sql.raw(c.op === 'eq' ? '=' : CMP[c.op])} ${c.value})`
    }
    const v = f.value
    const sym = op === 'eq' ? '=' : CMP[op]
    return sql<SqlBool>`(${o.raw} IS NOT NULL AND ${o.raw} ${sql.raw(sym)} ${v})`
  }
  if (typeof f.value !== 'string') throw errors.badRequest('a text field compares with text')
  const folding = f.caseExact ? undefined : o.folded
  const e = folding ? folding.expr : o.raw
  const v = folding ? folding.literal(f.value) : f.value
  // Folding keeps the length of all but a few exotic characters, so the literal's length stands for it.
  const n = chars(f.value)
  switch (op) {
    case 'eq':
      return sql<SqlBool>`(${e} IS NOT NULL AND ${e} = ${v})`
    case 'co':
      if (n === 0) return sql<SqlBool>`(${e} IS NOT NULL)`
      return sql<SqlBool>`(${e} IS NOT NULL AND replace(${e}, ${v}, '') <> ${e})`
    case 'sw':
      return sql<SqlBool>`(${e} IS NOT NULL AND substr(${e}, 1, ${sql.lit(n)}) = ${v})`
    case 'ew':
      // The length guard keeps the start position at 1 or more: SQLite reads a negative start from the end.
      return sql<SqlBool>`(${e} IS NOT NULL AND length(${e}) >= ${sql.lit(n)} AND substr(${e}, length(${e}) - ${sql.lit(n - 1)}) = ${v})`
    default:
      return sql<SqlBool>`(${e} IS NOT NULL AND ${d.binaryText(e)} ${sql.raw(CMP[op])} ${v})`
  }
}

const INT32_MIN = -2_147_483_648
const INT32_MAX = 2_147_483_647

/**
 * A comparison of a 32-bit integer column with any number, as an integer comparison inside the
 * column's range, or `true`/`false` for every non-null value. PostgreSQL refuses an `integer`
 * parameter that is a fraction or out of range (an error, not "no match"); SQLite would compare
 * it fine: both now answer alike. `loginCount >= 1.5` is `loginCount >= 2`; `>= 1e20`, false.
 */
export function int32Comparison(
  op: 'eq' | 'gt' | 'ge' | 'lt' | 'le',
  v: number,
): boolean | { op: 'eq' | 'gt' | 'ge' | 'lt' | 'le'; value: number } {
  if (Number.isNaN(v)) return false
  switch (op) {
    case 'eq':
      return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? { op, value: v } : false
    case 'ge':
    case 'lt': {
      const t = Math.ceil(v)
      if (t > INT32_MAX) return op === 'lt'
      if (t <= INT32_MIN) return op === 'ge'
      return { op, value: t }
    }
    case 'gt':
    case 'le': {
      const t = Math.floor(v)
      if (t >= INT32_MAX) return op === 'le'
      if (t < INT32_MIN) return op === 'gt'
      return { op, value: t }
    }
  }
}

/** ORDER BY terms: users without a value last, then the value, then insertion order (stable pages). */
export function compileUserSort(s: UserSort | undefined, d: UserFilterDialect): RawBuilder<unknown>[] {
  const dir = sql.raw(s?.descending ? 'DESC' : 'ASC')
  if (!s || s.by.length === 0) return [sql`seq ${dir}`]
  const operands = s.by.map((f) => operand(f, d))
  const parts = operands.map((o) => (o.kind === 'text' && !s.caseExact && o.folded ? o.folded.expr : o.raw))
  const key = parts.length === 1 ? parts[0] : sql`COALESCE(${sql.join(parts)})`
  const ordered = operands.every((o) => o.kind === 'text') ? d.binaryText(key) : key
  return [sql`(${key} IS NULL) ASC`, sql`${ordered} ${dir}`, sql`seq ASC`]
}

/**
 * One page of the users of a directory matching a search, and the total. The count query runs
 * only when the page alone cannot tell it (a full page, or an empty page past the start).
 */
export async function searchUsers(
  db: Kysely<DB>,
  codec: Codec,
  d: UserFilterDialect,
  directoryId: string,
  q: UserSearch,
): Promise<UserSearchResult> {
  const where = q.filter ? compileUserFilter(q.filter, d) : TRUE
  let query = db.selectFrom('users').selectAll().where('directory_id', '=', directoryId).where(where)
  for (const term of compileUserSort(q.sort, d)) query = query.orderBy(term)
  const rows = q.limit > 0 ? await query.limit(q.limit).offset(q.offset).execute() : []
  let total = q.offset + rows.length
  if (rows.length === q.limit || (rows.length === 0 && q.offset > 0)) {
    const r = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('directory_id', '=', directoryId)
      .where(where)
      .executeTakeFirstOrThrow()
    total = Number(r.n)
  }
  return { items: rows.map((r) => userFromRow(r, codec)), total }
}
