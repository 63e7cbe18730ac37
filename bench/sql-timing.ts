/**
 * Preloaded into a benchmark server (`node --import tsx --import ./bench/sql-timing.ts …`, see
 * BENCH_SQL_TIMING in imports.ts): times every SQL statement the process runs, by statement, and
 * writes the totals to $BENCH_SQL_TIMING_FILE when the process exits. Nothing else changes.
 *
 * - better-sqlite3: Statement run/all/get/iterate (synchronous: the time is SQLite's own, COMMIT
 *   and WAL checkpoints included) and Database prepare, timed in place.
 * - pg: Client.query, from the call to the answer: PostgreSQL's work plus the round trip and the
 *   client's serialising of parameters and parsing of rows.
 */
import { writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'

const file = process.env.BENCH_SQL_TIMING_FILE
const totals = new Map<string, { calls: number; ms: number; rows: number }>()

/** One key per statement shape: whitespace folded, placeholder lists folded, cut at 100 chars. */
function shape(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/(\((?:\s*(?:\?|\$\d+)\s*,?)+\)\s*,?\s*){2,}/g, '(…), … ')
    .replace(/\$\d+/g, '?')
    .trim()
    .slice(0, 100)
}

// Per-row statements run millions of times with the same text: fold each text once.
const shapes = new Map<string, string>()

function add(sql: string, ms: number, rows = 0): void {
  let k = shapes.get(sql)
  if (k === undefined) {
    k = shape(sql)
    if (shapes.size < 10_000) shapes.set(sql, k)
  }
  const t = totals.get(k) ?? { calls: 0, ms: 0, rows: 0 }
  t.calls++
  t.ms += ms
  t.rows += rows
  totals.set(k, t)
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6

if (file) {
  // better-sqlite3: the Statement prototype is the addon's; reach it through a throwaway statement.
  const mem = new Database(':memory:')
  const stmtProto = Object.getPrototypeOf(mem.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>
  mem.close()
  for (const m of ['run', 'all', 'get', 'iterate'] as const) {
    const orig = stmtProto[m]
    stmtProto[m] = function (this: { source: string }, ...args: unknown[]) {
      const t0 = now()
      try {
        return orig.apply(this, args)
      } finally {
        add(this.source, now() - t0)
      }
    }
  }
  const dbProto = Database.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
  const prepare = dbProto.prepare
  dbProto.prepare = function (this: unknown, ...args: unknown[]) {
    const t0 = now()
    try {
      return prepare.apply(this, args)
    } finally {
      add(`(prepare) ${String(args[0])}`, now() - t0)
    }
  }

  const clientProto = pg.Client.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
  const query = clientProto.query
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0]
    const text = typeof first === 'string' ? first : (first as { text?: string } | null)?.text
    const t0 = now()
    const r = query.apply(this, args)
    if (text && r && typeof (r as Promise<unknown>).then === 'function') {
      ;(r as Promise<{ rowCount?: number | null }>).then(
        (res) => add(text, now() - t0, res?.rowCount ?? 0),
        () => add(`(failed) ${text}`, now() - t0),
      )
    }
    return r
  }

  process.on('exit', () => {
    const out = [...totals].map(([sql, t]) => ({ sql, ...t })).sort((a, b) => b.ms - a.ms)
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n')
  })
}
