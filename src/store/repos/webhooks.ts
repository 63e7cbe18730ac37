import { type Kysely, type Selectable, sql } from 'kysely'
import {
  type DeadLetter,
  IMPORT_EVENTS,
  type ImportEventRecord,
  type Webhook,
  type WebhookEvent,
  type WebhookState,
} from '../../core/jobs.js'
import type { FeedPosition } from '../../core/types.js'
import { int } from '../codec.js'
import type { DB, WebhookDeadLettersTable, WebhooksTable } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'

/** What a delivery changes of a webhook's state (only while `owner` holds its lease). */
export interface WebhookProgress {
  feed?: FeedPosition | null
  importSeq?: number
  failures: number
  failingSince: string | null
  nextAttemptAt: string | null
  lastError: string | null
  lastDeliveredAt?: string
}

/** URLs told of a directory's events, their delivery state, the import.* outbox and the dead letters. */
export type WebhooksRepo = ReturnType<typeof webhooksRepo>

export function webhooksRepo(db: Kysely<DB>, d: StoreDialect) {
  const c = d.codec
  const fromRow = (x: Selectable<WebhooksTable>): WebhookState => ({
    id: x.id,
    directoryId: x.directory_id,
    url: x.url,
    secret: x.secret,
    createdAt: x.created_at,
    // Made before event types existed: the import.* events, as then.
    events: x.events == null ? [...IMPORT_EVENTS] : c.readJson<WebhookEvent[]>(x.events),
    batchSize: x.batch_size,
    feed: x.feed_seq == null ? null : { txid: x.feed_txid ?? '0', seq: int(x.feed_seq) },
    importSeq: int(x.import_seq),
    failures: x.failures,
    failingSince: x.failing_since,
    nextAttemptAt: x.next_attempt_at,
    lastError: x.last_error,
    lastDeliveredAt: x.last_delivered_at,
  })

  const letterOf = (x: Selectable<WebhookDeadLettersTable>): DeadLetter => ({
    id: x.id,
    webhookId: x.webhook_id,
    event: x.event,
    events: x.events,
    body: x.body,
    error: x.error,
    attempts: x.attempts,
    createdAt: x.created_at,
    replayedAt: x.replayed_at,
  })

  return {
    /**
     * A new webhook (by default: the import.* events, 100 user events a POST), starting after
     * `feed` and after the import event `importSeq`: what happened before it is not sent.
     */
    async add(
      w: Omit<Webhook, 'events' | 'batchSize'> & Partial<Pick<Webhook, 'events' | 'batchSize'>>,
      start: { feed: FeedPosition | null; importSeq: number } = { feed: null, importSeq: 0 },
    ): Promise<void> {
      await db
        .insertInto('webhooks')
        .values({
          id: w.id,
          directory_id: w.directoryId,
          url: w.url,
          secret: w.secret,
          created_at: w.createdAt,
          events: c.writeJson(w.events ?? [...IMPORT_EVENTS]),
          batch_size: w.batchSize ?? 100,
          feed_txid: start.feed?.txid ?? null,
          feed_seq: start.feed?.seq ?? null,
          import_seq: start.importSeq,
        })
        .execute()
    },

    async list(directoryId: string): Promise<WebhookState[]> {
      const rows = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('directory_id', '=', directoryId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(fromRow)
    },

    async get(directoryId: string, id: string): Promise<WebhookState | null> {
      const r = await db.selectFrom('webhooks').selectAll().where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return r ? fromRow(r) : null
    },

    async delete(directoryId: string, id: string): Promise<boolean> {
      const r = await db.deleteFrom('webhooks').where('directory_id', '=', directoryId).where('id', '=', id).executeTakeFirst()
      return Number(r.numDeletedRows) === 1
    },

    /**
     * Leases up to `limit` webhooks that are due (no attempt scheduled later) and not leased by
     * anyone else, for `owner`: one process at a time delivers to a webhook, so its events go in order.
     */
    async leaseDue(owner: string, leaseMs: number, limit: number): Promise<WebhookState[]> {
      const now = new Date().toISOString()
      const until = new Date(Date.now() + leaseMs).toISOString()
      const due = await db
        .selectFrom('webhooks')
        .select('id')
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute()
      const out: WebhookState[] = []
      for (const { id } of due) {
        const r = await db
          .updateTable('webhooks')
          .set({ lease_owner: owner, lease_until: until })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<', now)]))
          .returningAll()
          .executeTakeFirst()
        if (r) out.push(fromRow(r))
      }
      return out
    },

    /** When the next webhook is due (null: none waits for a later attempt). */
    async nextDue(): Promise<string | null> {
      const r = await db
        .selectFrom('webhooks')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .executeTakeFirst()
      return (r?.at as string | null | undefined) ?? null
    },

    /** Records a delivery's outcome; false when `owner` lost the lease (another process delivers now). */
    async progress(id: string, owner: string, p: WebhookProgress): Promise<boolean> {
      const r = await db
        .updateTable('webhooks')
        .set({
          ...(p.feed !== undefined && { feed_txid: p.feed?.txid ?? null, feed_seq: p.feed?.seq ?? null }),
          ...(p.importSeq !== undefined && { import_seq: p.importSeq }),
          failures: p.failures,
          failing_since: p.failingSince,
          next_attempt_at: p.nextAttemptAt,
          last_error: p.lastError,
          ...(p.lastDeliveredAt !== undefined && { last_delivered_at: p.lastDeliveredAt }),
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },

    async release(id: string, owner: string): Promise<void> {
      await db
        .updateTable('webhooks')
        .set({ lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .execute()
    },

    /** Puts an import.* event in the outbox (nothing when the directory has no webhook). */
    async addEvent(e: Omit<ImportEventRecord, 'seq'>): Promise<boolean> {
      const any = await db.selectFrom('webhooks').select('id').where('directory_id', '=', e.directoryId).limit(1).executeTakeFirst()
      if (!any) return false
      await db
        .insertInto('webhook_events')
        .values({ id: e.id, directory_id: e.directoryId, event: e.event, payload: c.writeJson(e.payload), created_at: e.createdAt })
        .execute()
      return true
    },

    /** The directory's import.* events after `afterSeq`, oldest first. */
    async events(directoryId: string, afterSeq: number, limit: number): Promise<ImportEventRecord[]> {
      const rows = await db
        .selectFrom('webhook_events')
        .selectAll()
        .where('directory_id', '=', directoryId)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map((x) => ({
        seq: int(x.seq),
        id: x.id,
        directoryId: x.directory_id,
        event: x.event,
        payload: c.readJson<unknown>(x.payload),
        createdAt: x.created_at,
      }))
    },

    /** The newest import.* event's sequence number of the directory (0: none). */
    async lastEventSeq(directoryId: string): Promise<number> {
      const r = await db
        .selectFrom('webhook_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('directory_id', '=', directoryId)
        .executeTakeFirst()
      return r?.seq == null ? 0 : int(r.seq as string | number)
    },

    async addDeadLetter(x: DeadLetter): Promise<void> {
      await db
        .insertInto('webhook_dead_letters')
        .values({
          id: x.id,
          webhook_id: x.webhookId,
          event: x.event,
          events: x.events,
          body: x.body,
          error: x.error,
          attempts: x.attempts,
          created_at: x.createdAt,
          replayed_at: x.replayedAt,
        })
        .execute()
    },

    /** A webhook's dead letters, newest first. */
    async deadLetters(webhookId: string, limit: number): Promise<DeadLetter[]> {
      const rows = await db
        .selectFrom('webhook_dead_letters')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
      return rows.map(letterOf)
    },

    async deadLetter(webhookId: string, id: string): Promise<DeadLetter | null> {
      const x = await db
        .selectFrom('webhook_dead_letters')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .where('id', '=', id)
        .executeTakeFirst()
      return x ? letterOf(x) : null
    },

    async markReplayed(id: string, at: string): Promise<void> {
      await db.updateTable('webhook_dead_letters').set({ replayed_at: at }).where('id', '=', id).execute()
    },

    /** Import events every webhook of their directory that hears import events has had, older than `before` (retention). */
    async purgeEvents(before: string): Promise<number> {
      const r = await sql`DELETE FROM webhook_events WHERE created_at < ${before}
        AND seq <= COALESCE((SELECT MIN(import_seq) FROM webhooks w WHERE w.directory_id = webhook_events.directory_id
          AND (w.events IS NULL OR CAST(w.events AS TEXT) LIKE '%"import.%')), seq)`.execute(db)
      return Number(r.numAffectedRows ?? 0)
    },
  }
}
