import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { RollcallError } from '../core/errors.js'
import type { Directory } from '../core/types.js'
import type { Webhook } from '../store/job-store.js'
import type { Store } from '../store/store.js'
import { viewJob } from './job-service.js'
import type { Job } from './types.js'

export interface WebhookOptions {
  /** First retry delay; each next one doubles (1 s, 2 s, 4 s, 8 s, 16 s). */
  backoffMs: number
  /** Attempts per delivery, the first included. */
  attempts: number
  /** Per attempt. */
  timeoutMs: number
  log?: Pick<Logger, 'warn' | 'info'>
}

/**
 * `Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`.
 * A receiver recomputes it, compares in constant time and refuses old timestamps (replays).
 */
export function sign(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`
}

export function createWebhookService(store: Store, opts: WebhookOptions) {
  async function deliver(hook: Webhook, event: string, payload: unknown): Promise<boolean> {
    const body = JSON.stringify({ event, deliveryId: randomUUID(), ...(payload as object) })
    for (let attempt = 1; attempt <= opts.attempts; attempt++) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'rollcall-event': event, 'rollcall-signature': sign(hook.secret, body) },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
        })
        await res.arrayBuffer().catch(() => undefined)
        if (res.ok) return true
        opts.log?.warn({ webhook: hook.id, status: res.status, attempt }, 'webhook answered an error')
      } catch (e) {
        opts.log?.warn({ webhook: hook.id, attempt, err: (e as Error).message }, 'webhook delivery failed')
      }
      if (attempt < opts.attempts) await new Promise((r) => setTimeout(r, opts.backoffMs * 2 ** (attempt - 1)))
    }
    return false
  }

  return {
    async create(dir: Directory, url: string): Promise<Webhook> {
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new RollcallError('validation_failed', 'url must be an absolute http(s) URL', { errors: [{ field: 'url', code: 'invalid_format', message: 'must be an absolute http(s) URL' }] })
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new RollcallError('validation_failed', 'url must use http or https', { errors: [{ field: 'url', code: 'invalid_format', message: 'must use http or https' }] })
      const hook: Webhook = { id: randomUUID(), directoryId: dir.id, url: parsed.toString(), secret: `whsec_${randomBytes(24).toString('base64url')}`, createdAt: new Date().toISOString() }
      await store.jobs.addWebhook(hook)
      return hook
    },
    list: (dir: Directory) => store.jobs.listWebhooks(dir.id),
    async remove(dir: Directory, id: string): Promise<void> {
      if (!(await store.jobs.deleteWebhook(dir.id, id))) throw new RollcallError('not_found', `No webhook '${id}' in this directory`)
    },

    /**
     * Posts a finished job's summary to each of its directory's webhooks, retried with backoff.
     * Deliveries run in the background and are not durable: a restart drops the retries in flight.
     */
    notifyFinished(job: Job): Promise<boolean[]> {
      return store.jobs.listWebhooks(job.directoryId).then((hooks) => Promise.all(hooks.map((h) => deliver(h, `import.${job.state}`, { import: viewJob(job) }))))
    },
  }
}

export type WebhookService = ReturnType<typeof createWebhookService>
