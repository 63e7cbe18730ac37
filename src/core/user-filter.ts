import type { UserRecord } from './types.js'
import { DERIVED, type UserFieldKey } from './user-fields.js'

/**
 * An engine-neutral query over the users of one directory: a boolean tree of comparisons on
 * user columns and custom fields, a sort and an offset page. Doors build it (SCIM translates its
 * filter grammar into it); the store compiles it to SQL, so filtering never happens in memory.
 * Pure data: no SQL, no I/O.
 */

/** Built-in user fields a filter may name (every one of the table): text unless in TIME_COLUMNS, INT_COLUMNS or BOOL_COLUMNS. */
export const FILTER_COLUMNS = DERIVED.filterable as readonly UserFieldKey[]
export type FilterColumn = UserFieldKey

export const TIME_COLUMNS = DERIVED.timeColumns as ReadonlySet<FilterColumn>
export const INT_COLUMNS = DERIVED.intColumns as ReadonlySet<FilterColumn>
export const BOOL_COLUMNS = DERIVED.boolColumns as ReadonlySet<FilterColumn>

/** How a custom field's JSON value is compared: as text, as a number, or as a boolean. */
export type CustomFieldKind = 'text' | 'number' | 'boolean'

/** A built-in column, a custom field, or a top-level key of the free `metadata` object (read as `kind`). */
export type FilterField = { column: FilterColumn } | { custom: string; kind: CustomFieldKind } | { metadata: string; kind: CustomFieldKind }

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'

/**
 * Semantics, the same on every engine (two-valued: a missing value never makes a node unknown):
 * - a comparison is false when the field has no value, except `ne`, which is `not eq`;
 * - `pr` is true when the field has a value (for text, a non-empty one);
 * - text comparisons ignore case unless `caseExact`; `co`/`sw`/`ew` apply to text only;
 * - timestamps are compared as ISO 8601 strings normalised to milliseconds (`…T12:00:00.000Z`).
 */
export type UserFilterExpr =
  | { op: 'and' | 'or'; of: UserFilterExpr[] }
  | { op: 'not'; of: UserFilterExpr }
  | { op: 'pr'; field: FilterField }
  | { op: CompareOp; field: FilterField; value: string | number | boolean; caseExact?: boolean }
  /** `eq` any of the values: one index lookup for a batch of ids or names. */
  | { op: 'in'; field: FilterField; values: (string | number)[]; caseExact?: boolean }
  | { op: 'const'; value: boolean }

export interface UserSort {
  /** The first field with a value (SQL COALESCE), so a sort can fall back: username, else email. */
  by: FilterField[]
  descending?: boolean
  /** Text sorts ignore case unless set. Users without a value sort last either way. */
  caseExact?: boolean
}

export interface UserSearch {
  filter?: UserFilterExpr
  sort?: UserSort
  offset: number
  limit: number
}

export interface UserSearchResult {
  items: UserRecord[]
  /** Users matching the filter in all, whatever the page. */
  total: number
}

/** Children of nested nodes of the same op, in one list: `a or (b or c)` is `or(a, b, c)`. */
const flatten = (op: 'and' | 'or', of: UserFilterExpr[]): UserFilterExpr[] => of.flatMap((f) => (f.op === op ? f.of : [f]))

/** Builders that keep trees small and shallow: flattening, and constant folding for `and`/`or`/`not`. */
export const uf = {
  and(...of: UserFilterExpr[]): UserFilterExpr {
    const kept = flatten('and', of).filter((f) => !(f.op === 'const' && f.value))
    if (kept.some((f) => f.op === 'const' && !f.value)) return { op: 'const', value: false }
    return kept.length === 0 ? { op: 'const', value: true } : kept.length === 1 ? kept[0] : { op: 'and', of: kept }
  },
  or(...of: UserFilterExpr[]): UserFilterExpr {
    const kept = flatten('or', of).filter((f) => !(f.op === 'const' && !f.value))
    if (kept.some((f) => f.op === 'const' && f.value)) return { op: 'const', value: true }
    return kept.length === 0 ? { op: 'const', value: false } : kept.length === 1 ? kept[0] : { op: 'or', of: kept }
  },
  not(of: UserFilterExpr): UserFilterExpr {
    if (of.op === 'const') return { op: 'const', value: !of.value }
    if (of.op === 'not') return of.of
    return { op: 'not', of }
  },
  const: (value: boolean): UserFilterExpr => ({ op: 'const', value }),
}
