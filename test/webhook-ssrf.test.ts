import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { type App, buildApp } from '../src/app/app.js'
import { nonPublicReason } from '../src/jobs/webhook-target.js'
import { postOnce, RefusedTarget, type Resolver } from '../src/jobs/webhooks.js'
import { clientOf, useApp } from './helpers/app.js'
import { describeEachEngine } from './helpers/engines.js'
import { upload, waitForJob } from './helpers/jobs.js'
import { makeDirectory } from './helpers/directories.js'
import { webhookReceiver } from './helpers/webhook-receiver.js'
import { sleep } from './helpers/sleep.js'

/**
 * In a database of its own: every server of a database delivers its webhooks, and one of another
 * test file (which refuses loopback receivers) would take these over.
 */
const OWN = { ownDatabase: true }

const refusedAtRegistration = [
  ['http://127.0.0.1/hook', 'loopback'],
  ['http://localhost:8080/hook', 'loopback'],
  ['http://LOCALHOST./hook', 'loopback'],
  ['http://api.localhost/hook', 'loopback'],
  ['http://[::1]/hook', 'loopback'],
  ['http://0.0.0.0/hook', 'this network'],
  ['http://2130706433/hook', 'loopback'],
  ['http://0x7f.0.0.1/hook', 'loopback'],
  ['http://127.1/hook', 'loopback'],
  ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
  ['http://169.254.169.254/latest/meta-data/', 'link-local'],
  ['http://10.1.2.3/hook', 'private'],
  ['http://172.16.0.1/hook', 'private'],
  ['http://172.31.255.255/hook', 'private'],
  ['https://192.168.1.10/hook', 'private'],
  ['http://100.64.0.1/hook', 'shared address space'],
  ['http://[fc00::1]/hook', 'unique local'],
  ['http://[fd12:3456::1]/hook', 'unique local'],
  ['http://[fe80::1]/hook', 'link-local'],
  ['http://224.0.0.1/hook', 'multicast'],
  ['http://[ff02::1]/hook', 'multicast'],
  ['http://255.255.255.255/hook', 'reserved'],
  ['http://[::]/hook', 'unspecified'],
] as const

describe('which addresses are public', () => {
  it('names the range of each non-public address, and passes public ones', () => {
    expect(nonPublicReason('127.0.0.1')).toMatch(/loopback/)
    expect(nonPublicReason('::ffff:7f00:1')).toMatch(/loopback.*inside IPv6/)
    expect(nonPublicReason('64:ff9b::a00:1')).toMatch(/private/)
    expect(nonPublicReason('198.18.0.1')).toMatch(/benchmarking/)
    expect(nonPublicReason('2001:db8::1')).toMatch(/documentation/)
    expect(nonPublicReason('172.15.255.255')).toBeNull()
    expect(nonPublicReason('172.32.0.0')).toBeNull()
    expect(nonPublicReason('100.128.0.1')).toBeNull()
    expect(nonPublicReason('93.184.216.34')).toBeNull()
    expect(nonPublicReason('8.8.8.8')).toBeNull()
    expect(nonPublicReason('2606:4700:4700::1111')).toBeNull()
    expect(nonPublicReason('::ffff:8.8.8.8')).toBeNull()
  })
})

describeEachEngine('webhooks: private targets are refused by default', (engine) => {
  const h = useApp(engine)

  it('a URL whose host is a loopback, private, link-local or special address is refused at registration, with why', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'SSRF' })).id
    for (const [url, why] of refusedAtRegistration) {
      const r = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url })
      expect(r.statusCode, url).toBe(400)
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/)
      const p = r.json()
      expect(p.code).toBe('validation_failed')
      expect(p.errors).toEqual([{ field: 'url', code: 'invalid_value', message: expect.stringContaining(why) }])
      expect(p.detail, url).toContain('ROLLCALL_WEBHOOK_ALLOW_PRIVATE')
    }
    const metadata = (
      await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: 'http://169.254.169.254/latest/meta-data/' })
    ).json()
    expect(metadata.detail).toBe(
      'url must reach a public address, and 169.254.169.254 is link-local (169.254.0.0/16); webhooks may reach private networks only if the server sets ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1',
    )
    expect((await c.request('GET', `/api/v1/directories/${dir}/webhooks`)).json().data).toEqual([])
    // Public hosts and names are accepted (names are checked again when delivering).
    for (const url of ['https://hooks.example.com/rollcall', 'http://93.184.216.34/hook', 'https://[2606:4700:4700::1111]/hook'])
      expect((await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url })).statusCode, url).toBe(201)
  })
})

describeEachEngine(
  'webhooks: delivery refuses private addresses and redirects',
  (engine) => {
    const logs: Array<Record<string, unknown>> = []
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>)
        done()
      },
    })
    const build = (allowPrivate: boolean) =>
      buildApp({
        store: engine.store(),
        config: loadConfig({}, { batchSize: 100, webhookBackoffMs: 10, webhookAttempts: 2, webhookAllowPrivate: allowPrivate }),
        logger: { level: 'warn', stream: sink },
      })
    let strict: App
    let lenient: App
    beforeAll(async () => {
      strict = await build(false)
      lenient = await build(true)
      await strict.app.ready()
      await lenient.app.ready()
    })
    afterAll(async () => {
      await strict?.app.close()
      await lenient?.app.close()
    })

    async function importInto(built: App, url: string): Promise<string> {
      const c = await clientOf(built, engine.store())
      const dir = (await makeDirectory(c, { name: 'Hooked' })).id
      const created = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url })
      expect(created.statusCode).toBe(201)
      await waitForJob(c, (await upload(c, dir, 'email\nssrf@x.io\n')).id)
      return created.json().id as string
    }

    async function logFor(hook: string, message: string, within = 5000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + within
      for (;;) {
        const line = logs.find((l) => l.webhook === hook && l.msg === message)
        if (line) return line
        if (Date.now() > deadline)
          throw new Error(`no log '${message}' for ${hook}: ${JSON.stringify(logs.filter((l) => l.webhook === hook))}`)
        await sleep(20)
      }
    }

    it('a stored webhook to a loopback host is not sent to at delivery, and the refusal is logged with its reason', async () => {
      const target = webhookReceiver()
      await target.start()
      try {
        // Stored as if registered before the server ran with the default: a name is judged when delivering.
        const c = await clientOf(strict, engine.store())
        const dir = (await makeDirectory(c, { name: 'Rebound' })).id
        const hookId = randomUUID()
        await engine.store().webhooks.add({
          id: hookId,
          directoryId: dir,
          url: `http://localhost:${target.port()}/hook`,
          secret: 'whsec_x',
          createdAt: new Date().toISOString(),
        })
        await waitForJob(c, (await upload(c, dir, 'email\nssrf@x.io\n')).id)
        const line = await logFor(hookId, 'webhook target refused; not retried')
        expect(line.reason).toBe(
          'localhost is loopback (localhost, RFC 6761), not a public address; set ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1 to allow it',
        )
        expect(target.got).toHaveLength(0)
        // Not retried: given up after its one attempt, kept in the dead letters.
        const letters = (await c.request('GET', `/api/v1/directories/${dir}/webhooks/${hookId}/dead-letters`)).json().data
        expect(letters).toEqual([expect.objectContaining({ event: 'import.completed', attempts: 1, error: line.reason })])
      } finally {
        await target.stop()
      }
    })

    it('a 3xx answer is a failed attempt: the redirect is not followed and the reason is logged', async () => {
      const target = webhookReceiver(302)
      await target.start()
      try {
        const hook = await importInto(lenient, target.url())
        const line = await logFor(hook, 'webhook delivery failed')
        expect(String(line.reason)).toBe('answered 302, a redirect; redirects are not followed')
        await sleep(100)
        expect(target.got.map((s) => s.url)).toEqual(['/hook', '/hook'])
      } finally {
        await target.stop()
      }
    })
  },
  OWN,
)

describe('webhook delivery: every resolved address is checked, and the connection goes to the checked one', () => {
  const target = webhookReceiver()
  beforeAll(() => target.start())
  afterAll(() => target.stop())
  const headers = { 'content-type': 'application/json' }

  it('refuses a name when any of its addresses is private, without connecting', async () => {
    let calls = 0
    const resolve: Resolver = async () => {
      calls++
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]
    }
    await expect(
      postOnce(`http://hook.test:${target.port()}/hook`, headers, '{}', { timeoutMs: 1000, allowPrivate: false, resolve }),
    ).rejects.toThrow(
      'hook.test resolves to 169.254.169.254, link-local (169.254.0.0/16), not a public address; set ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1 to allow it',
    )
    expect(calls).toBe(1)
    expect(target.got).toHaveLength(0)
  })

  it('refuses literal private addresses, however they are written', async () => {
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '2130706433', '0x7f.0.0.1', '127.1', 'localhost'])
      await expect(
        postOnce(`http://${host}:${target.port()}/hook`, headers, '{}', { timeoutMs: 1000, allowPrivate: false }),
        host,
      ).rejects.toThrow(/loopback/)
    expect(target.got).toHaveLength(0)
  })

  it('a name that answers public when checked and loopback afterwards (DNS rebinding) never reaches loopback', async () => {
    let calls = 0
    const resolve: Resolver = async () =>
      calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]
    // The one lookup answers the public address, and that is where the connection goes (it fails or times out here).
    await expect(
      postOnce(`http://rebind.test:${target.port()}/hook`, headers, '{}', { timeoutMs: 300, allowPrivate: false, resolve }),
    ).rejects.toThrow()
    expect(calls).toBe(1)
    expect(target.got).toHaveLength(0)
  })

  it('when private targets are allowed, it connects to the address the lookup checked, with the name as Host', async () => {
    let calls = 0
    const resolve: Resolver = async () => {
      calls++
      return [{ address: '127.0.0.1', family: 4 }]
    }
    expect(
      await postOnce(`http://hook.test:${target.port()}/hook?a=1`, headers, '{}', { timeoutMs: 1000, allowPrivate: true, resolve }),
    ).toBe(204)
    expect(calls).toBe(1)
    expect(target.got.at(-1)).toMatchObject({ url: '/hook?a=1', headers: { host: `hook.test:${target.port()}` } })
  })

  it('a POST to a name that resolves to a private address is refused before connecting, with the reason', async () => {
    let calls = 0
    const resolve: Resolver = async () => {
      calls++
      return [{ address: '::1', family: 6 }]
    }
    const refused = postOnce(`http://hook.test:${target.port()}/hook`, {}, '{}', { timeoutMs: 1000, allowPrivate: false, resolve })
    await expect(refused).rejects.toBeInstanceOf(RefusedTarget)
    await expect(refused).rejects.toThrow(
      'hook.test resolves to ::1, loopback (::1/128), not a public address; set ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1 to allow it',
    )
    expect(calls).toBe(1)
    expect(target.got.filter((s) => s.headers.host?.startsWith('hook.test'))).toHaveLength(1) // only the allowed test's
  })
})
