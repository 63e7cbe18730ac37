import { createHmac, timingSafeEqual } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/app/app.js'
import { clientOf, useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'
import { upload, waitForJob } from '../helpers/jobs.js'
import { type Delivery, webhookReceiver } from '../helpers/webhook-receiver.js'
import { sleep } from '../helpers/sleep.js'

/**
 * In a database of its own: every server of a database delivers its webhooks, and one of another
 * test file (which refuses loopback receivers) would take these over.
 */
const OWN = { ownDatabase: true }

interface UserEvent {
  id: string
  type: string
  at: string
  userId: string
  changes: Record<string, [unknown, unknown]>
  jobId: string | null
}

const batchesOf = (got: Delivery[]) =>
  got.map((d) => JSON.parse(d.body) as { event: string; deliveryId: string; events?: UserEvent[]; import?: { id: string } })

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await sleep(20)
  }
}

/**
 * Event webhooks: user.* events from history in signed batches, in commit order, from the
 * webhook's creation on; durable deliveries that wait out a receiver that is down (a restart
 * included) and give up into dead letters an admin can replay.
 */
describeEachEngine(
  'webhooks: user events, durable deliveries',
  (engine) => {
    const config = { webhookBackoffMs: 20, webhookMaxBackoffMs: 200, webhookPollMs: 50, webhookAllowPrivate: true, webhookAttempts: 1000 }
    const h = useApp(engine, config)
    // Answers 204, or what `answer` says for now.
    let answer = 204
    const hook = webhookReceiver(() => answer)
    beforeAll(() => hook.start())
    afterAll(() => hook.stop())

    it('an import of 250 users is 3 signed POSTs of user.created, in order; then updated, deactivated, deleted; each webhook its own types', async () => {
      hook.got.length = 0
      answer = 204
      const c = await h.client()
      const dir = (await makeDirectory(c, { name: 'Events' })).id
      // Made before the webhook: not an event of it.
      await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'before@x.io' })
      const created = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, {
        url: hook.url('/all'),
        events: ['user.*'],
        batchSize: 100,
      })
      expect(created.statusCode, created.body).toBe(201)
      expect(created.json()).toMatchObject({ events: ['user.created', 'user.updated', 'user.deactivated', 'user.deleted'], batchSize: 100 })
      const { secret } = created.json()
      const deletes = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, {
        url: hook.url('/deletes'),
        events: ['user.deleted'],
      })
      expect(deletes.statusCode).toBe(201)
      const bad = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: hook.url(), events: ['user.moved'] })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().errors[0]).toMatchObject({ field: 'events', code: 'invalid_value' })

      const emails = Array.from({ length: 250 }, (_, i) => `u${String(i).padStart(3, '0')}@x.io`)
      const job = await waitForJob(c, (await upload(c, dir, `email\n${emails.join('\n')}\n`)).id)
      await until(() => batchesOf(hook.got.filter((d) => d.url === '/all')).reduce((n, b) => n + (b.events?.length ?? 0), 0) >= 250)
      const all = hook.got.filter((d) => d.url === '/all')
      expect(all).toHaveLength(3)
      const events = batchesOf(all).flatMap((b) => b.events ?? [])
      expect(events.every((e) => e.type === 'user.created' && e.jobId === job.id)).toBe(true)
      expect(events.map((e) => e.changes.email[1])).toEqual(emails)
      expect(new Set(events.map((e) => e.id)).size).toBe(250)
      for (const d of all) {
        expect(d.headers['rollcall-event']).toBe('batch')
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(d.headers['rollcall-signature']))
        expect(m).not.toBeNull()
        expect(timingSafeEqual(createHmac('sha256', secret).update(`${m![1]}.${d.body}`).digest(), Buffer.from(m![2], 'hex'))).toBe(true)
      }

      const users = (await c.request('GET', `/api/v1/directories/${dir}/users?limit=10`)).json().data as { id: string; email: string }[]
      const [a, b] = users.filter((u) => u.email !== 'before@x.io')
      await c.request('PATCH', `/api/v1/directories/${dir}/users/${a.id}`, { firstName: 'Ada' })
      await c.request('PATCH', `/api/v1/directories/${dir}/users/${a.id}`, { active: false })
      await c.request('DELETE', `/api/v1/directories/${dir}/users/${b.id}`)
      await until(() => batchesOf(hook.got.filter((d) => d.url === '/all')).flatMap((x) => x.events ?? []).length >= 253)
      await until(() => hook.got.some((d) => d.url === '/deletes'))
      const tail = batchesOf(hook.got.filter((d) => d.url === '/all'))
        .flatMap((x) => x.events ?? [])
        .slice(250)
      expect(tail.map((e) => [e.type, e.userId])).toEqual([
        ['user.updated', a.id],
        ['user.deactivated', a.id],
        ['user.deleted', b.id],
      ])
      await sleep(200)
      const onlyDeletes = batchesOf(hook.got.filter((d) => d.url === '/deletes')).flatMap((x) => x.events ?? [])
      expect(onlyDeletes.map((e) => [e.type, e.userId])).toEqual([['user.deleted', b.id]])

      const state = (await c.request('GET', `/api/v1/directories/${dir}/webhooks/${created.json().id}`)).json()
      expect(state).toMatchObject({ failures: 0, lastError: null, nextAttemptAt: null })
      expect(state.lastDeliveredAt).not.toBeNull()
      expect(state).not.toHaveProperty('secret')
    })

    it('a mirror import stopped by its safeguard is told as import.needs_confirmation', async () => {
      hook.got.length = 0
      answer = 204
      const c = await h.client()
      const dir = (await makeDirectory(c, { name: 'Safeguard told' })).id
      await c.request('POST', `/api/v1/directories/${dir}/users/bulk`, { rows: [{ email: 'a@x.io' }, { email: 'b@x.io' }] })
      await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: hook.url('/confirm'), events: ['import.needs_confirmation'] })
      const job = await upload(c, dir, 'email\na@x.io\n', 'text/csv', 'absent=deactivate')
      await until(() => hook.got.some((d) => d.url === '/confirm'))
      const [told] = batchesOf(hook.got.filter((d) => d.url === '/confirm'))
      expect(told).toMatchObject({ event: 'import.needs_confirmation', import: { id: job.id, state: 'needs_confirmation' } })
    })

    it('a receiver that is down gets everything once it is back, in order, across a restart of the server', async () => {
      hook.got.length = 0
      answer = 503
      const store = engine.store()
      const first = await buildApp({ store, config: loadConfig({}, { batchSize: 100, ...config }) })
      await first.app.ready()
      const c = await clientOf(first, store)
      const dir = (await makeDirectory(c, { name: 'Down' })).id
      const created = await c.request('POST', `/api/v1/directories/${dir}/webhooks`, {
        url: hook.url('/down'),
        events: ['user.created', 'import.*'],
        batchSize: 40,
      })
      const id = created.json().id
      const job = await waitForJob(
        c,
        (await upload(c, dir, `email\n${Array.from({ length: 100 }, (_, i) => `d${i}@x.io`).join('\n')}\n`)).id,
      )
      await until(() => hook.got.length >= 3)
      const failing = (await c.request('GET', `/api/v1/directories/${dir}/webhooks/${id}`)).json()
      expect(failing.failures).toBeGreaterThan(0)
      expect(failing.lastError).toBe('answered 503')
      expect(failing.nextAttemptAt).not.toBeNull()
      await first.app.close()

      // A new server on the same database: the receiver is back.
      answer = 204
      const tried = hook.got.length
      const second = await buildApp({ store, config: loadConfig({}, { batchSize: 100, ...config }) })
      await second.app.ready()
      try {
        await until(() => {
          const ok = batchesOf(hook.got.slice(tried))
          return ok.flatMap((b) => b.events ?? []).length >= 100 && ok.some((b) => b.event === 'import.completed')
        })
        const delivered = batchesOf(hook.got.slice(tried))
        const events = delivered.flatMap((b) => b.events ?? [])
        expect(events.map((e) => e.changes.email[1])).toEqual(Array.from({ length: 100 }, (_, i) => `d${i}@x.io`))
        expect(delivered.filter((b) => b.events).map((b) => b.events?.length)).toEqual([40, 40, 20])
        expect(delivered.filter((b) => b.event === 'import.completed').map((b) => b.import?.id)).toEqual([job.id])
        // Every failed attempt was the same first delivery: nothing went ahead of it.
        const failedBodies = new Set(hook.got.slice(0, tried).map((d) => d.body))
        expect(failedBodies.size).toBe(1)
        // Once every webhook had it, retention deletes the import event a day later.
        const swept = await second.retention?.sweep(new Date(Date.now() + 2 * 86_400_000))
        expect(swept?.webhookEvents).toBeGreaterThanOrEqual(1)
      } finally {
        await second.app.close()
      }
    })
  },
  OWN,
)

// Its own server (an attempt limit of 2): webhooks are delivered by every server of a database, and one
// of the block above would go on trying with its own limit.
describeEachEngine(
  'webhooks: dead letters',
  (engine) => {
    const h = useApp(engine, {
      webhookBackoffMs: 20,
      webhookMaxBackoffMs: 200,
      webhookPollMs: 50,
      webhookAllowPrivate: true,
      webhookAttempts: 2,
    })
    let answer = 500
    const hook = webhookReceiver(() => answer)
    beforeAll(() => hook.start())
    afterAll(() => hook.stop())

    it('after its attempts a delivery goes to the dead letters, the webhook goes on, and a replay sends it again', async () => {
      hook.got.length = 0
      answer = 500
      {
        const c = await h.client()
        const dir = (await makeDirectory(c, { name: 'Dead letters' })).id
        const id = (
          await c.request('POST', `/api/v1/directories/${dir}/webhooks`, { url: hook.url('/dl'), events: ['user.created'] })
        ).json().id
        await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'lost@x.io' })
        let letters: { id: string; event: string; events: number; body: string; error: string; attempts: number }[] = []
        await until(() => hook.got.length >= 2)
        const list = async () => (await c.request('GET', `/api/v1/directories/${dir}/webhooks/${id}/dead-letters`)).json().data
        for (let i = 0; i < 100 && letters.length === 0; i++) {
          letters = await list()
          await sleep(20)
        }
        expect(letters).toHaveLength(1)
        expect(letters[0]).toMatchObject({ event: 'batch', events: 1, error: 'answered 500', attempts: 2 })
        expect(JSON.parse(letters[0].body).events[0].changes.email).toEqual([null, 'lost@x.io'])

        // It goes on with what follows.
        answer = 204
        await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'next@x.io' })
        await until(() => batchesOf(hook.got).some((b) => b.events?.[0]?.changes.email[1] === 'next@x.io'))

        const replay = await c.request('POST', `/api/v1/directories/${dir}/webhooks/${id}/dead-letters/${letters[0].id}/replay`)
        expect(replay.statusCode, replay.body).toBe(200)
        expect(replay.json()).toEqual({ delivered: true })
        expect(hook.got[hook.got.length - 1].body).toBe(letters[0].body)
        expect((await list())[0].replayedAt).not.toBeNull()
        const other = await h.client()
        expect((await other.request('GET', `/api/v1/directories/${dir}/webhooks/${id}/dead-letters`)).statusCode).toBe(404)
      }
    })
  },
  OWN,
)
