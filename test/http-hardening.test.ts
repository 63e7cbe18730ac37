import { randomUUID } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Config, loadConfig } from '../src/config.js'
import { type App, buildApp } from '../src/app/app.js'
import { describeEachEngine, type EngineHandle } from './helpers/engines.js'
import { serveApp } from './helpers/listen.js'
import { sleep } from './helpers/sleep.js'

interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** From connecting to the end of the answer. */
  ms: number
  /** Resolves true when the server closes the connection (false if it is still open 3 s after the answer). */
  closed: Promise<boolean>
}

/** One request over a real socket, written by `write` (which may stall), and the answer as parsed. */
function rawRequest(port: number, write: (s: Socket) => Promise<void> | void, within = 20_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    const start = Date.now()
    let buf = Buffer.alloc(0)
    let done = false
    let isClosed = false
    const closeWaiters: Array<(v: boolean) => void> = []
    const guard = setTimeout(() => finish(new Error(`no answer within ${within} ms: ${buf.toString('latin1')}`)), within)
    const finish = (err?: Error) => {
      if (done) return
      const text = buf.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (err || end < 0) {
        if (!err && !isClosed) return
        done = true
        clearTimeout(guard)
        s.destroy()
        return reject(err ?? new Error(`connection closed without an answer: ${JSON.stringify(text)}`))
      }
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of lines) {
        const i = l.indexOf(':')
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      const length = Number(headers['content-length'] ?? NaN)
      const body = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'))
      if (!Number.isNaN(length) && body.length < length && !isClosed) return
      done = true
      clearTimeout(guard)
      const ms = Date.now() - start
      const closed = new Promise<boolean>((r) => {
        if (isClosed) return r(true)
        closeWaiters.push(r)
        setTimeout(() => {
          r(false)
          s.destroy()
        }, 3000).unref()
      })
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8'), ms, closed })
    }
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      finish()
    })
    s.on('error', () => undefined)
    s.on('close', () => {
      isClosed = true
      for (const w of closeWaiters) w(true)
      finish()
    })
    s.on('connect', () => {
      Promise.resolve(write(s)).catch(() => undefined)
    })
  })
}

/** A served app over the engine's store, with `overrides`, listening on a free port of 127.0.0.1. */
function useServedApp(engine: EngineHandle, overrides: Partial<Config> = {}) {
  let built: App | undefined
  let port = 0
  let key = ''
  let tenantId = ''
  beforeAll(async () => {
    built = await buildApp({ store: engine.store(), config: loadConfig({}, { batchSize: 100, ...overrides }) })
    // Two routes of the test's own: one reads its body slowly (as a slow database would), one works long after reading it.
    await built.app.register(async (t) => {
      t.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload))
      // Like the import routes: the body is a stream, its rows checked elsewhere.
      t.post('/test/slow-reader', { config: { rowsCheckedPerRow: true, streamBody: true } }, async (req) => {
        let bytes = 0
        for await (const chunk of req.body as Readable) {
          bytes += (chunk as Buffer).length
          await sleep(700)
        }
        return { bytes }
      })
      t.post('/test/slow-handler', async (req) => {
        await sleep(1500)
        return { got: req.body }
      })
    })
    port = await serveApp(built.app)
    const tenant = await engine.store().ensureTenant(`t-${randomUUID()}`)
    tenantId = tenant.id
    key = (await built.services.keys.create(tenant.id, { name: 'admin', scopes: ['admin'] })).secret
  })
  afterAll(async () => {
    await built?.app.close()
  })
  return {
    app: () => built as App,
    port: () => port,
    key: () => key,
    tenantId: () => tenantId,
  }
}

const SAFE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
}

function expectSafeHeaders(headers: Record<string, unknown>, what: string) {
  expect(headers, what).toMatchObject(SAFE_HEADERS)
  expect(String(headers['content-security-policy']), what).toMatch(/default-src '(self|none)'/)
}

describeEachEngine('http hardening: headers and parser errors', (engine) => {
  const h = useServedApp(engine)

  it('every answer carries nosniff and the other safe headers: JSON, problem+json (400, 401, 404), a vendor door', async () => {
    const app = h.app().app
    const auth = { authorization: `Bearer ${h.key()}` }
    // A vendor door authenticates with a key limited to one directory (its "app").
    const dir = (await app.inject({ method: 'POST', url: '/api/v1/directories', headers: auth, payload: { name: 'Door' } })).json()
      .id as string
    const doorKey = (await h.app().services.keys.create(h.tenantId(), { name: 'door', scopes: ['admin'], directories: [dir] })).secret
    const answers = {
      'JSON 200': await app.inject({ method: 'GET', url: '/api/v1/directories', headers: auth }),
      'problem 404': await app.inject({ method: 'GET', url: '/nope', headers: auth }),
      'problem 401': await app.inject({ method: 'GET', url: '/api/v1/directories' }),
      'problem 400': await app.inject({
        method: 'POST',
        url: '/api/v1/directories',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"name":',
      }),
      'SCIM 200': await app.inject({
        method: 'GET',
        url: '/scim/v2/ServiceProviderConfig',
        headers: { authorization: `Bearer ${doorKey}` },
      }),
      'SCIM 401': await app.inject({ method: 'GET', url: '/scim/v2/Users' }),
      'health 200': await app.inject({ method: 'GET', url: '/healthz' }),
    }
    expect(answers['JSON 200'].statusCode).toBe(200)
    expect(answers['problem 404'].statusCode).toBe(404)
    expect(answers['problem 401'].statusCode).toBe(401)
    expect(answers['problem 400'].statusCode).toBe(400)
    expect(answers['SCIM 200'].statusCode).toBe(200)
    expect(answers['SCIM 401'].statusCode).toBe(401)
    for (const what of ['problem 404', 'problem 401', 'problem 400'])
      expect(answers[what as 'problem 404'].headers['content-type']).toMatch(/^application\/problem\+json/)
    for (const [what, r] of Object.entries(answers)) expectSafeHeaders(r.headers, what)
  })

  it('the API reference at /docs still loads: its scripts and styles are same-origin files the CSP allows, served with their types', async () => {
    const base = `http://127.0.0.1:${h.port()}`
    const page = await fetch(`${base}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    const csp = String(page.headers.get('content-security-policy'))
    expect(csp).toMatch(/script-src 'self'[;\s]/)
    const html = await page.text()
    // No inline script (the CSP would block it): every script has a src.
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => /src="([^"]+)"/.exec(m[1])?.[1])
    expect(scripts.length).toBeGreaterThanOrEqual(3)
    expect(scripts.every((s) => s !== undefined)).toBe(true)
    const styles = [...html.matchAll(/<link rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1])
    expect(styles.length).toBeGreaterThan(0)
    for (const [src, type] of [
      ...scripts.map((s) => [s as string, /javascript/] as const),
      ...styles.map((s) => [s, /^text\/css/] as const),
    ]) {
      const url = new URL(src, page.url)
      expect(url.origin, src).toBe(base)
      const r = await fetch(url)
      expect(r.status, src).toBe(200)
      // With nosniff, a script or a style sheet of another type would be refused by the browser.
      expect(r.headers.get('content-type'), src).toMatch(type)
      await r.arrayBuffer()
    }
    const spec = await fetch(`${base}/docs/json`)
    expect(spec.status).toBe(200)
    expect(((await spec.json()) as { info: { title: string } }).info.title).toBe('Rollcall API')
  })

  it('header fields over the limit: 431 problem+json with the safe headers, then the connection closes', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(`GET /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    })
    expect(r.status).toBe(431)
    expect(r.headers['content-type']).toBe('application/problem+json')
    expectSafeHeaders(r.headers, '431')
    expect(JSON.parse(r.body)).toMatchObject({
      status: 431,
      code: 'header_fields_too_large',
      type: 'urn:rollcall:problem:header_fields_too_large',
    })
    expect(await r.closed).toBe(true)
  })

  it('a malformed request line: 400 problem+json', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write('THIS IS NOT HTTP\r\n\r\n')
    })
    expect(r.status).toBe(400)
    expect(r.headers['content-type']).toBe('application/problem+json')
    expectSafeHeaders(r.headers, '400')
    expect(JSON.parse(r.body)).toMatchObject({
      status: 400,
      code: 'bad_request',
      detail: expect.stringContaining('could not be parsed as HTTP/1.1'),
    })
    expect(await r.closed).toBe(true)
  })

  it('two Host headers, or none on HTTP/1.1: 400 problem+json, and the connection closes', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(`GET /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nHost: evil.example\r\n\r\n`)
    })
    expect(r.status).toBe(400)
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/)
    expectSafeHeaders(r.headers, 'double Host')
    expect(JSON.parse(r.body)).toMatchObject({ code: 'bad_request', detail: 'The request has 2 Host header fields; send exactly one' })
    expect(await r.closed).toBe(true)
    // None, on HTTP/1.1: also a 400 problem (HTTP/1.0 may leave it out).
    const none = await rawRequest(h.port(), (s) => {
      s.write(`GET /api/v1/directories HTTP/1.1\r\nAuthorization: Bearer ${h.key()}\r\n\r\n`)
    })
    expect(none.status).toBe(400)
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(none.body)).toMatchObject({
      code: 'bad_request',
      detail: 'The request has no Host header field; HTTP/1.1 requires one',
    })
    const old = await rawRequest(h.port(), (s) => {
      s.write(`GET /api/v1/directories HTTP/1.0\r\nAuthorization: Bearer ${h.key()}\r\n\r\n`)
    })
    expect(old.status).toBe(200)
    // One Host is fine.
    const ok = await rawRequest(h.port(), (s) => {
      s.write(`GET /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nConnection: close\r\n\r\n`)
    })
    expect(ok.status).toBe(200)
  })

  it('with the default settings, a body shorter than its Content-Length is answered 408 within a few seconds, and the connection closes', async () => {
    expect(loadConfig({}).bodyIdleTimeoutMs).toBe(5000)
    const r = await rawRequest(h.port(), (s) => {
      s.write(
        `POST /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"st`,
      )
    })
    expect(r.status).toBe(408)
    expect(r.ms).toBeGreaterThanOrEqual(4500)
    expect(r.ms).toBeLessThan(8000)
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(r.headers.connection).toBe('close')
    expectSafeHeaders(r.headers, '408')
    expect(JSON.parse(r.body)).toMatchObject({ status: 408, code: 'request_timeout' })
    expect(await r.closed).toBe(true)
  })
})

describeEachEngine('http hardening: slow bodies (idle timeout 500 ms)', (engine) => {
  const h = useServedApp(engine, { bodyIdleTimeoutMs: 500 })

  it('a stalled body gets 408 after the idle timeout', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(
        `POST /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`,
      )
    })
    expect(r.status).toBe(408)
    expect(r.ms).toBeLessThan(2500)
    expect(await r.closed).toBe(true)
  })

  it('a stalled upload with an Idempotency-Key is not remembered: the retry with the same key is processed', async () => {
    const dir = (
      await h.app().app.inject({
        method: 'POST',
        url: '/api/v1/directories',
        headers: { authorization: `Bearer ${h.key()}` },
        payload: { name: 'Retry' },
      })
    ).json().id as string
    const body = 'email\nretry@x.io\n'
    const head = (length: number) =>
      `POST /api/v1/directories/${dir}/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nContent-Type: text/csv\r\nIdempotency-Key: upload-1\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`
    const stalled = await rawRequest(h.port(), (s) => void s.write(`${head(body.length)}email\n`))
    expect(stalled.status).toBe(408)
    const retry = await rawRequest(h.port(), (s) => void s.write(`${head(body.length)}${body}`))
    expect(retry.status, retry.body).toBe(202)
    expect(retry.headers['idempotent-replayed']).toBeUndefined()
  })

  it('a stalled chunked body gets 408 too', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(
        `POST /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"na\r\n`,
      )
    })
    expect(r.status).toBe(408)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'request_timeout' })
    expect(await r.closed).toBe(true)
  })

  it('a stalled body after the answer was already sent (401) closes the connection', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(`POST /api/v1/directories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`)
    })
    expect(r.status).toBe(401)
    expect(await r.closed).toBe(true)
  })

  it('a slow upload that keeps sending is not cut: an import sent a row every 200 ms, 2 s in all', async () => {
    const rows = ['email,firstName', ...Array.from({ length: 10 }, (_, i) => `slow${i}@x.io,S${i}`)].map((l) => `${l}\n`)
    const dir = (
      await h.app().app.inject({
        method: 'POST',
        url: '/api/v1/directories',
        headers: { authorization: `Bearer ${h.key()}` },
        payload: { name: 'Slow' },
      })
    ).json().id as string
    const length = rows.reduce((n, l) => n + Buffer.byteLength(l), 0)
    const r = await rawRequest(h.port(), async (s) => {
      s.write(
        `POST /api/v1/directories/${dir}/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.key()}\r\nContent-Type: text/csv\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
      )
      for (const l of rows) {
        s.write(l)
        await sleep(200)
      }
    })
    expect(r.status, r.body).toBe(202)
    expect(r.ms).toBeGreaterThan(1900)
  })

  it('a body the server reads slowly (backpressure, as from a slow database) is not cut', async () => {
    const body = Buffer.alloc(256 * 1024, 'x')
    const r = await rawRequest(h.port(), (s) => {
      s.write(
        `POST /test/slow-reader HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      )
      s.write(body)
    })
    expect(r.status, r.body).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ bytes: body.length })
    expect(r.ms).toBeGreaterThan(1400)
  })

  it('a request still being worked on long after its body was read is not cut', async () => {
    const r = await rawRequest(h.port(), (s) => {
      s.write(
        'POST /test/slow-handler HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"a":1}\n',
      )
    })
    expect(r.status, r.body).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ got: { a: 1 } })
    expect(r.ms).toBeGreaterThan(1400)
  })
})
