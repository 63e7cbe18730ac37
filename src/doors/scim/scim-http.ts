import type { FastifyReply, FastifyRequest } from 'fastify'
import { MAX_OFFSET } from '../../core/input-guard.js'
import type { ChangeContext, Directory, Json, JsonObject } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { singleDirectoryOf } from '../door-auth.js'
import { resourceSchemas, type ResourceSchemas } from './scim-attributes.js'
import { LIMITS, SCIM_MEDIA_TYPE, URN } from './scim-constants.js'
import { ScimError, scimError } from './scim-errors.js'
import { buildSchemas, type ScimSchemas } from './scim-schema.js'

/** Everything one SCIM request works with: its directory, that directory's schemas, and who is writing. */
export interface ScimScope {
  services: Services
  dir: Directory
  schemas: ScimSchemas
  users: ResourceSchemas
  groups: ResourceSchemas
  /** Absolute base URL of the door (`https://host/scim/v2`), for `meta.location` and `$ref`. */
  base: string
  context: ChangeContext
}

/**
 * The base URL a client reached: X-Forwarded-Proto/Host when a proxy set them (Rollcall listens
 * on loopback behind one), else the connection's own. Only used to render URLs back to the
 * same client, so a forged header can only mislead its sender.
 */
export function baseUrl(req: FastifyRequest, prefix: string): string {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h)?.split(',')[0].trim()
  const proto = first(req.headers['x-forwarded-proto']) || req.protocol || 'http'
  const host = first(req.headers['x-forwarded-host']) || req.host || 'localhost'
  return `${proto}://${host}${prefix}`
}

/**
 * The request's scope. SCIM has no directory in its URLs, so the key names it: a key limited to
 * exactly one directory (an unlimited key would leave the directory ambiguous).
 */
export async function scopeOf(services: Services, req: FastifyRequest, prefix: string): Promise<ScimScope> {
  const p = req.principal
  if (!p) throw new ScimError(401, 'Send a Rollcall API key as "Authorization: Bearer <key>"')
  const dir = await singleDirectoryOf(services, p)
  if (!dir)
    throw new ScimError(
      403,
      'A SCIM key must be limited to exactly one directory: create one with `rollcall keys create --directory <dir> --scopes write`',
    )
  const schemas = buildSchemas(await services.directories.fields(dir))
  return {
    services,
    dir,
    schemas,
    users: resourceSchemas(schemas, 'User'),
    groups: resourceSchemas(schemas, 'Group'),
    base: baseUrl(req, prefix),
    context: { channel: 'scim', keyId: p.keyId, requestId: String(req.id), jobId: null },
  }
}

/** Sends a SCIM body as application/scim+json. */
export function send(reply: FastifyReply, status: number, body: Json | undefined, headers: Record<string, string> = {}): FastifyReply {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v)
  if (body === undefined) return reply.code(status).send()
  return reply.code(status).type(`${SCIM_MEDIA_TYPE}; charset=utf-8`).send(JSON.stringify(body))
}

/** A query parameter by name, case-insensitively (clients send `startindex`, `Filter`). */
export function param(query: unknown, name: string): string | undefined {
  if (!query || typeof query !== 'object') return undefined
  const lower = name.toLowerCase()
  const key = Object.keys(query).find((k) => k.toLowerCase() === lower)
  const v = key === undefined ? undefined : (query as Record<string, unknown>)[key]
  return Array.isArray(v) ? (v[0] as string | undefined) : (v as string | undefined)
}

/** `startIndex` (1-based, below 1 means 1) and `count` (capped at maxResults, below 0 means 0): RFC 7644 §3.4.2.4. */
export function pageOf(startIndex: unknown, count: unknown): { startIndex: number; count: number } {
  const int = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null || v === '') return undefined
    const n = typeof v === 'number' ? v : Number(v)
    if (!Number.isInteger(n)) throw scimError.invalidValue(`${name} must be an integer, got ${JSON.stringify(v)}`)
    // count is capped at maxResults below (RFC 7644); a startIndex beyond MAX_OFFSET is refused.
    if (name === 'startIndex' && n > MAX_OFFSET)
      throw scimError.invalidValue(`startIndex must be at most ${MAX_OFFSET}, got ${JSON.stringify(v)}`)
    return n
  }
  const s = int(startIndex, 'startIndex') ?? 1
  const c = int(count, 'count') ?? LIMITS.defaultCount
  return { startIndex: Math.max(1, s), count: Math.min(Math.max(0, c), LIMITS.maxResults) }
}

export function listResponse(resources: JsonObject[], total: number, startIndex: number): JsonObject {
  return { schemas: [URN.listResponse], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources }
}

/**
 * Whether an If-Match / If-None-Match header names this ETag. Weak comparison (RFC 9110 §8.8.3.2):
 * `W/"3"` and `"3"` both match version 3; `*` matches anything.
 */
export function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '')
  const tags = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
  return tags.some((t) => t === '*' || strip(t) === strip(etag))
}

/** Refuses a write whose If-Match names another version: 412, nothing written. */
export function checkIfMatch(header: string | undefined, etag: string): void {
  if (header !== undefined && !etagMatches(header, etag))
    throw scimError.preconditionFailed(`The resource is at version ${etag}, not ${header}: read it again and retry`)
}

/** `W/"3"` → 3 (the version a user write must find), or undefined when it names no version. */
export function versionOf(header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const m = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header)
  return m ? Number(m[1]) : undefined
}

export const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name]
  return Array.isArray(v) ? v.join(', ') : v
}
