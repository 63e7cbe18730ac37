import { sql, type SqlBool } from 'kysely'
import { sqliteCodec } from '../codec.js'
import { errorCode, type StoreDialect, uniqueIndexName } from '../dialect.js'

/** A JSON path to one top-level key of a JSON column, quoted for json_extract. */
export const jsonPath = (key: string): string => `$."${key.replace(/"/g, '""')}"`

/**
 * The expression a unique custom field's index is built on. The store's lookups spell the same
 * text: SQLite uses an expression index only for a query that repeats its expression verbatim.
 */
export const uniqueFieldExpr = (key: string): string => `json_extract(fields, '${jsonPath(key)}')`

/** SQLite: one process, no row locks (a transaction holds the database), JSON as text. */
export const sqliteDialect: StoreDialect = Object.freeze({
  name: 'sqlite',
  capabilities: Object.freeze({ multiProcess: false, skipLocked: false, concurrentTransactions: false }),
  codec: sqliteCodec,
  isUniqueViolation: (e: unknown) => {
    const code = errorCode(e)
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  },
  customFieldEquals: (key: string, value: string | number | boolean) => {
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value
    return sql<SqlBool>`json_extract(fields, ${jsonPath(key)}) = ${v}`
  },
  // A create's record may be an array of paths and values (codec.ts, changeSetText): its paths are at even positions.
  changeTouches: (field: string) =>
    sql<SqlBool>`(CASE json_type(changes) WHEN 'array'
      THEN EXISTS (SELECT 1 FROM json_each(changes) AS e WHERE e.key % 2 = 0 AND e.value = ${field})
      ELSE json_type(changes, ${jsonPath(field)}) IS NOT NULL END)`,
  nextDirectoryNumber: () => sql<number>`(SELECT COALESCE(MAX(number), 0) + 1 FROM directories)`,
  userFilter: Object.freeze({
    // Guarded by the JSON type: SQLite would otherwise compare a number with text (every number sorts first).
    customValue: (key, kind, bag = 'fields') => {
      const col = sql.ref(bag)
      const types = kind === 'number' ? sql`IN ('integer', 'real')` : kind === 'boolean' ? sql`IN ('true', 'false')` : sql`= 'text'`
      return sql`(CASE WHEN json_type(${col}, ${jsonPath(key)}) ${types} THEN json_extract(${col}, ${jsonPath(key)}) END)`
    },
    // SQLite's default collation is already code-point order.
    binaryText: (e) => e,
  } satisfies StoreDialect['userFilter']),
  uniqueFieldIndexDdl: (directoryId: string, key: string, unique: boolean) => {
    const name = uniqueIndexName(directoryId, key)
    const expr = uniqueFieldExpr(key)
    return unique
      ? `CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON users (${expr}) WHERE directory_id = '${directoryId}' AND ${expr} IS NOT NULL`
      : `DROP INDEX IF EXISTS ${name}`
  },
})
