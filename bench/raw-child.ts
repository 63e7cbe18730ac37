/**
 * Entry point of the child process that runs one raw engine. It runs apart from the driver so that
 * its peak RSS is the raw run's own, comparable with the Rollcall server's.
 * Usage: node --import tsx bench/raw-child.ts <sqlite|postgres> <file|url> <rows> <batch> [sync|import]
 * `sync` (default): the three phases of the sync benchmark; `import`: the imports benchmark's rows.
 */
import { runRawPostgres, runRawPostgresImport } from './raw-postgres.js'
import { runRawSqlite, runRawSqliteImport } from './raw-sqlite.js'

const [engine, target, rows, batch, kind = 'sync'] = process.argv.slice(2)
try {
  const total = Number(rows)
  const batchSize = Number(batch)
  if (kind !== 'sync' && kind !== 'import') throw new Error(`unknown kind ${JSON.stringify(kind)}`)
  const results =
    engine === 'sqlite'
      ? await (kind === 'sync' ? runRawSqlite : runRawSqliteImport)(target, total, batchSize)
      : await (kind === 'sync' ? runRawPostgres : runRawPostgresImport)(target, total, batchSize)
  process.send?.({ ok: true, results })
} catch (err) {
  process.send?.({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
  process.exitCode = 1
}
// Leave once the message is flushed.
process.disconnect?.()
