import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { IMPORT_EVENTS, USER_EVENTS, type WebhookEvent, type WebhookState } from '../core/jobs.js'
import type { ChangeRecord, FeedPosition } from '../core/types.js'
import type { Store } from '../store/store.js'
import { encodeFeedCursor } from '../core/feed-cursor.js'
import { postOnce, type Resolver, RefusedTarget, sign } from './webhooks.js'

export interface DispatcherOptions {
  store: Store
  /** First retry delay; each next one doubles, up to `maxBackoffMs`. */
  backoffMs: number
  maxBackoffMs: number
  /** Attempts of one delivery, the first included, before it goes to the dead letters. */
  attempts: number
  timeoutMs: number
  allowPrivate: boolean
  /** How often due webhooks are looked for when nothing wakes the dispatcher (user.* events arrive without a wake-up). */
  pollMs: number
  /** A webhook's lease: another process takes it over once this long has passed without progress. */
  leaseMs: number
  resolve?: Resolver
  log?: Pick<Logger, 'warn' | 'info' | 'error'>
}

const USER: ReadonlySet<string> = new Set(USER_EVENTS)
const IMPORT: ReadonlySet<string> = new Set(IMPORT_EVENTS)
/** Webhooks delivered to at once, per process. */
const PARALLEL = 8
/** A webhook keeps its lease this long at most before it lets others (and other webhooks) have a turn. */
const TURN_MS = 5_000

/** The user.* event a change record is: a change of `active` from true to false is a deactivation. */
export function eventOf(rec: ChangeRecord): WebhookEvent {
  if (rec.action === 'create') return 'user.created'
  if (rec.action === 'delete') return 'user.deleted'
  const active = rec.changes.active
  return active && active[0] === true && active[1] === false ? 'user.deactivated' : 'user.updated'
}

/** A change record as a user.* event of a delivery: its cursor is its id (the same in every retry). */
const userEvent = (rec: ChangeRecord, position: FeedPosition) => ({
  id: encodeFeedCursor(position),
  type: eventOf(rec),
  at: rec.at,
  userId: rec.userId,
  changes: rec.changes,
  channel: rec.channel,
  jobId: rec.jobId,
})

/** What one turn of a webhook is about to send. */
interface Pending {
  event: string
  body: string
  events: number
  /** Where the webhook stands once it is delivered (or given up). */
  next: { feed?: FeedPosition | null; importSeq?: number }
}

/**
 * Delivers webhooks from the database, so that a restart loses nothing: user.* events are read
 * from history through the change feed (history is their outbox: an import of a million rows
 * writes no extra row for them), import.* events from `webhook_events`. Each webhook keeps its
 * position and its failures in its row; a process leases a webhook before delivering to it, so
 * its events go out one POST at a time, in order. user.* events go in batches of up to the
 * webhook's `batchSize` (`{deliveryId, events: […]}`), an import event alone in the shape it has
 * always had (`{event, deliveryId, import}`). A failed POST is tried again after a backoff that
 * doubles up to `maxBackoffMs`; after `attempts` it goes to the webhook's dead letters (an admin
 * can replay it) and the webhook goes on with what follows.
 */
export class WebhookDispatcher {
  private readonly owner = `hooks-${randomUUID()}`
  private state: 'idle' | 'running' | 'stopping' = 'idle'
  private loop: Promise<void> | null = null
  private wakeUp: (() => void) | undefined
  /** Aborts the POSTs in flight when the process stops (their deliveries are tried again at the next start). */
  private readonly halt = new AbortController()

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    if (this.state !== 'idle') return
    this.state = 'running'
    this.loop = this.run()
  }

  /** Look for due webhooks now (an import event was just queued). */
  wake(): void {
    this.wakeUp?.()
  }

  async stop(): Promise<void> {
    if (this.state === 'running') this.state = 'stopping'
    this.halt.abort()
    this.wake()
    await this.loop
    this.state = 'idle'
  }

  private async run(): Promise<void> {
    while (this.state === 'running') {
      try {
        const due = await this.o.store.webhooks.leaseDue(this.owner, this.o.leaseMs, PARALLEL)
        await Promise.all(due.map((h) => this.turn(h)))
        if (due.length === PARALLEL) continue
      } catch (e) {
        this.o.log?.error({ err: e }, 'webhook deliveries failed; retrying')
      }
      await this.sleep()
    }
  }

  /** Until the next poll, the next scheduled attempt, or a wake-up, whichever comes first. */
  private async sleep(): Promise<void> {
    let ms = this.o.pollMs
    try {
      const next = await this.o.store.webhooks.nextDue()
      if (next) ms = Math.min(ms, Math.max(10, Date.parse(next) - Date.now()))
    } catch {
      // The poll interval, then.
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      this.wakeUp = () => {
        clearTimeout(t)
        resolve()
      }
    })
    this.wakeUp = undefined
  }

  /** Delivers what is pending for one leased webhook, for one turn at most, then lets it go. */
  private async turn(hook: WebhookState): Promise<void> {
    const { store } = this.o
    const until = Date.now() + TURN_MS
    let h = hook
    try {
      while (this.state === 'running' && Date.now() < until) {
        const pending = await this.pending(h)
        if (!pending) break
        if (pending.events === 0) {
          // Records none of its types: passed over.
          if (!(await store.webhooks.progress(h.id, this.owner, { ...this.clear(), ...pending.next }))) return
          h = { ...h, ...this.moved(pending.next) }
          continue
        }
        const outcome = await this.post(h, pending)
        // Stopped mid-POST: not the receiver's failure; the next start sends it again.
        if (!outcome.ok && this.halt.signal.aborted) return
        const now = new Date().toISOString()
        if (outcome.ok) {
          if (!(await store.webhooks.progress(h.id, this.owner, { ...this.clear(), ...pending.next, lastDeliveredAt: now }))) return
          h = { ...h, ...this.moved(pending.next), failures: 0 }
          continue
        }
        const failures = h.failures + 1
        if (outcome.refused || failures >= this.o.attempts) {
          await store.webhooks.addDeadLetter({
            id: randomUUID(),
            webhookId: h.id,
            event: pending.event,
            events: pending.events,
            body: pending.body,
            error: outcome.reason,
            attempts: failures,
            createdAt: now,
            replayedAt: null,
          })
          this.o.log?.warn(
            { webhook: h.id, attempts: failures, reason: outcome.reason },
            outcome.refused ? 'webhook target refused; not retried' : 'webhook delivery given up; kept in its dead letters',
          )
          await store.webhooks.progress(h.id, this.owner, { ...this.clear(), ...pending.next, lastError: outcome.reason })
          h = { ...h, ...this.moved(pending.next), failures: 0 }
          continue
        }
        const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (failures - 1))
        this.o.log?.warn({ webhook: h.id, attempt: failures, reason: outcome.reason }, 'webhook delivery failed')
        await store.webhooks.progress(h.id, this.owner, {
          failures,
          failingSince: h.failingSince ?? now,
          nextAttemptAt: new Date(Date.now() + delay).toISOString(),
          lastError: outcome.reason,
        })
        return
      }
    } catch (e) {
      this.o.log?.error({ err: e, webhook: h.id }, 'webhook delivery failed unexpectedly')
    } finally {
      await store.webhooks.release(h.id, this.owner).catch(() => {})
    }
  }

  /** A webhook's state once a delivery went (or was given up): no failures pending. */
  private clear() {
    return { failures: 0, failingSince: null, nextAttemptAt: null, lastError: null }
  }

  private moved(next: Pending['next']): Partial<WebhookState> {
    return {
      ...(next.feed !== undefined && { feed: next.feed }),
      ...(next.importSeq !== undefined && { importSeq: next.importSeq }),
    }
  }

  /**
   * The next delivery of a webhook (null when nothing is pending): of its two streams, the one
   * whose next item is older, so an import's events come after its users' and a retry sends the
   * delivery that failed again, with nothing ahead of it. Items of types it does not want are
   * passed over (a delivery of 0 events).
   */
  private async pending(h: WebhookState): Promise<Pending | null> {
    const { store } = this.o
    const wanted = new Set<string>(h.events)
    const [e] = h.events.some((x) => IMPORT.has(x)) ? await store.webhooks.events(h.directoryId, h.importSeq, 1) : []
    const page = h.events.some((x) => USER.has(x)) ? await store.changeFeed(h.directoryId, h.feed, h.batchSize) : null
    if (page?.expired) {
      // History retention deleted records it had not had yet: it goes on from what is there now.
      const head = await store.feedHead(h.directoryId)
      this.o.log?.warn({ webhook: h.id }, 'webhook fell behind history retention; going on from the newest record')
      return { event: 'batch', body: '', events: 0, next: { feed: head } }
    }
    const records = page?.items ?? []
    if (e && (records.length === 0 || e.createdAt < records[0].at)) {
      if (!wanted.has(e.event)) return { event: e.event, body: '', events: 0, next: { importSeq: e.seq } }
      const body = JSON.stringify({ event: e.event, deliveryId: e.id, ...(e.payload as object) })
      return { event: e.event, body, events: 1, next: { importSeq: e.seq } }
    }
    if (records.length === 0) return null
    const last = records[records.length - 1].position
    const events = records.filter((r) => wanted.has(eventOf(r))).map((r) => userEvent(r, r.position))
    if (events.length === 0) return { event: 'batch', body: '', events: 0, next: { feed: last } }
    const body = JSON.stringify({ event: 'batch', deliveryId: `${events[0].id}..${events[events.length - 1].id}`, events })
    return { event: 'batch', body, events: events.length, next: { feed: last } }
  }

  private async post(h: WebhookState, p: Pending): Promise<{ ok: true } | { ok: false; refused: boolean; reason: string }> {
    try {
      const headers = { 'content-type': 'application/json', 'rollcall-event': p.event, 'rollcall-signature': sign(h.secret, p.body) }
      const status = await postOnce(h.url, headers, p.body, { ...this.o, signal: this.halt.signal })
      if (status >= 200 && status < 300) return { ok: true }
      return { ok: false, refused: false, reason: `answered ${status}` }
    } catch (e) {
      return { ok: false, refused: e instanceof RefusedTarget, reason: (e as Error).message }
    }
  }
}
