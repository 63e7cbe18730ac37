/**
 * Entry point of the child process that runs one raw engine. It runs apart from the driver so that
 * its peak RSS is the raw run's own, comparable with the Rollcall server's.
 * Usage: node --import tsx bench/raw-child.ts <sqlite|postgres> <file|url> <rows> <batch>
 */
import { runRawPostgres } from './raw-postgres.js'
import { runRawSqlite } from './raw-sqlite.js'

const [engine, target, rows, batch] = process.argv.slice(2)
try {
  const total = Number(rows)
  const batchSize = Number(batch)
  const results = engine === 'sqlite'
    ? await runRawSqlite(target, total, batchSize)
    : await runRawPostgres(target, total, batchSize)
  process.send?.({ ok: true, results })
} catch (err) {
  process.send?.({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) })
  process.exitCode = 1
}
// Leave once the message is flushed.
process.disconnect?.()
