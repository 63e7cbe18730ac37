import { expect, it } from 'vitest'
import { blankUser } from '../src/core/user-patch.js'
import { uuidv7 } from '../src/core/ids.js'
import type { ChangeRecord, Directory } from '../src/core/types.js'
import type { BatchWrite, Store } from '../src/store/store.js'
import { type Client, useApp } from './helpers/app.js'
import { describeEachEngine } from './helpers/engines.js'
import { makeDirectory } from './helpers/directories.js'
import { freshDirectory } from './helpers/fixtures.js'
import { upload, waitForJob } from './helpers/jobs.js'
import { serveApp } from './helpers/listen.js'
import { buildApp } from '../src/app/app.js'
import { loadConfig } from '../src/config.js'

type FeedItem = ChangeRecord & { cursor: string }

/** Reads the feed from `after` until it answers nothing new: every item, in order, and the cursor to go on from. */
async function drain(c: Client, dir: string, after: string | null, limit = 1000): Promise<{ items: FeedItem[]; cursor: string | null }> {
  const items: FeedItem[] = []
  let cursor = after
  for (;;) {
    const r = await c.request('GET', `/api/v1/directories/${dir}/changes?limit=${limit}${cursor ? `&after=${cursor}` : ''}`)
    expect(r.statusCode, r.body).toBe(200)
    const page = r.json() as { data: FeedItem[]; nextCursor: string | null }
    items.push(...page.data)
    if (page.data.length) expect(page.nextCursor).toBe(page.data[page.data.length - 1].cursor)
    else expect(page.nextCursor).toBe(cursor)
    cursor = page.nextCursor
    if (page.data.length < limit) return { items, cursor }
  }
}

/** One user created in its own write, as the engine would: a user row and its history record. */
function createOne(dir: Directory, email: string): BatchWrite {
  const now = new Date().toISOString()
  const user = { ...blankUser(uuidv7(), dir.id, now), email, version: 1 }
  return {
    directoryId: dir.id,
    inserts: [user],
    updates: [],
    changes: [
      {
        channel: 'native',
        keyId: null,
        requestId: null,
        jobId: null,
        userId: user.id,
        action: 'create',
        at: now,
        changes: { email: [null, email] },
      },
    ],
  }
}

describeEachEngine('the change feed', (engine) => {
  const h = useApp(engine, { batchSize: 7 })

  it('every change record once, oldest first, page after page; an empty page keeps the cursor; other directories stay out', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Feed' })).id
    const other = (await makeDirectory(c, { name: 'Other' })).id
    const users = `/api/v1/directories/${dir}/users`
    expect(await drain(c, dir, null)).toEqual({ items: [], cursor: null })
    const ada = (await c.request('POST', users, { email: 'ada@example.com' })).json()
    await c.request('POST', `/api/v1/directories/${other}/users`, { email: 'elsewhere@example.com' })
    await c.request('PATCH', `${users}/${ada.id}`, { firstName: 'Ada', active: false })
    const bulk = await c.request('POST', `${users}/bulk`, {
      mode: 'upsert',
      match: 'email',
      rows: Array.from({ length: 20 }, (_, i) => ({ email: `u${i}@example.com` })),
    })
    expect(bulk.statusCode, bulk.body).toBe(200)
    await c.request('DELETE', `${users}/${ada.id}`)

    const all = await drain(c, dir, null)
    const history = ((await c.request('GET', `/api/v1/directories/${dir}/history?limit=1000`)).json().data as ChangeRecord[]).reverse()
    expect(all.items.map((x) => x.seq)).toEqual(history.map((x) => x.seq))
    expect(all.items.map(({ cursor: _, ...x }) => x)).toEqual(history)
    expect(all.items[1]).toMatchObject({ userId: ada.id, action: 'update', changes: { firstName: [null, 'Ada'], active: [true, false] } })
    expect(all.items.at(-1)).toMatchObject({ userId: ada.id, action: 'delete' })

    // Three at a time, the same records; from the last cursor, nothing, and the cursor stays.
    const paged = await drain(c, dir, null, 3)
    expect(paged.items.map((x) => x.seq)).toEqual(history.map((x) => x.seq))
    expect(await drain(c, dir, all.cursor)).toEqual({ items: [], cursor: all.cursor })
    // From the middle: the rest.
    const mid = all.items[10].cursor
    expect((await drain(c, dir, mid)).items.map((x) => x.seq)).toEqual(history.slice(11).map((x) => x.seq))

    const bad = await c.request('GET', `/api/v1/directories/${dir}/changes?after=nonsense`)
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('invalid_cursor')
    // A cursor of another directory names no record of this one.
    const foreign = (await drain(c, other, null)).cursor
    const gone = await c.request('GET', `/api/v1/directories/${dir}/changes?after=${foreign}`)
    expect(gone.statusCode).toBe(410)
    expect(gone.json().code).toBe('cursor_expired')
  })

  it('wait holds the request until a change arrives, and answers empty when none does', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Waiting' })).id
    await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'first@example.com' })
    const { cursor } = await drain(c, dir, null)

    const started = Date.now()
    const quiet = await c.request('GET', `/api/v1/directories/${dir}/changes?after=${cursor}&wait=1`)
    expect(quiet.json()).toEqual({ data: [], nextCursor: cursor })
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)

    const pending = c.request('GET', `/api/v1/directories/${dir}/changes?after=${cursor}&wait=20`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await c.request('POST', `/api/v1/directories/${dir}/users`, { email: 'second@example.com' })
    const r = await pending
    expect(r.statusCode).toBe(200)
    expect(r.json().data).toEqual([expect.objectContaining({ action: 'create', changes: { email: [null, 'second@example.com'] } })])
    expect(Date.now() - started).toBeLessThan(15_000)

    const tooLong = await c.request('GET', `/api/v1/directories/${dir}/changes?wait=61`)
    expect(tooLong.statusCode).toBe(400)
  })

  it('a consumer reading while an import and single writes run sees every record exactly once', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Busy' })).id
    const rows = 400
    const csv = `email,firstName\n${Array.from({ length: rows }, (_, i) => `p${i}@example.com,P${i}`).join('\n')}\n`
    const job = await upload(c, dir, csv)
    const singles = (async () => {
      for (let i = 0; i < 30; i++) await c.request('POST', `/api/v1/directories/${dir}/users`, { email: `single${i}@example.com` })
    })()
    const seen: FeedItem[] = []
    let cursor: string | null = null
    const deadline = Date.now() + 20_000
    while (seen.length < rows + 30 && Date.now() < deadline) {
      const page = await drain(c, dir, cursor, 25)
      seen.push(...page.items)
      cursor = page.cursor
      // A consumer that caught up waits a moment (on SQLite a request never leaves the event
      // loop: without a pause this loop would starve the job it is watching).
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await singles
    expect((await waitForJob(c, job.id)).counts.created).toBe(rows)
    seen.push(...(await drain(c, dir, cursor)).items)
    const seqs = seen.map((x) => x.seq)
    expect(new Set(seqs).size).toBe(seqs.length)
    const history = (await c.request('GET', `/api/v1/directories/${dir}/history?limit=1000`)).json().data as ChangeRecord[]
    expect(new Set(seqs)).toEqual(new Set(history.map((x) => x.seq)))
    expect(seqs).toHaveLength(rows + 30)
  })

  it('a record committed after a later-numbered one is still delivered after the cursor that passed the later one', async () => {
    const store: Store = engine.store()
    const dir = await freshDirectory(store, 'Race')
    // SQLite runs one transaction at a time: the interleaving below cannot happen there (the
    // second write would wait for the first), so only the order of commits is checked.
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let wrote!: () => void
    const written = new Promise<void>((resolve) => (wrote = resolve))
    const first = store.transaction(async (tx) => {
      await tx.writeBatch(createOne(dir, 'early@example.com'))
      wrote()
      await gate
    })
    await written
    const seen: ChangeRecord[] = []
    if (store.capabilities.concurrentTransactions) {
      // Numbered after the open transaction's record, committed before it.
      await store.transaction(async (tx) => tx.writeBatch(createOne(dir, 'late@example.com')))
      const page = await store.changeFeed(dir.id, null, 100)
      seen.push(...page.items)
      release()
      await first
      seen.push(...(await store.changeFeed(dir.id, page.items.at(-1)?.position ?? null, 100)).items)
    } else {
      release()
      await first
      await store.transaction(async (tx) => tx.writeBatch(createOne(dir, 'late@example.com')))
      seen.push(...(await store.changeFeed(dir.id, null, 100)).items)
    }
    expect(seen.map((x) => x.changes.email?.[1]).sort()).toEqual(['early@example.com', 'late@example.com'])
  })

  it('as server-sent events: one change event per record, resumed by Last-Event-ID, ended when the server closes', async () => {
    // An app of its own, served on a socket: closing it must end the open stream.
    const app = await buildApp({ store: engine.store(), config: loadConfig({}, { batchSize: 100 }) })
    const tenant = await engine.store().ensureTenant(`t-${uuidv7()}`)
    const { secret } = await app.services.keys.create(tenant.id, { name: 'admin', scopes: ['admin'] })
    const port = await serveApp(app.app)
    const base = `http://127.0.0.1:${port}/api/v1`
    const auth = { authorization: `Bearer ${secret}` }
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect(r.status, await r.clone().text()).toBeLessThan(300)
      return (await r.json()) as { id: string }
    }
    const dir = (await post('/directories', { name: 'Stream' })).id as string
    await post(`/directories/${dir}/users`, { email: 'one@example.com' })

    /** Reads events off a stream until `n` change events came; the raw events too (keep-alives are comments). */
    async function events(headers: Record<string, string>, n: number, during?: () => Promise<void>) {
      const ctl = new AbortController()
      const r = await fetch(`${base}/directories/${dir}/changes`, {
        headers: { ...auth, accept: 'text/event-stream', ...headers },
        signal: ctl.signal,
      })
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toBe('text/event-stream')
      const reader = (r.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      const out: { id: string; event: string; data: FeedItem }[] = []
      let buffer = ''
      const pending = during?.()
      while (out.length < n) {
        const { value, done } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        for (let cut = buffer.indexOf('\n\n'); cut !== -1; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const field = (name: string) =>
            block
              .split('\n')
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2)
          if (field('event'))
            out.push({ id: field('id') as string, event: field('event') as string, data: JSON.parse(field('data') as string) })
        }
      }
      await pending
      ctl.abort()
      return out
    }

    // The record there already, then those written while the stream is open.
    const live = await events({}, 3, async () => {
      await post(`/directories/${dir}/users`, { email: 'two@example.com' })
      await post(`/directories/${dir}/users`, { email: 'three@example.com' })
    })
    expect(live.map((e) => [e.event, e.data.changes.email?.[1]])).toEqual([
      ['change', 'one@example.com'],
      ['change', 'two@example.com'],
      ['change', 'three@example.com'],
    ])
    for (const e of live) expect(e.id).toBe(e.data.cursor)
    // A reconnecting EventSource sends the last id it saw: the stream goes on from there.
    const resumed = await events({ 'last-event-id': live[1].id }, 1)
    expect(resumed.map((e) => e.data.seq)).toEqual([live[2].data.seq])
    const bad = await fetch(`${base}/directories/${dir}/changes`, {
      headers: { ...auth, accept: 'text/event-stream', 'last-event-id': 'nonsense' },
    })
    expect(bad.status).toBe(400)

    // A stream left open does not keep the server from closing.
    const open = await fetch(`${base}/directories/${dir}/changes?after=${live[2].id}`, {
      headers: { ...auth, accept: 'text/event-stream' },
    })
    const ended = (async () => {
      const reader = (open.body as ReadableStream<Uint8Array>).getReader()
      for (;;) if ((await reader.read()).done) return true
    })()
    const closing = Date.now()
    await app.app.close()
    expect(await ended).toBe(true)
    expect(Date.now() - closing).toBeLessThan(5_000)
  })

  // PostgreSQL only: SQLite orders its feed by seq and keeps no transaction ids to go wrong.
  it.skipIf(engine.name !== 'postgres')(
    'after a restore into another cluster (transaction ids ahead of the new one), the next start puts those records first and voids their cursors',
    async () => {
      const store = engine.store() as Store & { pool: { query(sql: string, params?: unknown[]): Promise<unknown> } }
      const dir = await freshDirectory(store, 'Restored')
      for (const email of ['a@example.com', 'b@example.com']) await store.transaction(async (tx) => tx.writeBatch(createOne(dir, email)))
      const before = (await store.changeFeed(dir.id, null, 100)).items
      expect(before).toHaveLength(2)
      // As a dump of a busier cluster would bring them: ids far ahead of this cluster's.
      await store.pool.query(`UPDATE changes SET txid = '9000000000000' WHERE directory_id = $1`, [dir.id])
      // Until the next start those records are held back (no transaction that old has ended)…
      expect((await store.changeFeed(dir.id, null, 100)).items).toEqual([])
      await store.migrate()
      // …after it they come first, and a record written now comes after them.
      await store.transaction(async (tx) => tx.writeBatch(createOne(dir, 'c@example.com')))
      const after = (await store.changeFeed(dir.id, null, 100)).items
      expect(after.map((x) => x.changes.email?.[1])).toEqual(['a@example.com', 'b@example.com', 'c@example.com'])
      expect(after.slice(0, 2).map((x) => x.position.txid)).toEqual(['0', '0'])
      // A cursor handed out before names a transaction id the record no longer has: expired, not skipped past.
      expect(await store.changeFeed(dir.id, before[1].position, 100)).toEqual({ items: [], expired: true })
      expect((await store.changeFeed(dir.id, after[1].position, 100)).items.map((x) => x.changes.email?.[1])).toEqual(['c@example.com'])
    },
  )
})
