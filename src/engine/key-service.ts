import { errors, RollcallError } from '../core/errors.js'
import { generateSecret, hashesEqual, hashSecret, hasScope, linkSignature, type Principal } from '../core/keys.js'
import type { ApiKey, Scope } from '../core/types.js'
import type { Store } from '../store/store.js'

export interface CreatedKey {
  key: ApiKey
  /** Shown once; only its hash is stored. */
  secret: string
}

/** A key is within a caller's reach when the caller is unlimited, or the key is limited to a subset of the caller's directories. */
function visibleTo(key: ApiKey, by?: Principal): boolean {
  if (!by || by.directories === null) return true
  const mine = by.directories
  return key.directories !== null && key.directories.every((d) => mine.includes(d))
}

/** The longest a signed link may live. */
export const MAX_LINK_SECONDS = 3600

export interface SignedLink {
  /** The path and query to GET, signed: no Authorization header is needed for it. */
  url: string
  expiresAt: string
}

export function createKeyService(
  store: Pick<
    Store,
    'createKey' | 'findKeyByHash' | 'findKeyById' | 'listKeys' | 'revokeKey' | 'touchKey' | 'getDirectory' | 'ensureTenant'
  >,
) {
  /** Minutes between `lastUsedAt` updates of one key: a write per request would be wasted. */
  const TOUCH_EVERY_MS = 60_000
  const touched = new Map<string, number>()

  return {
    /** The principal for a presented secret, or null. The secret itself is never stored or logged. */
    async authenticate(secret: string): Promise<Principal | null> {
      const hash = hashSecret(secret)
      const key = await store.findKeyByHash(hash)
      if (!key || !hashesEqual(key.hash, hash) || key.revokedAt) return null
      const now = Date.now()
      if ((touched.get(key.id) ?? 0) < now - TOUCH_EVERY_MS) {
        touched.set(key.id, now)
        await store.touchKey(key.id, new Date(now).toISOString())
      }
      return { tenantId: key.tenantId, keyId: key.id, scopes: key.scopes, directories: key.directories }
    },

    /**
     * A link to GET `path` with `params` as this principal, valid for `seconds`: the key's id and
     * the expiry join the parameters, and a signature keyed with the key's stored hash covers all.
     */
    async signLink(by: Principal, path: string, params: URLSearchParams, seconds: number): Promise<SignedLink> {
      const key = await store.findKeyById(by.keyId)
      if (!key || key.revokedAt) throw new RollcallError('unauthorized', 'The API key is unknown or revoked')
      const expires = Math.floor(Date.now() / 1000) + Math.min(Math.max(1, Math.floor(seconds)), MAX_LINK_SECONDS)
      const signed = new URLSearchParams(params)
      signed.set('keyId', key.id)
      signed.set('expires', String(expires))
      signed.set('signature', linkSignature(key.hash, path, signed))
      return { url: `${path}?${signed.toString()}`, expiresAt: new Date(expires * 1000).toISOString() }
    },

    /** The principal of a signed link (the request's path and query), or why it is refused. */
    async authenticateLink(path: string, params: URLSearchParams): Promise<Principal> {
      const keyId = params.get('keyId')
      const expires = Number(params.get('expires'))
      const signature = params.get('signature') ?? ''
      if (!keyId || !Number.isSafeInteger(expires) || !/^[0-9a-f]{64}$/.test(signature))
        throw new RollcallError('unauthorized', 'A signed link needs its keyId, expires and signature parameters, unchanged')
      const now = Date.now() / 1000
      if (expires < now) throw new RollcallError('unauthorized', 'This signed link has expired; ask for a new one')
      const key = await store.findKeyById(keyId)
      // The same answer whether the key is unknown or the signature wrong: a link reveals nothing.
      if (!key || !hashesEqual(linkSignature(key.hash, path, params), signature) || expires > now + MAX_LINK_SECONDS + 60)
        throw new RollcallError('unauthorized', 'The signed link is not valid (changed, or signed by another key)')
      if (key.revokedAt) throw new RollcallError('unauthorized', 'The API key that signed this link is revoked')
      return { tenantId: key.tenantId, keyId: key.id, scopes: key.scopes, directories: key.directories }
    },

    /**
     * Creates a key. Called by a principal (over HTTP) it may grant at most what the principal
     * has: a directory-limited admin can only create keys limited to its own directories.
     */
    async create(
      tenantId: string,
      input: { name: string; scopes: Scope[]; directories?: string[] | null; secret?: string },
      by?: Principal,
    ): Promise<CreatedKey> {
      const scopes = [...new Set(input.scopes)]
      if (scopes.length === 0) throw errors.badRequest('a key needs at least one scope', 'scopes')
      let directories: string[] | null = null
      if (input.directories != null) {
        directories = []
        for (const ref of input.directories) {
          const dir = await store.getDirectory(tenantId, ref)
          if (!dir || (by && by.directories && !by.directories.includes(dir.id))) throw errors.directoryNotFound(ref)
          directories.push(dir.id)
        }
      }
      if (by) {
        if (by.directories && directories === null)
          throw new RollcallError('forbidden', 'A key limited to some directories can only create keys limited to those directories')
        for (const s of scopes)
          if (!hasScope(by, s)) throw new RollcallError('forbidden', `Cannot grant scope '${s}' this key does not have`)
      }
      const secret = input.secret ?? generateSecret()
      const key = await store.createKey({ tenantId, name: input.name, hash: hashSecret(secret), scopes, directories })
      return { key, secret }
    },

    /** Makes sure `secret` is an admin key of the tenant (ROLLCALL_ADMIN_KEY at start). */
    async ensureKey(tenantName: string, name: string, secret: string): Promise<ApiKey> {
      const tenant = await store.ensureTenant(tenantName)
      const existing = await store.findKeyByHash(hashSecret(secret))
      if (existing?.revokedAt) throw new RollcallError('forbidden', `The key given as ${name} was revoked; set a new one`)
      if (existing) {
        const { hash: _h, ...key } = existing
        return key
      }
      return (await this.create(tenant.id, { name, scopes: ['admin'], secret })).key
    },

    /** The tenant's keys; a directory-limited caller sees only keys limited to its own directories. */
    async list(tenantId: string, by?: Principal): Promise<ApiKey[]> {
      return (await store.listKeys(tenantId)).filter((k) => visibleTo(k, by))
    },

    async revoke(tenantId: string, id: string, by?: Principal): Promise<void> {
      const key = (await store.listKeys(tenantId)).find((k) => k.id === id)
      if (!key || !visibleTo(key, by)) throw errors.keyNotFound(id)
      if (!(await store.revokeKey(tenantId, id, new Date().toISOString()))) throw errors.keyNotFound(id)
    },
  }
}

export type KeyService = ReturnType<typeof createKeyService>
