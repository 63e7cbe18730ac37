import { execFileSync, spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from './helpers/cli.js'
import { sleep } from './helpers/sleep.js'

/**
 * The container image (Dockerfile): built and started where a Docker daemon answers. Elsewhere
 * the block is skipped, and says why.
 */
const daemon = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' })
const why = daemon.error
  ? 'no docker command here'
  : daemon.status !== 0
    ? `no Docker daemon answers (${(daemon.stderr || '').trim().split('\n')[0]})`
    : undefined
if (why) console.log(`container image test skipped: ${why}`)

const docker = (...args: string[]) =>
  execFileSync('docker', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
const KEY = 'container-test-admin-key-0123456789'

describe.skipIf(why !== undefined)(`container image${why ? ` (skipped: ${why})` : ''}`, () => {
  const tag = `rollcall-test:${process.pid}`
  let container = ''
  afterAll(() => {
    if (container) spawnSync('docker', ['rm', '-f', container])
    spawnSync('docker', ['rmi', '-f', tag])
  })

  it('builds, runs as a non-root user with data under /data, turns healthy and serves the API', async () => {
    docker('build', '-t', tag, '.')
    container = docker('run', '-d', '-p', '127.0.0.1::3000', '-e', `ROLLCALL_ADMIN_KEY=${KEY}`, tag)
    let health = ''
    for (let i = 0; i < 90 && health !== 'healthy'; i++) {
      await sleep(1000)
      health = docker('inspect', '--format', '{{.State.Health.Status}}', container)
    }
    expect(health).toBe('healthy')
    expect(docker('exec', container, 'id', '-un')).toBe('node')
    const port = docker('port', container, '3000/tcp').split(':').pop()
    const made = await fetch(`http://127.0.0.1:${port}/api/v1/directories`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'In a container' }),
    })
    expect(made.status).toBe(201)
    expect(docker('exec', container, 'ls', '/data')).toContain('rollcall.db')
    expect(docker('exec', container, 'rollcall', 'backup', '--out', '/data/copy.db')).toContain('Backed up')
  }, 900_000)
})
