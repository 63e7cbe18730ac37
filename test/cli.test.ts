import { afterAll, beforeAll, expect, it } from 'vitest'
import { execCli, serveCli, useChildProcesses } from './helpers/cli.js'
import { describeEachEngine, ownPostgresDatabase } from './helpers/engines.js'
import { useTempDir } from './helpers/temp-dir.js'

describeEachEngine('rollcall CLI', (engine) => {
  const dataDir = useTempDir('cli')
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '', ROLLCALL_ADMIN_KEY: '' }
  let dropDatabase: (() => Promise<void>) | undefined
  beforeAll(async () => {
    if (engine.name !== 'postgres') return
    const db = await ownPostgresDatabase('cli')
    env.DATABASE_URL = db.url
    dropDatabase = db.drop
  })
  afterAll(async () => {
    await dropDatabase?.()
  })
  // Registered last, so run first after the block (hooks run as a stack): the servers go before their database.
  const children = useChildProcesses()

  const cli = (...args: string[]) => execCli([...args, '--data', dataDir], env)

  /** Starts `rollcall serve` on a free port; resolves with its URL, once it printed its banner. */
  const serve = (extraEnv: Record<string, string> = {}) => serveCli({ data: dataDir, env: { ...env, ...extraEnv }, children })

  it('migrate, then serve prints its URL and a working admin key once; secrets never reach the log', async () => {
    const m = await cli('migrate')
    expect(m.stdout).toContain('Database is up to date')
    const server = await serve()
    const key = /Admin API key \(shown once; keep it\): (\S+)/.exec(server.output())?.[1]
    expect(key).toMatch(/^rc_/)
    const res = await fetch(`${server.url}/api/v1/directories`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'CLI' }),
    })
    expect(res.status).toBe(201)
    const dirId = ((await res.json()) as { id: string }).id
    const link = await fetch(`${server.url}/api/v1/directories/${dirId}/export/link?format=csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
    })
    const { url } = (await link.json()) as { url: string }
    const signature = new URL(url, server.url).searchParams.get('signature') as string
    expect(signature).toMatch(/^[0-9a-f]{64}$/)
    expect((await fetch(`${server.url}${url}`)).status).toBe(200)
    const bad = await fetch(`${server.url}/api/v1/directories`, { headers: { authorization: 'Bearer rc_wrong-secret-value' } })
    expect(bad.status).toBe(401)
    await server.stop()
    const log = server.output()
    // The key appears in the two banner lines and nowhere in the request logs.
    expect(log.split(key as string).length - 1).toBe(2)
    expect(log).toContain('"statusCode":201')
    expect(log).not.toContain('rc_wrong-secret-value')
    // A signed link's signature is a credential too: its URL is logged without it.
    expect(log).not.toContain(signature)
    expect(log).toContain('signature=[redacted]')

    const again = await serve()
    expect(again.output()).not.toContain(key as string)
    expect(again.output()).toContain('rollcall keys create')
    await again.stop()
  })

  it('keys create | list | revoke work on the database and against a running server', async () => {
    const created = await cli('keys', 'create', '--tenant', 'acme', '--scopes', 'read,write', '--name', 'importer')
    const secret = created.stdout.trim().split('\n').pop() as string
    const id = /Created key (\S+)/.exec(created.stdout)?.[1] as string
    expect(secret).toMatch(/^rc_/)
    const listed = await cli('keys', 'list', '--tenant', 'acme')
    expect(listed.stdout).toContain(id)
    expect(listed.stdout).toContain('read,write')
    expect(listed.stdout).not.toContain(secret)

    const server = await serve()
    const ok = await fetch(`${server.url}/api/v1/directories`, { headers: { authorization: `Bearer ${secret}` } })
    expect(ok.status).toBe(200)
    await cli('keys', 'revoke', id, '--tenant', 'acme')
    const revoked = await fetch(`${server.url}/api/v1/directories`, { headers: { authorization: `Bearer ${secret}` } })
    expect(revoked.status).toBe(401)
    await server.stop()

    await expect(cli('keys', 'create', '--scopes', 'root')).rejects.toMatchObject({
      stderr: expect.stringContaining("unknown scope 'root'"),
    })
    await expect(cli('keys', 'revoke', 'no-such-key')).rejects.toMatchObject({
      stderr: expect.stringContaining("No API key 'no-such-key'"),
    })
  })

  it('ROLLCALL_ADMIN_KEY is an admin key of the default tenant', async () => {
    const adminKey = 'env-admin-key-0123456789abcdef'
    const server = await serve({ ROLLCALL_ADMIN_KEY: adminKey })
    expect(server.output()).toContain('the value of ROLLCALL_ADMIN_KEY')
    const res = await fetch(`${server.url}/api/v1/keys`, { headers: { authorization: `Bearer ${adminKey}` } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { data: { name: string }[] }).data.map((k) => k.name)).toContain('ROLLCALL_ADMIN_KEY')
    await server.stop()
    expect(server.output()).not.toContain(adminKey)
  })

  it('refuses a bad configuration with every problem named', async () => {
    await expect(execCli(['migrate'], { ...env, DATABASE_URL: 'mysql://x', ROLLCALL_BULK_MAX_ROWS: 'lots' })).rejects.toMatchObject({
      stderr: expect.stringMatching(/DATABASE_URL must start with postgres:\/\/[\s\S]*ROLLCALL_BULK_MAX_ROWS must be an integer/),
    })
  })
})
