import type { Kysely } from 'kysely'
import type { DB } from '../db-types.js'
import type { StoreDialect } from '../dialect.js'
import type { IdempotencyRecord } from '../store.js'

/** Idempotency-Key records, scoped by the API key that made the request. */
export function idempotencyRepo(db: Kysely<DB>, d: StoreDialect) {
  return {
    /** Claims a key: null when newly claimed, else the existing record (one made before `expiredBefore` is replaced). */
    async claim(rec: IdempotencyRecord, expiredBefore?: string): Promise<IdempotencyRecord | null> {
      if (expiredBefore !== undefined)
        await db
          .deleteFrom('idempotency_keys')
          .where('api_key_id', '=', rec.apiKeyId)
          .where('key', '=', rec.key)
          .where('created_at', '<', expiredBefore)
          .execute()
      const r = await db
        .insertInto('idempotency_keys')
        .values({
          api_key_id: rec.apiKeyId,
          tenant_id: rec.tenantId,
          key: rec.key,
          fingerprint: rec.fingerprint,
          state: 'pending',
          status: null,
          content_type: null,
          headers: null,
          body: null,
          created_at: rec.createdAt,
        })
        .onConflict((oc) => oc.columns(['api_key_id', 'key']).doNothing())
        .executeTakeFirst()
      if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) return null
      const e = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('api_key_id', '=', rec.apiKeyId)
        .where('key', '=', rec.key)
        .executeTakeFirstOrThrow()
      return {
        apiKeyId: e.api_key_id,
        tenantId: e.tenant_id,
        key: e.key,
        fingerprint: e.fingerprint,
        state: e.state,
        status: e.status,
        contentType: e.content_type,
        headers: e.headers == null ? null : d.codec.readJson<Record<string, string>>(e.headers),
        body: e.body,
        createdAt: e.created_at,
      }
    },

    async complete(
      apiKeyId: string,
      key: string,
      res: { status: number; contentType: string; headers: Record<string, string>; body: string },
    ): Promise<void> {
      await db
        .updateTable('idempotency_keys')
        .set({ state: 'done', status: res.status, content_type: res.contentType, headers: d.codec.writeJson(res.headers), body: res.body })
        .where('api_key_id', '=', apiKeyId)
        .where('key', '=', key)
        .execute()
    },

    async release(apiKeyId: string, key: string): Promise<void> {
      await db.deleteFrom('idempotency_keys').where('api_key_id', '=', apiKeyId).where('key', '=', key).execute()
    },
  }
}
