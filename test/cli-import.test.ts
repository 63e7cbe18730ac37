import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, REPO_ROOT, runCli, serveCli, useChildProcesses } from './helpers/cli.js'
import { parseCsvAfterBom } from './helpers/csv.js'
import { describeEachEngine, ownPostgresDatabase } from './helpers/engines.js'
import { closedPort, closeServer, listenLocal } from './helpers/listen.js'
import { makeTempDir, useTempDir } from './helpers/temp-dir.js'
import { sleep } from './helpers/sleep.js'

/** Each CLI run is a fresh Node process with tsx: slow on a busy machine. */
const SLOW = 180_000

const END = new Set(['completed', 'failed', 'cancelled', 'reverted'])

describeEachEngine('rollcall import | export | jobs against a running server', (engine) => {
  const dataDir = useTempDir('cli-import')
  const files = useTempDir('cli-files')
  const adminKey = `cli-import-${randomUUID()}`
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    DATABASE_URL: engine.name === 'postgres' ? process.env.ROLLCALL_TEST_PG_URL : '',
    ROLLCALL_ADMIN_KEY: adminKey,
    ROLLCALL_URL: '',
    ROLLCALL_KEY: '',
  }
  const cleanups: (() => Promise<void>)[] = []
  let url = ''
  let apiOnlyUrl = ''

  /** Starts `rollcall serve --port 0`; resolves with its URL once it printed its banner. */
  const serve = async (env: NodeJS.ProcessEnv, data: string): Promise<string> =>
    (await serveCli({ data, env, children, within: 90_000 })).url

  /** A database of its own, for a server that must be the only one to see its jobs. */
  async function ownDatabase(): Promise<{ env: NodeJS.ProcessEnv; data: string }> {
    const data = makeTempDir('cli-api')
    cleanups.push(async () => data.remove())
    if (engine.name === 'sqlite') return { env: { ...baseEnv, ROLLCALL_ROLE: 'api' }, data: data.path }
    const db = await ownPostgresDatabase('cli_api')
    cleanups.push(db.drop)
    return { env: { ...baseEnv, ROLLCALL_ROLE: 'api', DATABASE_URL: db.url }, data: data.path }
  }

  beforeAll(async () => {
    const apiOnly = await ownDatabase()
    ;[url, apiOnlyUrl] = await Promise.all([serve(baseEnv, dataDir), serve(apiOnly.env, apiOnly.data)])
  }, SLOW)

  afterAll(async () => {
    for (const fn of cleanups) await fn().catch(() => {})
  })
  // Registered last, so run first after the block (hooks run as a stack): the servers go before their databases.
  const children = useChildProcesses()

  const env = (server = url): NodeJS.ProcessEnv => ({ ...baseEnv, ROLLCALL_URL: server, ROLLCALL_KEY: adminKey })
  const cli = (...args: string[]) => runCli(args, env())

  async function api(method: string, path: string, body?: unknown, server = url) {
    const res = await fetch(server + path, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }

  /** A directory of its own (the database is shared with other test files), with custom fields. */
  async function directory(server = url): Promise<string> {
    const externalId = `cli-${randomUUID().slice(0, 8)}`
    expect((await api('POST', '/api/v1/directories', { name: 'CLI', externalId }, server)).status).toBe(201)
    for (const f of [
      { key: 'dept', type: 'string' },
      { key: 'seats', type: 'integer' },
      { key: 'vip', type: 'boolean' },
    ])
      expect((await api('POST', `/api/v1/directories/${externalId}/fields`, f, server)).status).toBe(201)
    return externalId
  }

  async function uploadAndWait(dir: string, csv: string, query = '') {
    const up = await api('POST', `/api/v1/directories/${dir}/imports${query}`, csv)
    expect(up.status).toBe(202)
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const j = (await api('GET', `/api/v1/imports/${up.body.id}`)).body
      if (END.has(j.state)) return j
      await sleep(100)
    }
    throw new Error(`import ${up.body.id} did not finish`)
  }

  const users = async (dir: string, server = url) => {
    const out: Record<string, unknown>[] = []
    let cursor: string | null = null
    do {
      const r = await api('GET', `/api/v1/directories/${dir}/users?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, undefined, server)
      out.push(...r.body.data)
      cursor = r.body.nextCursor
    } while (cursor)
    return out
  }

  it(
    'import: a CSV with bad rows completes (exit 0), prints the summary, and writes <name>.failed.csv with the bad rows and an error column',
    async () => {
      const dir = await directory()
      const file = join(files, 'people.csv')
      writeFileSync(
        file,
        [
          'E-mail,First Name,Country,dept,seats',
          'ada@x.io,Ada,GB,R&D,3',
          'not-an-email,Bob,US,"=HYPERLINK(""http://evil"")",1',
          'grace@x.io,Grace,Atlantis,Navy,2',
          'linus@x.io,Linus,FI,"Kernel, core",lots',
          'ken@x.io,Ken,US,,',
          '',
        ].join('\n'),
      )
      const r = await cli('import', file, '--directory', dir, '--mode', 'upsert', '--match', 'email')
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      // Not a terminal: plain progress lines, no bar, no escape codes.
      expect(r.stdout).not.toContain('\u001b[')
      expect(r.stdout).toContain('Uploading people.csv')
      expect(r.stdout).toMatch(/Import [0-9a-f-]{36} queued \(about 5 rows\)/)
      expect(r.stdout).toMatch(/Import [0-9a-f-]{36} completed in [\d.]+s.*\. 5 rows: 2 created, 0 updated, 0 unchanged, 3 failed\./)
      expect(r.stdout).toContain(`3 rows failed: wrote ${join(files, 'people.failed.csv')}`)

      const failed = parseCsvAfterBom(readFileSync(join(files, 'people.failed.csv'), 'utf8'))
      expect(failed[0]).toEqual(['E-mail', 'First Name', 'Country', 'dept', 'seats', 'error'])
      expect(failed.slice(1).map((row) => row.slice(0, 5))).toEqual([
        ['not-an-email', 'Bob', 'US', `'=HYPERLINK("http://evil")`, '1'],
        ['grace@x.io', 'Grace', 'Atlantis', 'Navy', '2'],
        ['linus@x.io', 'Linus', 'FI', 'Kernel, core', 'lots'],
      ])
      expect(failed[1][5]).toMatch(/^line 3: email: must be a valid email address/)
      expect(failed[2][5]).toMatch(/^line 4: country: /)
      expect(failed[3][5]).toMatch(/^line 5: fields\.seats: /)
      expect(readdirSync(files).filter((f) => f.includes('.part-'))).toEqual([])

      const written = await users(dir)
      expect(written.map((u) => u.email).sort()).toEqual(['ada@x.io', 'ken@x.io'])
      expect(written.find((u) => u.email === 'ada@x.io')).toMatchObject({
        firstName: 'Ada',
        country: 'GB',
        fields: { dept: 'R&D', seats: 3 },
      })
      // The CLI says so in Rollcall-Channel: its writes are marked `cli` in history.
      const hist = await api('GET', `/api/v1/directories/${dir}/users/${written[0].id}/history`)
      expect(hist.body.data[0]).toMatchObject({ action: 'create', channel: 'cli' })

      // A clean file: nothing failed, no failed file.
      const clean = join(files, 'clean.ndjson')
      writeFileSync(clean, '{"email":"ada@x.io","lastName":"Lovelace"}\n{"email":"ken@x.io"}\n')
      const again = await cli('import', clean, '--directory', dir)
      expect(again.code).toBe(0)
      expect(again.stdout).toMatch(/completed .*2 rows: 0 created, 1 updated, 1 unchanged, 0 failed\./)
      expect(existsSync(join(files, 'clean.failed.csv'))).toBe(false)
    },
    SLOW,
  )

  it(
    'sync: plans a mirror of the file, shows it, refuses without --yes off a terminal or over --max-absent, applies it with --yes; import --absent stops for a confirmation that jobs confirm gives',
    async () => {
      const dir = await directory()
      const seed = ['email,metadata.source']
      for (let i = 0; i < 6; i++) seed.push(`u${i}@x.io,hr`)
      seed.push('other@x.io,crm')
      await uploadAndWait(dir, `${seed.join('\n')}\n`, '?unmapped=metadata')
      const file = join(files, 'hr-export.csv')
      writeFileSync(file, 'email,firstName\nu0@x.io,Ada\nu1@x.io,\nu2@x.io,\nu3@x.io,\nnew@x.io,New\n')
      const active = async () =>
        (await users(dir))
          .filter((u) => u.active)
          .map((u) => u.email)
          .sort()

      // Not a terminal and no --yes: the plan is shown, nothing changes.
      const asked = await cli('sync', file, '--directory', dir, '--scope', 'metadata.source=hr')
      expect(asked.code).toBe(1)
      expect(asked.stdout).toMatch(/Dry run: nothing was written/)
      expect(asked.stdout).toMatch(/Absent users: 2 would be deactivated \(2 of 6 users in scope, over the limit of 0\)/)
      expect(asked.stdout).toMatch(/e\.g\. u4@x\.io, u5@x\.io \(all of them/)
      expect(asked.stderr).toMatch(/not a terminal.*--yes/)
      // Over --max-absent, --yes refuses.
      const over = await cli('sync', file, '--directory', dir, '--scope', 'metadata.source=hr', '--max-absent', '1', '--yes')
      expect(over.code).toBe(1)
      expect(over.stderr).toMatch(/2 absent users are over the limit of 1 \(--max-absent\); nothing was changed/)
      expect((await users(dir)).length).toBe(7)
      expect(await active()).toHaveLength(7)

      const synced = await cli('sync', file, '--directory', dir, '--scope', 'metadata.source=hr', '--max-absent', '50%', '--yes')
      expect(synced.stderr).toBe('')
      expect(synced.code).toBe(0)
      expect(synced.stdout).toMatch(/Apply [0-9a-f-]{36} completed.*2 rows: 1 created, 1 updated, 0 unchanged, 0 failed\./)
      expect(synced.stdout).toMatch(/Absent users: 2 deactivated \(2 of 6 users in scope\)/)
      expect(await active()).toEqual(['new@x.io', 'other@x.io', 'u0@x.io', 'u1@x.io', 'u2@x.io', 'u3@x.io'])
      // In sync now: nothing to change.
      const again = await cli('sync', file, '--directory', dir, '--scope', 'metadata.source=hr', '--yes')
      expect(again.code).toBe(0)
      expect(again.stdout).toContain('Nothing to change.')

      // import --absent: the safeguard stops the job; jobs confirm goes on.
      const stopped = await cli('import', file, '--directory', dir, '--absent', 'delete')
      expect(stopped.code).toBe(1)
      expect(stopped.stdout).toMatch(/would be deleted, over the limit of 0 \(maxAbsent\); nobody was deleted yet/)
      const id = /rollcall jobs confirm ([0-9a-f-]{36})/.exec(stopped.stdout)?.[1]
      expect(id).toBeTruthy()
      const confirmed = await cli('jobs', 'confirm', id as string)
      expect(confirmed.stderr).toBe('')
      expect(confirmed.code).toBe(0)
      expect(confirmed.stdout).toMatch(/Absent users: 3 deleted/)
      expect((await users(dir)).map((u) => u.email).sort()).toEqual(['new@x.io', 'u0@x.io', 'u1@x.io', 'u2@x.io', 'u3@x.io'])
    },
    SLOW,
  )

  it(
    'import: a refused request, a bad option or a failed job exits non-zero with the reason',
    async () => {
      const dir = await directory()
      const file = join(files, 'refused.csv')
      writeFileSync(file, 'email,firstName\nada@x.io,Ada\n')
      const unmapped = join(files, 'unmapped.csv')
      writeFileSync(unmapped, 'email,Shoe Size\nada@x.io,42\n')
      const port = await closedPort()
      const runs = await Promise.all([
        cli('import', file, '--directory', dir, '--match', 'phone'),
        cli('import', file, '--directory', dir, '--mode', 'sideways'),
        cli('import', file, '--directory', dir, '--max-errors', '0'),
        cli('import', file, '--directory', dir, '--mapping', '{"email":'),
        cli('import', file, '--directory', 'no-such-directory'),
        cli('import', unmapped, '--directory', dir),
        cli('import', join(files, 'missing.csv'), '--directory', dir),
        cli('import', file, '--directory', dir, '--key', 'rc_not-a-key'),
        cli('import', file, '--directory', dir, '--server', `http://127.0.0.1:${port}`),
        runCli(['import', file, '--directory', dir], { ...baseEnv, ROLLCALL_URL: '', ROLLCALL_KEY: adminKey }),
      ])
      const [match, mode, maxErrors, mapping, noDir, failedJob, missing, badKey, unreachable, noServer] = runs
      for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(1)
      expect(match.stderr).toContain("rollcall: match: 'phone' is not a match key (use id, externalId, email, username)")
      expect(mode.stderr).toContain('rollcall: querystring.mode: must be one of "create", "update", "upsert"')
      expect(maxErrors.stderr).toContain('rollcall: querystring.maxErrors: must be >= 1')
      expect(mapping.stderr).toContain('rollcall: mapping: mapping must be a JSON object')
      expect(noDir.stderr).toContain("rollcall: No directory 'no-such-directory'")
      expect(failedJob.stdout).toMatch(/Import [0-9a-f-]{36} failed/)
      expect(failedJob.stderr).toMatch(/rollcall: import [0-9a-f-]{36} failed: .*columns that map to no field: 'Shoe Size'/)
      expect(missing.stderr).toContain(`rollcall: cannot read ${join(files, 'missing.csv')}: no such file`)
      expect(badKey.stderr).toContain('rollcall: The API key is unknown or revoked')
      // --server wins over ROLLCALL_URL.
      expect(unreachable.stderr).toContain(`rollcall: cannot reach the server at http://127.0.0.1:${port} (connection refused)`)
      expect(noServer.stderr).toContain('rollcall: no server given: pass --server URL or set ROLLCALL_URL')
      for (const r of runs) expect(r.stderr).not.toMatch(/\n\s+at /) // no stack traces
      // Refused uploads left no job behind.
      expect((await api('GET', `/api/v1/directories/${dir}/imports`)).body.data.map((j: { state: string }) => j.state)).toEqual(['failed'])
    },
    SLOW,
  )

  it(
    'export: CSV and NDJSON round-trip the users',
    async () => {
      const dir = await directory()
      const rows = [
        {
          email: 'ada@x.io',
          firstName: 'Ada',
          lastName: 'Lovelace',
          country: 'GB',
          locale: 'en-GB',
          metadata: { plan: 'pro', tags: ['a', 'b'] },
          fields: { dept: 'R&D, "Labs"', seats: 3, vip: true },
        },
        { email: 'grace@x.io', username: 'grace', displayName: 'Grace\nHopper', externalId: 'emp-2', fields: { vip: false } },
        ...Array.from({ length: 40 }, (_, i) => ({ email: `u${i}@x.io`, metadata: { i }, fields: { seats: i } })),
      ]
      expect((await api('POST', `/api/v1/directories/${dir}/users/bulk`, { mode: 'create', rows })).body.summary.created).toBe(rows.length)
      const before = await users(dir)

      const ndFile = join(files, 'export.ndjson')
      const [nd, csv] = await Promise.all([
        cli('export', '--directory', dir, '--out', ndFile),
        cli('export', '--directory', dir, '--format', 'csv'),
      ])
      expect(nd.code, nd.stderr).toBe(0)
      expect(nd.stdout).toBe(`Exported ${rows.length} users to ${ndFile} (ndjson).\n`)
      const exported = readFileSync(ndFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(exported).toEqual(before)

      // To stdout: the data alone; the count goes to stderr.
      expect(csv.code, csv.stderr).toBe(0)
      expect(csv.stderr).toBe(`Exported ${rows.length} users (csv).\n`)
      const [header, ...records] = parseCsvAfterBom(csv.stdout)
      expect(header.slice(-4)).toEqual(['metadata', 'fields.dept', 'fields.seats', 'fields.vip'])
      expect(records.map((r) => r[header.indexOf('id')])).toEqual(before.map((u) => u.id))
      expect(records[1][header.indexOf('displayName')]).toBe('Grace\nHopper')

      // The CSV imports back: into a new directory, server-owned columns ignored, the same users come out.
      const copy = await directory()
      const csvFile = join(files, 'export.csv')
      writeFileSync(csvFile, csv.stdout)
      const ignore = JSON.stringify({ id: '', createdAt: '', updatedAt: '', loginCount: '', version: '' })
      const imported = await cli('import', csvFile, '--directory', copy, '--mode', 'create', '--mapping', ignore)
      expect(imported.code, imported.stdout + imported.stderr).toBe(0)
      expect(imported.stdout).toContain(`${rows.length} rows: ${rows.length} created, 0 updated, 0 unchanged, 0 failed.`)
      const copied = await runCli(['export', '--directory', copy, '--format', 'ndjson'], env())
      const strip = ({ id: _i, directoryId: _d, createdAt: _c, updatedAt: _u, ...rest }: Record<string, unknown>) => rest
      expect(
        copied.stdout
          .trim()
          .split('\n')
          .map((l) => strip(JSON.parse(l))),
      ).toEqual(before.map(strip))

      const refused = await cli('export', '--directory', 'no-such-directory', '--out', join(files, 'never.csv'))
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("rollcall: No directory 'no-such-directory'")
      expect(existsSync(join(files, 'never.csv'))).toBe(false)
    },
    SLOW,
  )

  it(
    'changes: the feed as NDJSON, resumed with --after; --follow prints records as they come and stops on SIGINT',
    async () => {
      const dir = await directory()
      for (const email of ['a@x.io', 'b@x.io', 'c@x.io'])
        expect((await api('POST', `/api/v1/directories/${dir}/users`, { email })).status).toBe(201)
      const all = await cli('changes', '--directory', dir, '--limit', '2')
      expect(all.code, all.stderr).toBe(0)
      const records = all.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(records.map((r) => [r.action, r.changes.email[1]])).toEqual([
        ['create', 'a@x.io'],
        ['create', 'b@x.io'],
        ['create', 'c@x.io'],
      ])
      expect(all.stderr).toBe(`3 change records. Resume with --after ${records[2].cursor}\n`)
      const rest = await cli('changes', '--directory', dir, '--after', records[0].cursor)
      expect(
        rest.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).seq),
      ).toEqual([records[1].seq, records[2].seq])
      const bad = await cli('changes', '--directory', dir, '--limit', '0')
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('--limit must be a whole number from 1 to 1000')

      const child = spawn(process.execPath, [...CLI, 'changes', '--directory', dir, '--after', records[2].cursor, '--follow'], {
        env: env(),
        cwd: REPO_ROOT,
      })
      children.push(child)
      let out = ''
      let err = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (err += d))
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect((await api('POST', `/api/v1/directories/${dir}/users`, { email: 'd@x.io' })).status).toBe(201)
      for (let i = 0; i < 100 && !out.includes('d@x.io'); i++) await new Promise((resolve) => setTimeout(resolve, 100))
      expect(JSON.parse(out.trim()).changes.email).toEqual([null, 'd@x.io'])
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(err).toMatch(/^1 change records\. Resume with --after \S+\n$/)
    },
    SLOW,
  )

  it(
    'jobs list | show | cancel | revert',
    async () => {
      const dir = await directory()
      const ok = await uploadAndWait(dir, 'email,firstName\nada@x.io,Ada\nbad,Bob\ngrace@x.io,Grace\n')
      const failed = await uploadAndWait(dir, 'email,hat\nx@x.io,1\n')
      expect([ok.state, failed.state]).toEqual(['completed', 'failed'])

      const [list, onlyFailed, show, json, none] = await Promise.all([
        cli('jobs', 'list', '--directory', dir),
        cli('jobs', 'list', '--directory', dir, '--state', 'failed'),
        cli('jobs', 'show', ok.id),
        cli('jobs', 'show', failed.id, '--json'),
        cli('jobs', 'show', randomUUID()),
      ])
      expect(list.code, list.stderr).toBe(0)
      const lines = list.stdout.trim().split('\n')
      expect(lines[0]).toMatch(/^ID\s+STATE\s+CREATED\s+ROWS/)
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
        [failed.id, 'failed'],
        [ok.id, 'completed'],
      ])
      expect(lines[2]).toMatch(/3\/3\s+2\s+0\s+0\s+1\s+upsert$/)
      expect(onlyFailed.stdout).toContain(failed.id)
      expect(onlyFailed.stdout).not.toContain(ok.id)
      expect(show.stdout).toMatch(new RegExp(`Import:\\s+${ok.id}`))
      expect(show.stdout).toMatch(/State:\s+completed/)
      expect(show.stdout).toMatch(/Rows:\s+3 rows: 2 created, 0 updated, 0 unchanged, 1 failed/)
      expect(show.stdout).toContain(`/api/v1/imports/${ok.id}/failed.csv`)
      expect(JSON.parse(json.stdout)).toMatchObject({ id: failed.id, state: 'failed', error: expect.stringContaining("'hat'") })
      expect(none.code).toBe(1)
      expect(none.stderr).toContain('rollcall: No import')

      // Cancel: on a server with no worker (and a database of its own), a queued import stays queued until cancelled.
      const apiDir = await directory(apiOnlyUrl)
      const queued = await api('POST', `/api/v1/directories/${apiDir}/imports`, 'email\nq@x.io\n', apiOnlyUrl)
      expect(queued.body.state).toBe('queued')
      const cancelEnv = env(apiOnlyUrl)
      const cancel = await runCli(['jobs', 'cancel', queued.body.id], cancelEnv)
      expect(cancel.code, cancel.stderr).toBe(0)
      expect(cancel.stdout).toBe(`Import ${queued.body.id} cancelled after 0 rows.\n`)
      const [cancelledList, again] = await Promise.all([
        runCli(['jobs', 'list', '--directory', apiDir, '--state', 'cancelled'], cancelEnv),
        runCli(['jobs', 'cancel', queued.body.id], cancelEnv),
      ])
      expect(cancelledList.stdout).toContain(queued.body.id)
      expect(again.code).toBe(1)
      expect(again.stderr).toContain(
        'rollcall: The import is cancelled; only queued or running imports, or those waiting for a confirmation, can be cancelled',
      )

      // Revert: the users the import created are gone again.
      expect((await users(dir)).map((u) => u.email).sort()).toEqual(['ada@x.io', 'grace@x.io'])
      const revert = await cli('jobs', 'revert', ok.id)
      expect(revert.code, revert.stdout + revert.stderr).toBe(0)
      expect(revert.stdout).toContain(`Reverting import ${ok.id}`)
      expect(revert.stdout).toMatch(new RegExp(`Import ${ok.id} reverted`))
      expect(await users(dir)).toEqual([])
      const twice = await cli('jobs', 'revert', ok.id)
      expect(twice.code).toBe(1)
      expect(twice.stderr).toContain('rollcall: The import is reverted; only a completed import can be reverted')
    },
    SLOW,
  )
})

describe('rollcall CLI against a server without the newer routes', () => {
  let server: Server
  let url = ''
  const seen: { method?: string; url?: string; channel?: string | string[] }[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, channel: req.headers['rollcall-channel'] })
      res.writeHead(404, { 'content-type': 'application/problem+json' })
      res.end(
        JSON.stringify({
          type: 'urn:rollcall:problem:route_not_found',
          title: 'No such route',
          status: 404,
          detail: `No route ${req.method} ${req.url}`,
          code: 'route_not_found',
        }),
      )
    })
    url = `http://127.0.0.1:${await listenLocal(server)}`
  })
  afterAll(() => closeServer(server))

  it(
    'revert says the server cannot revert; export names the missing route',
    async () => {
      const env = { ...process.env, ROLLCALL_URL: url, ROLLCALL_KEY: 'k' }
      const id = randomUUID()
      const [revert, exp] = await Promise.all([runCli(['jobs', 'revert', id], env), runCli(['export', '--directory', 'd'], env)])
      expect(revert.code).toBe(1)
      expect(revert.stderr).toContain('rollcall: this server cannot revert imports: it has no route POST /api/v1/imports/{id}/revert')
      expect(exp.code).toBe(1)
      expect(exp.stderr).toContain('rollcall: No route GET /api/v1/directories/d/export?format=csv')
      expect(seen.find((s) => s.url === `/api/v1/imports/${id}/revert`)).toMatchObject({ method: 'POST', channel: 'cli' })
    },
    SLOW,
  )
})
