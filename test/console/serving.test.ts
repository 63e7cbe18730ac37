import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP, NON_CONSOLE_PREFIXES, registerConsole } from '../../src/http/console.js'
import { notFoundHandler } from '../../src/http/problem.js'

/** How src/http/console.ts serves a build, on a made-up one (no Vite, no browser). */

const html = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' }

describe('the console plugin', () => {
  const dist = mkdtempSync(join(tmpdir(), 'rollcall-console-dist-'))
  let app: FastifyInstance
  beforeAll(async () => {
    mkdirSync(join(dist, 'assets'))
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title><script type="module" src="/assets/app-abc.js"></script>')
    writeFileSync(join(dist, 'assets', 'app-abc.js'), 'console.log(1)')
    app = Fastify()
    app.setNotFoundHandler(notFoundHandler)
    app.get('/api/v1/ping', async () => ({ pong: true }))
    await registerConsole(app, dist)
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    rmSync(dist, { recursive: true, force: true })
  })

  it('serves index.html at / and for deep links, with the console CSP, revalidated each time', async () => {
    for (const url of ['/', '/directories/staff/users/42', '/imports/abc?x=1', '/apiary']) {
      const res = await app.inject({ url, headers: html })
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type'], url).toContain('text/html')
      expect(res.headers['content-security-policy'], url).toBe(CONSOLE_CSP)
      expect(res.headers['cache-control'], url).toBe('no-cache')
      expect(res.body, url).toContain('/assets/app-abc.js')
    }
  })

  it('serves hashed assets cached for good, with the CSP', async () => {
    const res = await app.inject({ url: '/assets/app-abc.js' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('javascript')
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP)
  })

  it('leaves API and door paths, missing assets, other methods and non-HTML requests to their 404s', async () => {
    for (const prefix of NON_CONSOLE_PREFIXES) {
      const res = await app.inject({ url: `${prefix}/nope`, headers: html })
      expect(res.statusCode, prefix).toBe(404)
      expect(res.headers['content-type'], prefix).toContain('application/problem+json')
    }
    expect((await app.inject({ url: '/api/v1/ping', headers: html })).json()).toEqual({ pong: true })
    expect((await app.inject({ url: '/assets/missing.js', headers: html })).statusCode).toBe(404)
    expect((await app.inject({ method: 'POST', url: '/directories', headers: html })).statusCode).toBe(404)
    expect((await app.inject({ url: '/directories', headers: { accept: 'application/json' } })).statusCode).toBe(404)
  })

  it('without a build, / says how to make one', async () => {
    const bare = Fastify()
    await registerConsole(bare, join(dist, 'no-such-dir'))
    const res = await bare.inject({ url: '/', headers: html })
    expect(res.statusCode).toBe(404)
    expect(res.body).toContain('npm run build:web')
    await bare.close()
  })
})
