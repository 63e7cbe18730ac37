import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Scope } from './types.js'

/** The authenticated caller: a key of one tenant, with scopes, maybe limited to some directories. */
export interface Principal {
  tenantId: string
  keyId: string
  scopes: Scope[]
  /** null: every directory of the tenant. */
  directories: string[] | null
}

/** A new key secret: `rc_` and 32 random bytes in base64url (256 bits; no need for a slow hash). */
export const generateSecret = (): string => `rc_${randomBytes(32).toString('base64url')}`

/** Keys are stored only as this SHA-256 hash; high-entropy secrets make a slow KDF unnecessary. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex')

/** Constant-time comparison of two hex hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * The signature of a signed link: HMAC-SHA256 of its path and its sorted parameters (all but
 * `signature`), keyed with the signing key's stored hash. Revoking the key voids its links.
 */
export function linkSignature(keyHash: string, path: string, params: URLSearchParams): string {
  const sorted = [...params]
    .filter(([k]) => k !== 'signature')
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
  return createHmac('sha256', Buffer.from(`rollcall-link:${keyHash}`, 'utf8'))
    .update(`${path}\n${new URLSearchParams(sorted).toString()}`, 'utf8')
    .digest('hex')
}

/** `admin` implies `write` implies `read`. */
export function hasScope(p: Principal, needed: Scope): boolean {
  const rank: Record<Scope, number> = { read: 1, write: 2, admin: 3 }
  return p.scopes.some((s) => rank[s] >= rank[needed])
}

export const canSeeDirectory = (p: Principal, directoryId: string): boolean => p.directories === null || p.directories.includes(directoryId)
