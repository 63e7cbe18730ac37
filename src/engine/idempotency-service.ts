import type { IdempotencyRecord, Store } from '../store/store.js'

/**
 * Stored answers of requests sent with an `Idempotency-Key`, per API key (see http/idempotency.ts),
 * for `ttlHours`: a record older than that is gone (retention deletes it), so the key makes a new request.
 */
export function createIdempotencyService(
  store: Pick<Store, 'claimIdempotencyKey' | 'completeIdempotencyKey' | 'releaseIdempotencyKey'>,
  ttlHours: number,
) {
  return {
    /** Claims the key for a request: null when it is new (or its record expired), else the record of the first request. */
    claim: (rec: IdempotencyRecord) =>
      store.claimIdempotencyKey(rec, new Date(Date.parse(rec.createdAt) - ttlHours * 3_600_000).toISOString()),
    /** Stores the answer to replay. */
    complete: (
      apiKeyId: string,
      key: string,
      res: { status: number; contentType: string; headers: Record<string, string>; body: string },
    ) => store.completeIdempotencyKey(apiKeyId, key, res),
    /** Forgets the key: the request had no answer worth replaying (a 5xx, a 408). */
    release: (apiKeyId: string, key: string) => store.releaseIdempotencyKey(apiKeyId, key),
  }
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>
