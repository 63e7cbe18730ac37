import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { lookup as dnsLookup } from 'node:dns/promises'
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { RollcallError } from '../core/errors.js'
import type { Directory } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { Job } from '../core/jobs.js'
import { literalHostReason, nonPublicReason } from './webhook-target.js'
import { type DeadLetter, IMPORT_EVENTS, USER_EVENTS, type Webhook, type WebhookEvent, type WebhookState } from '../core/jobs.js'
import { viewJob } from '../core/job-view.js'

/** Resolves a host name to all its addresses (dns.lookup with `all: true` by default; tests swap it). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true })

/** What a webhook POST needs (src/jobs/webhook-dispatcher.ts has the retry policy). */
export interface WebhookOptions {
  /** Per attempt. */
  timeoutMs: number
  /** Send to loopback, private, link-local… addresses too (on-premises receivers); refused otherwise. */
  allowPrivate: boolean
  resolve?: Resolver
}

/** How a replay went: `reason` says why it failed. */
export interface ReplayOutcome {
  delivered: boolean
  reason?: string
}

/** A delivery that must not be retried: the target is not allowed. */
export class RefusedTarget extends Error {}

/**
 * One POST to a webhook URL, answered by its status, or thrown with the reason. The host is
 * resolved once per attempt, every address it resolves to is checked, and the connection goes to
 * those checked addresses (the lookup hands them to the socket itself), so a DNS answer that
 * changes between the check and the connection (rebinding) cannot slip a private address through.
 * Redirects are not followed.
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; allowPrivate: boolean; resolve?: Resolver; signal?: AbortSignal },
): Promise<number> {
  const target = new URL(url)
  if (!opts.allowPrivate) {
    const why = literalHostReason(target)
    if (why)
      return Promise.reject(
        new RefusedTarget(`${target.hostname} is ${why}, not a public address; set ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1 to allow it`),
      )
  }
  const resolve = opts.resolve ?? systemResolver
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname)
      .then((found) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0
        const addresses = found.filter((a) => family === 0 || a.family === family)
        if (addresses.length === 0) throw Object.assign(new Error(`${hostname} resolves to no address`), { code: 'ENOTFOUND' })
        if (!opts.allowPrivate) {
          for (const a of addresses) {
            const why = nonPublicReason(a.address)
            if (why)
              throw new RefusedTarget(
                `${hostname} resolves to ${a.address}, ${why}, not a public address; set ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1 to allow it`,
              )
          }
        }
        if (options.all) callback(null, addresses)
        else callback(null, addresses[0].address, addresses[0].family)
      })
      .catch((e: NodeJS.ErrnoException) => callback(e, '', 0))
  }
  const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname
  const options: RequestOptions = {
    method: 'POST',
    host,
    port: target.port || undefined,
    path: `${target.pathname}${target.search}`,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    // A fresh connection per attempt: each is looked up and checked again.
    agent: false,
    signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs),
    ...(isIP(host) ? {} : { lookup }),
    ...(target.username || target.password
      ? { auth: `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` }
      : {}),
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<number>((resolvePromise, reject) => {
    const req = send(options, (res: IncomingMessage) => {
      // The answer's body is not needed: read it off the wire (bounded by the timeout) and keep the status.
      res.on('error', reject)
      res.on('end', () => resolvePromise(res.statusCode ?? 0))
      res.on('close', () => reject(new Error(`the answer (${res.statusCode}) ended early`)))
      res.resume()
    })
    req.on('error', (e) => {
      if (e instanceof RefusedTarget) reject(e)
      else if (e.cause instanceof RefusedTarget) reject(e.cause)
      else if (e.name === 'AbortError') reject(new Error(`no answer within ${opts.timeoutMs} ms`))
      else reject(e)
    })
    req.end(body)
  }).then((status) => {
    if (status >= 300 && status < 400) throw new Error(`answered ${status}, a redirect; redirects are not followed`)
    return status
  })
}

/**
 * `Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`.
 * A receiver recomputes it, compares in constant time and refuses old timestamps (replays).
 */
export function sign(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`
}

/** What a webhook subscribes to and how, as a client asks for it. */
export interface WebhookRequest {
  url: string
  /** Event types; `import.*` and `user.*` name all of theirs. Default: the import.* events. */
  events?: string[]
  batchSize?: number
}

const ALL_EVENTS: readonly string[] = [...USER_EVENTS, ...IMPORT_EVENTS]

/** `user.*` and `import.*` spelled out; an unknown name is a 400 naming the known ones. */
function eventsOf(names: readonly string[] | undefined): WebhookEvent[] {
  if (names === undefined) return [...IMPORT_EVENTS]
  const out = new Set<WebhookEvent>()
  for (const n of names) {
    if (n === 'user.*') USER_EVENTS.forEach((e) => out.add(e))
    else if (n === 'import.*') IMPORT_EVENTS.forEach((e) => out.add(e))
    else if (ALL_EVENTS.includes(n)) out.add(n as WebhookEvent)
    else
      throw new RollcallError('validation_failed', `'${n}' is not an event`, {
        errors: [
          { field: 'events', code: 'invalid_value', message: `'${n}' is not an event: use ${ALL_EVENTS.join(', ')}, user.* or import.*` },
        ],
      })
  }
  if (out.size === 0)
    throw new RollcallError('validation_failed', 'events is empty', {
      errors: [{ field: 'events', code: 'invalid_value', message: 'name at least one event' }],
    })
  return ALL_EVENTS.filter((e) => out.has(e as WebhookEvent)) as WebhookEvent[]
}

export function createWebhookService(store: Store, opts: WebhookOptions & { onQueued?: () => void }) {
  return {
    /**
     * Registers a webhook. It hears what happens from now on: its user.* events start after the
     * newest change record the feed hands out now, its import.* events after the newest queued.
     */
    async create(dir: Directory, req: WebhookRequest): Promise<Webhook> {
      const { url } = req
      let parsed: URL
      try {
        parsed = new URL(url)
      } catch {
        throw new RollcallError('validation_failed', 'url must be an absolute http(s) URL', {
          errors: [{ field: 'url', code: 'invalid_format', message: 'must be an absolute http(s) URL' }],
        })
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new RollcallError('validation_failed', 'url must use http or https', {
          errors: [{ field: 'url', code: 'invalid_format', message: 'must use http or https' }],
        })
      const why = opts.allowPrivate ? null : literalHostReason(parsed)
      if (why) {
        const message = `must reach a public address, and ${parsed.hostname} is ${why}; webhooks may reach private networks only if the server sets ROLLCALL_WEBHOOK_ALLOW_PRIVATE=1`
        throw new RollcallError('validation_failed', `url ${message}`, { errors: [{ field: 'url', code: 'invalid_value', message }] })
      }
      const hook: Webhook = {
        id: randomUUID(),
        directoryId: dir.id,
        url: parsed.toString(),
        secret: `whsec_${randomBytes(24).toString('base64url')}`,
        createdAt: new Date().toISOString(),
        events: eventsOf(req.events),
        batchSize: req.batchSize ?? 100,
      }
      const [feed, importSeq] = await Promise.all([store.feedHead(dir.id), store.webhooks.lastEventSeq(dir.id)])
      await store.webhooks.add(hook, { feed, importSeq })
      return hook
    },
    list: (dir: Directory): Promise<WebhookState[]> => store.webhooks.list(dir.id),
    async get(dir: Directory, id: string): Promise<WebhookState> {
      const hook = await store.webhooks.get(dir.id, id)
      if (!hook) throw new RollcallError('not_found', `No webhook '${id}' in this directory`)
      return hook
    },
    async remove(dir: Directory, id: string): Promise<void> {
      if (!(await store.webhooks.delete(dir.id, id))) throw new RollcallError('not_found', `No webhook '${id}' in this directory`)
    },

    /** A webhook's dead letters, newest first. */
    async deadLetters(dir: Directory, id: string, limit: number): Promise<DeadLetter[]> {
      await this.get(dir, id)
      return store.webhooks.deadLetters(id, limit)
    },

    /** Sends a dead letter again, once, now (signed afresh); says how it went. */
    async replay(dir: Directory, id: string, letterId: string): Promise<ReplayOutcome> {
      const hook = await this.get(dir, id)
      const letter = await store.webhooks.deadLetter(id, letterId)
      if (!letter) throw new RollcallError('not_found', `No dead letter '${letterId}' of this webhook`)
      try {
        const headers = {
          'content-type': 'application/json',
          'rollcall-event': letter.event,
          'rollcall-signature': sign(hook.secret, letter.body),
        }
        const status = await postOnce(hook.url, headers, letter.body, opts)
        if (status >= 200 && status < 300) {
          await store.webhooks.markReplayed(letter.id, new Date().toISOString())
          return { delivered: true }
        }
        return { delivered: false, reason: `answered ${status}` }
      } catch (e) {
        return { delivered: false, reason: (e as Error).message }
      }
    },

    /**
     * Queues a job's import.* event (it ended, or waits for a confirmation) for the directory's
     * webhooks: it is stored first, so a restart does not lose it, then delivered by the dispatcher.
     */
    async notifyFinished(job: Job): Promise<void> {
      const queued = await store.webhooks.addEvent({
        id: randomUUID(),
        directoryId: job.directoryId,
        event: `import.${job.state}`,
        payload: { import: viewJob(job) },
        createdAt: new Date().toISOString(),
      })
      if (queued) opts.onQueued?.()
    },
  }
}

export type WebhookService = ReturnType<typeof createWebhookService>
