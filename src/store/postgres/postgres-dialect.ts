import { sql, type SqlBool } from 'kysely'
import { postgresCodec } from '../codec.js'
import { errorCode, type StoreDialect, uniqueIndexName } from '../dialect.js'

/** PostgreSQL: several processes share it, row locks with SKIP LOCKED, JSON parsed by pg. */
export const postgresDialect: StoreDialect = Object.freeze({
  name: 'postgres',
  capabilities: Object.freeze({ multiProcess: true, skipLocked: true, concurrentTransactions: true }),
  codec: postgresCodec,
  isUniqueViolation: (e: unknown) => errorCode(e) === '23505',
  customFieldEquals: (key: string, value: string | number | boolean) => sql<SqlBool>`(fields ->> ${key}) = ${String(value)}`,
  // A create's record may be an array of paths and values (codec.ts, changeSetText): its paths are at odd ordinals.
  changeTouches: (field: string) =>
    sql<SqlBool>`(CASE json_typeof(changes) WHEN 'array'
      THEN EXISTS (SELECT 1 FROM json_array_elements_text(changes) WITH ORDINALITY AS e(v, n) WHERE n % 2 = 1 AND e.v = ${field})
      ELSE json_extract_path(changes, ${field}) IS NOT NULL END)`,
  // An identity column numbers directories.
  nextDirectoryNumber: () => undefined,
  userFilter: Object.freeze({
    // CASE, not AND: PostgreSQL may run a cast before a guard beside it, and fail on another JSON type.
    customValue: (key, kind, bag = 'fields') => {
      const col = sql.ref(bag)
      if (kind === 'number') return sql`(CASE WHEN json_typeof(${col} -> ${key}) = 'number' THEN (${col} ->> ${key})::numeric END)`
      if (kind === 'boolean') return sql`(CASE WHEN json_typeof(${col} -> ${key}) = 'boolean' THEN (${col} ->> ${key})::boolean END)`
      return sql`(CASE WHEN json_typeof(${col} -> ${key}) = 'string' THEN (${col} ->> ${key}) END)`
    },
    // Code-point order, like SQLite, instead of the database's locale collation.
    binaryText: (e) => sql`(${e} COLLATE "C")`,
  } satisfies StoreDialect['userFilter']),
  uniqueFieldIndexDdl: (directoryId: string, key: string, unique: boolean) => {
    const name = uniqueIndexName(directoryId, key)
    return unique
      ? `CREATE UNIQUE INDEX IF NOT EXISTS ${name} ON users ((fields ->> '${key}')) WHERE directory_id = '${directoryId}' AND (fields ->> '${key}') IS NOT NULL`
      : `DROP INDEX IF EXISTS ${name}`
  },
})
