import type { AbsentSummary as CoreAbsentSummary } from '../../src/core/jobs'
import { getKey, signOut } from './session'

/** RFC 9457 problem details, as every Rollcall error is sent. */
export interface Problem {
  type?: string
  title?: string
  status: number
  detail: string
  code?: string
  instance?: string
  errors?: { field: string; code: string; message: string }[]
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem
  constructor(problem: Problem) {
    super(problem.detail)
    this.status = problem.status
    this.problem = problem
  }
}

export interface Directory {
  id: string
  number: number
  externalId: string | null
  name: string
  createdAt: string
  updatedAt: string
}

export interface User {
  id: string
  directoryId: string
  externalId: string | null
  email: string | null
  emailVerifiedAt: string | null
  phone: string | null
  username: string | null
  firstName: string | null
  lastName: string | null
  displayName: string | null
  avatarUrl: string | null
  country: string | null
  locale: string | null
  active: boolean
  createdAt: string
  updatedAt: string
  lastLoginAt: string | null
  loginCount: number
  version: number
  metadata: Record<string, unknown>
  fields: Record<string, unknown>
}

export interface Change {
  seq: number
  userId: string
  action: 'create' | 'update' | 'delete'
  at: string
  channel: string
  keyId: string | null
  requestId: string | null
  jobId: string | null
  changes: Record<string, [unknown, unknown]>
}

export interface Field {
  key: string
  label: string
  type: string
  required: boolean
  unique: boolean
  maxLength: number | null
  pattern: string | null
  enumValues: string[] | null
  builtIn: boolean
}

export interface ApiKey {
  id: string
  name: string
  scopes: string[]
  directories: string[] | null
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
}

export interface Group {
  id: string
  kind: string
  name: string
  externalId: string | null
  createdAt: string
  updatedAt: string
}

export interface Webhook {
  id: string
  url: string
  createdAt: string
}

export interface ImportCounts {
  total: number | null
  processed: number
  created: number
  updated: number
  unchanged: number
  failed: number
  conflicts: number
}

// A mirror import's absent phase, as the job shows it (the server's own type, less its internal cursor).
export type { AbsentUserRef } from '../../src/core/jobs'
export type AbsentSummary = Omit<CoreAbsentSummary, 'afterSeq'>

export interface ImportJob {
  id: string
  directoryId: string
  kind: 'import' | 'apply'
  state: string
  format: string
  options: { mode: string; match: string[]; dryRun: boolean; atomic: boolean; maxErrors: number | null; [k: string]: unknown }
  sourceJobId: string | null
  counts: ImportCounts
  rowsPerSecond: number | null
  etaSeconds: number | null
  inputBytes: number
  revert: { users: number; restored: number; deleted: number; conflicts: number } | null
  /** Mirror imports (absent=deactivate|delete), once the input is in: the users no row named, and what was done to them. */
  absent: AbsentSummary | null
  error: string | null
  keyId: string | null
  requestId: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export interface Page<T> {
  data: T[]
  nextCursor: string | null
}

/** The problem+json of a failed answer, or one made up when the body is not one (a proxy's HTML page). */
export async function problemOf(res: Response): Promise<Problem> {
  return problemFromText(await res.text(), res.status, res.statusText)
}

export function problemFromText(text: string, status: number, statusText = ''): Problem {
  try {
    const body = JSON.parse(text) as Partial<Problem>
    if (typeof body.detail === 'string') return { ...body, status, detail: body.detail }
  } catch {
    // not JSON: fall through
  }
  return { status, detail: `The server answered ${status} ${statusText}`.trim() }
}

/** The headers of every call: the signed-in key, and the console's channel for history. */
export function apiHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const key = getKey()
  return { 'rollcall-channel': 'console', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra }
}

/** A failed answer as an ApiError (a 401 also signs out). */
export function failure(problem: Problem): ApiError {
  if (problem.status === 401) signOut(problem.detail)
  return new ApiError(problem)
}

/** A raw call of the native API (streams, CSV, NDJSON): the Response when it is ok, else an ApiError. */
export async function apiFetch(path: string, init: { accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
  let res: Response
  try {
    res = await fetch(`/api/v1${path}`, { headers: apiHeaders({ accept: init.accept ?? '*/*' }), signal: init.signal })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError({ status: 0, detail: `The server could not be reached (${e instanceof Error ? e.message : String(e)})` })
  }
  if (!res.ok) throw failure(await problemOf(res))
  return res
}

/**
 * One call of the native API with the signed-in key. Errors throw ApiError with the server's
 * detail; a 401 also signs out (the sign-in screen shows why).
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { key?: string; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<T> {
  const key = opts.key ?? getKey()
  const headers: Record<string, string> = { accept: 'application/json', 'rollcall-channel': 'console', ...opts.headers }
  if (key) headers.authorization = `Bearer ${key}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError({ status: 0, detail: `The server could not be reached (${e instanceof Error ? e.message : String(e)})` })
  }
  if (!res.ok) {
    const problem = await problemOf(res)
    if (res.status === 401 && !opts.key) signOut(problem.detail)
    throw new ApiError(problem)
  }
  if (res.status === 204) return undefined as T
  return (await res.json()) as T
}

export const enc = encodeURIComponent
