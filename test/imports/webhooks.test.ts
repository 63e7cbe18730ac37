import { createHmac, timingSafeEqual } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachEngine } from '../helpers/engines.js'
import { useApp } from '../helpers/app.js'
import { upload, waitForJob } from '../helpers/jobs.js'
import { makeDirectory } from '../helpers/directories.js'
import { webhookReceiver } from '../helpers/webhook-receiver.js'
import { sleep } from '../helpers/sleep.js'

/**
 * In a database of its own: every server of a database delivers its webhooks, and one of another
 * test file (which refuses loopback receivers) would take these over.
 */
const OWN = { ownDatabase: true }

describeEachEngine(
  'imports: webhooks',
  (engine) => {
    // The receiver is on loopback: allowed only because this server says so (see webhook-ssrf.test.ts).
    const h = useApp(engine, { webhookBackoffMs: 20, webhookAllowPrivate: true })
    // Fails the first two deliveries with 500.
    const hook = webhookReceiver((n) => (n <= 2 ? 500 : 204))
    beforeAll(() => hook.start())
    afterAll(() => hook.stop())

    it("a job's end posts its summary, signed with HMAC-SHA256 over timestamp and body, retried with backoff", async () => {
      const c = await h.client()
      const dir = (await makeDirectory(c, { name: 'Hooked' })).id
      const created = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: hook.url() })
      expect(created.statusCode).toBe(201)
      const { secret, id } = created.json()
      expect(secret).toMatch(/^whsec_/)
      expect(JSON.stringify((await c.request('GET', `/api/v1/directories/${dir}/webhooks`)).json())).not.toContain(secret)
      expect((await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: 'ftp://x' })).statusCode).toBe(400)

      const job = await waitForJob(c, (await upload(c, dir, 'email\nw1@x.io\nbad\n')).id)
      const deadline = Date.now() + 10_000
      while (hook.got.length < 3 && Date.now() < deadline) await sleep(20)
      expect(hook.got).toHaveLength(3)
      const last = hook.got[2]
      expect(JSON.parse(last.body)).toMatchObject({
        event: 'import.completed',
        import: { id: job.id, state: 'completed', counts: { created: 1, failed: 1 } },
      })
      expect(hook.got[0].body).not.toBe('')
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(last.headers['rollcall-signature']))
      expect(m).not.toBeNull()
      const expected = createHmac('sha256', secret).update(`${m![1]}.${last.body}`).digest()
      expect(timingSafeEqual(expected, Buffer.from(m![2], 'hex'))).toBe(true)
      expect(Math.abs(Number(m![1]) - Date.now() / 1000)).toBeLessThan(60)

      expect((await c.request('DELETE', `/api/v1/directories/${dir}/webhooks/${id}`)).statusCode).toBe(204)
      const other = await h.client()
      expect((await other.request('GET', `/api/v1/directories/${dir}/webhooks`)).statusCode).toBe(404)
    })
  },
  OWN,
)
