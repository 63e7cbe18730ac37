import { spawnSync } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readSync, statSync, unlinkSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { Config } from '../config.js'
import { checkSchemaVersion } from '../store/index.js'
import { CliError } from './client.js'

/**
 * `rollcall backup` and `rollcall restore`: a consistent copy of the database while the server
 * runs, and that copy put back into an empty place.
 *
 * SQLite: `VACUUM INTO` on a connection of its own. It reads one snapshot of the database (a WAL
 * read transaction: writers go on, and see no difference) and writes it, compacted, to a new file.
 * SQLite's backup API (`db.backup`) restarts from the first page each time another connection
 * writes, so beside a running import it may never finish; VACUUM INTO never restarts.
 * PostgreSQL: `pg_dump --format=custom` (one snapshot, MVCC) and `pg_restore`, when installed.
 *
 * A backup is written to `<out>.partial-<pid>` and only then linked to `<out>`, which must not
 * exist: a file at `<out>` is always a whole backup, and a failed run leaves nothing behind.
 */

const SQLITE_MAGIC = 'SQLite format 3\0'
const PG_MAGIC = 'PGDMP'

const sqlitePath = (cfg: Readonly<Config>) =>
  cfg.databaseUrl?.startsWith('sqlite:') ? cfg.databaseUrl.slice(7) : join(cfg.dataDir, 'rollcall.db')
const isPostgres = (cfg: Readonly<Config>) => !!cfg.databaseUrl && /^postgres(ql)?:\/\//.test(cfg.databaseUrl)
/** A connection string fit to print: the password hidden. */
const shown = (url: string) => url.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@')

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** Writes `make(tmp)` to a temporary file beside `out`, then links it to `out`; never overwrites; cleans up on failure. */
function writeWhole(out: string, make: (tmp: string) => void): void {
  if (existsSync(out)) throw new CliError(`${out} exists already; a backup never overwrites a file: choose a new path`)
  const dir = dirname(out)
  if (!existsSync(dir)) throw new CliError(`cannot write ${out}: the directory ${dir} does not exist`)
  const tmp = `${out}.partial-${process.pid}`
  try {
    make(tmp)
    linkSync(tmp, out)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${out} appeared while the backup ran; it was left alone`)
    if (e instanceof CliError) throw e
    throw new CliError(`cannot write ${out}: ${(e as Error).message}`)
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp)
  }
}

/** The first bytes of a file, to tell a SQLite file from a PostgreSQL dump. */
function head(file: string): string {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(16)
    const n = readSync(fd, buf, 0, 16, 0)
    return buf.subarray(0, n).toString('latin1')
  } finally {
    closeSync(fd)
  }
}

/** Whether `tool` runs here. */
const installed = (tool: string) => !spawnSync(tool, ['--version'], { stdio: 'ignore' }).error

export async function backup(cfg: Readonly<Config>, outArg: string, log: (line: string) => void): Promise<void> {
  const out = resolve(outArg)
  const started = Date.now()
  if (isPostgres(cfg)) {
    const url = cfg.databaseUrl as string
    const command = `pg_dump --format=custom --no-owner --file='${out}' '${shown(url)}'`
    if (!installed('pg_dump'))
      throw new CliError(`pg_dump is not installed here. Install PostgreSQL's client tools, or run where they are:\n  ${command}`)
    writeWhole(out, (tmp) => {
      const r = spawnSync('pg_dump', ['--format=custom', '--no-owner', '--file', tmp, url], { encoding: 'utf8' })
      if (r.status !== 0) throw new CliError(`pg_dump failed (${r.status}): ${r.stderr.trim()}`)
    })
    log(`Backed up PostgreSQL ${shown(url)} to ${out} (${mib(statSync(out).size)}, pg_dump custom format) in ${Date.now() - started} ms.`)
    log(`Restore it into an empty database with: rollcall restore ${outArg}`)
    return
  }
  const source = sqlitePath(cfg)
  if (!existsSync(source)) throw new CliError(`no database at ${source} (set --data or ROLLCALL_DATA to the server's data directory)`)
  const db = new Database(source, { readonly: true, fileMustExist: true })
  let users: number
  try {
    db.pragma('busy_timeout = 10000')
    users = Number(db.prepare('SELECT count(*) FROM users').pluck().get())
    writeWhole(out, (tmp) => {
      db.prepare('VACUUM INTO ?').run(tmp)
      const copy = new Database(tmp, { readonly: true })
      try {
        const check = copy.pragma('quick_check', { simple: true })
        if (check !== 'ok') throw new CliError(`the copy failed its check (${String(check)}); nothing was written to ${out}`)
      } finally {
        copy.close()
      }
    })
  } finally {
    db.close()
  }
  log(`Backed up ${source} to ${out} (${mib(statSync(out).size)}, ${users} users) in ${Date.now() - started} ms.`)
  log(`Restore it into an empty data directory with: rollcall restore ${outArg} --data <dir>`)
}

export async function restore(cfg: Readonly<Config>, fileArg: string, log: (line: string) => void): Promise<void> {
  const file = resolve(fileArg)
  if (!existsSync(file)) throw new CliError(`no file ${file}`)
  const kind = head(file)
  if (isPostgres(cfg)) {
    const url = cfg.databaseUrl as string
    if (kind.startsWith(SQLITE_MAGIC))
      throw new CliError(`${file} is a SQLite backup; to restore it, leave DATABASE_URL unset and give --data <empty dir>`)
    if (!kind.startsWith(PG_MAGIC))
      throw new CliError(`${file} is not a Rollcall backup (neither a SQLite file nor a pg_dump custom archive)`)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const r = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
      if (Number(r.rows[0].n) > 0)
        throw new CliError(`the database ${shown(url)} is not empty (${r.rows[0].n} tables); restore only into a new, empty database`)
    } finally {
      await client.end()
    }
    const command = `pg_restore --no-owner --no-privileges --exit-on-error --dbname='${shown(url)}' '${file}'`
    if (!installed('pg_restore'))
      throw new CliError(`pg_restore is not installed here. Install PostgreSQL's client tools, or run where they are:\n  ${command}`)
    const r = spawnSync('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--dbname', url, file], { encoding: 'utf8' })
    if (r.status !== 0) throw new CliError(`pg_restore failed (${r.status}): ${r.stderr.trim()}`)
    log(`Restored ${file} into ${shown(url)}. Start the server: it brings an older backup's schema up to date.`)
    return
  }
  if (kind.startsWith(PG_MAGIC))
    throw new CliError(`${file} is a PostgreSQL dump; set DATABASE_URL=postgres://… to an empty database to restore it`)
  if (!kind.startsWith(SQLITE_MAGIC))
    throw new CliError(`${file} is not a Rollcall backup (neither a SQLite file nor a pg_dump custom archive)`)
  const target = sqlitePath(cfg)
  for (const f of [target, `${target}-wal`])
    if (existsSync(f) && statSync(f).size > 0)
      throw new CliError(`${f} exists; restore only into an empty data directory (move the current database away first)`)
  const copy = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const check = copy.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new CliError(`${file} is damaged (${String(check)})`)
    const hasSchema = copy.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()
    if (!hasSchema) throw new CliError(`${file} is a SQLite file but not a Rollcall database`)
    checkSchemaVersion(copy.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
  } finally {
    copy.close()
  }
  mkdirSync(dirname(target), { recursive: true })
  for (const f of [target, `${target}-wal`, `${target}-shm`]) if (existsSync(f)) unlinkSync(f)
  writeWhole(target, (tmp) => copyFileSync(file, tmp))
  log(`Restored ${file} to ${target}. Start the server: it brings an older backup's schema up to date.`)
}
