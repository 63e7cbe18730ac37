import type { FieldError } from './errors.js'

/**
 * Checks of client data that JSON Schema cannot express: values that would be stored as
 * something other than what the client sent, and shapes that would crash a walker. Every walk
 * here is iterative (an explicit stack), so no input can overflow the call stack.
 */

/**
 * How deep a JSON value may nest (objects and arrays), counted from the body or row itself.
 * Why 64: real user data nests a handful of levels (metadata rarely beyond 5); recursive code
 * downstream (merge patch, equality, JSON.stringify, the engines' JSON functions) stays far from
 * any stack limit; and an attacker cannot make the server spend its stack on one request.
 */
export const MAX_JSON_DEPTH = 64

/** At most this many problems are reported for one value: enough to fix it, not a flood. */
const MAX_PROBLEMS = 20

/** Object keys that name the prototype in JavaScript: never a key of stored data. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__'])

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export const hasControlChar = (s: string): boolean => CONTROL.test(s)
/** A quick first look: text without NUL or any surrogate (almost all text) needs no closer one. */
// eslint-disable-next-line no-control-regex
const SUSPECT = /[\u0000\uD800-\uDFFF]/
const wellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed
/** Node 20 has String.prototype.isWellFormed (native, fast); the regex is the fallback. */
export const hasLoneSurrogate: (s: string) => boolean = wellFormed ? (s) => !wellFormed.call(s) : (s) => LONE_SURROGATE.test(s)

/** A key as it appears in a path: printable, so a message names it visibly (`role\n`). */
export function showKey(k: string): string {
  if (!hasControlChar(k) && !hasLoneSurrogate(k)) return k
  // JSON escapes control characters and lone surrogates (and quotes); drop its surrounding quotes.
  return JSON.stringify(k)
    .slice(1, -1)
    .replace(/\u007f/g, '\\u007f')
}

/** Objects as JSON.parse and the query parser make them; anything else (a stream, a Buffer) is not walked. */
function isDataObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as object | null
  // Fastify's query and params objects inherit from a null-prototype object of their own.
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null
}

const join = (path: string, k: string | number): string =>
  path ? `${path}.${typeof k === 'number' ? k : showKey(k)}` : typeof k === 'number' ? String(k) : showKey(k)

/** What anyProblem looks for: everything inputProblems reports, nesting alone, or bad metadata keys. */
type Check = 'input' | 'depth' | 'metadataKeys'

/**
 * The walk's stack, reused by every call (the walk is synchronous and calls no outside code): a
 * row's check allocates nothing, where it allocated two arrays per row before.
 */
const pending: unknown[] = []
const pendingDepths: number[] = []

/**
 * Whether a value holds anything the check reports, without building a path: the common case
 * (nothing wrong) costs one allocation-free pass. Containers deeper than `max` are a problem for
 * 'input' and 'depth', and are not looked into for 'metadataKeys'.
 */
function anyProblem(value: unknown, max: number, check: Check): boolean {
  const values = pending
  const depths = pendingDepths
  // An explicit top, not push/pop down to length 0: emptying an array gives its storage back. The
  // pushes are written out, not a closure over `top`: that closure and its context were allocated
  // on every call, the most of what checking a row allocated.
  let top = 0
  values[top] = value
  depths[top++] = 1
  let found = false
  while (top > 0 && !found) {
    const v = values[--top]
    // Nothing of this value stays reachable from the shared stack.
    values[top] = undefined
    const depth = depths[top]
    if (typeof v === 'string') {
      if (check === 'input' && SUSPECT.test(v) && (v.includes('\u0000') || hasLoneSurrogate(v))) found = true
    } else if (typeof v === 'number') {
      if (check === 'input' && !Number.isFinite(v)) found = true
    } else if (Array.isArray(v)) {
      if (depth > max) found = check !== 'metadataKeys'
      else
        for (let i = 0; i < v.length; i++) {
          values[top] = v[i]
          depths[top++] = depth + 1
        }
    } else if (isDataObject(v)) {
      if (depth > max) found = check !== 'metadataKeys'
      else
        for (const k in v) {
          if (!Object.hasOwn(v, k)) continue
          if (check === 'input' && (FORBIDDEN_KEYS.has(k) || (SUSPECT.test(k) && (k.includes('\u0000') || hasLoneSurrogate(k)))))
            found = true
          else if (check === 'metadataKeys' && (FORBIDDEN_KEYS.has(k) || hasControlChar(k))) found = true
          values[top] = v[k]
          depths[top++] = depth + 1
        }
    }
  }
  while (top > 0) values[--top] = undefined
  return found
}

/** The first container nested deeper than `max` levels, as a path ('' for the value itself), or null. Iterative. */
export function tooDeepAt(value: unknown, max = MAX_JSON_DEPTH): string | null {
  if (!anyProblem(value, max, 'depth')) return null
  const stack: [unknown, number, string][] = [[value, 1, '']]
  while (stack.length) {
    const [v, depth, path] = stack.pop() as [unknown, number, string]
    if (!Array.isArray(v) && !isDataObject(v)) continue
    if (depth > max) return path
    if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1, join(path, i)])
    else for (const k of Object.keys(v)) stack.push([(v as Record<string, unknown>)[k], depth + 1, join(path, k)])
  }
  return null
}

export interface GuardOptions {
  /** Prefix of every reported path (`query`, `rows.3`). */
  prefix?: string
  max?: number
}

/**
 * Every problem of a parsed JSON value (a body, a row, a query): text with NUL (no text column
 * of either engine holds it) or a lone UTF-16 surrogate (not Unicode: each engine would store a
 * different replacement), numbers that are not finite (`1e400` parses as Infinity, which JSON
 * cannot carry back), keys that name the prototype, and nesting deeper than MAX_JSON_DEPTH.
 */
export function inputProblems(value: unknown, opts: GuardOptions = {}): FieldError[] {
  const max = opts.max ?? MAX_JSON_DEPTH
  if (!anyProblem(value, max, 'input')) return []
  const out: FieldError[] = []
  const stack: [unknown, number, string][] = [[value, 1, opts.prefix ?? '']]
  while (stack.length && out.length < MAX_PROBLEMS) {
    const [v, depth, path] = stack.pop() as [unknown, number, string]
    if (typeof v === 'string') {
      if (v.includes('\u0000'))
        out.push({ field: path, code: 'invalid_character', message: 'text may not contain the NUL character (U+0000)' })
      else if (hasLoneSurrogate(v))
        out.push({
          field: path,
          code: 'invalid_character',
          message: 'text may not contain a lone UTF-16 surrogate (\\ud800-\\udfff unpaired): it is not Unicode',
        })
      continue
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        out.push({ field: path, code: 'invalid_value', message: 'the number is too large to be stored (beyond ±1.8e308)' })
      continue
    }
    if (!Array.isArray(v) && !isDataObject(v)) continue
    if (depth > max) {
      out.push({ field: path, code: 'too_deep', message: `nested deeper than ${max} levels` })
      continue
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1, join(path, i)])
      continue
    }
    const keys = Object.keys(v)
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]
      const at = join(path, k)
      if (FORBIDDEN_KEYS.has(k))
        out.push({
          field: at,
          code: 'forbidden_key',
          message: `${/^metadata\./.test(at) ? 'metadata key' : 'the key'} '${k}' is not allowed`,
        })
      else if (k.includes('\u0000'))
        out.push({ field: at, code: 'invalid_character', message: 'a key may not contain the NUL character (U+0000)' })
      else if (hasLoneSurrogate(k))
        out.push({ field: at, code: 'invalid_character', message: 'a key may not contain a lone UTF-16 surrogate: it is not Unicode' })
      else stack.push([(v as Record<string, unknown>)[k], depth + 1, at])
    }
  }
  return out
}

/** Metadata keys, at any depth, with a control character (U+0000–U+001F, U+007F): invisible in every list and log. */
export function metadataKeyProblems(metadata: unknown, prefix = 'metadata'): FieldError[] {
  if (metadata === undefined || metadata === null || !anyProblem(metadata, MAX_JSON_DEPTH, 'metadataKeys')) return []
  const out: FieldError[] = []
  const stack: [unknown, string, number][] = [[metadata, prefix, 1]]
  while (stack.length && out.length < MAX_PROBLEMS) {
    const [v, path, depth] = stack.pop() as [unknown, string, number]
    if ((!Array.isArray(v) && !isDataObject(v)) || depth > MAX_JSON_DEPTH) continue
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, join(path, i), depth + 1]))
      continue
    }
    for (const k of Object.keys(v)) {
      const at = join(path, k)
      if (FORBIDDEN_KEYS.has(k)) out.push({ field: at, code: 'forbidden_key', message: `metadata key '${k}' is not allowed` })
      else if (hasControlChar(k))
        out.push({
          field: at,
          code: 'invalid_character',
          message: `metadata key '${showKey(k)}' contains a control character (U+0000–U+001F, U+007F)`,
        })
      else stack.push([(v as Record<string, unknown>)[k], at, depth + 1])
    }
  }
  return out
}

/**
 * The largest offset (rows skipped) or page number a list accepts, and the largest value a filter
 * on a 32-bit column (`loginCount`, `version`, a directory's number) accepts: 2^31-1. Why: it is
 * the range of PostgreSQL's `integer` (a bigger parameter is an error there, not an empty page),
 * far beyond any directory (billions of rows), and page × page size stays an exact JS number.
 */
export const MAX_OFFSET = 2_147_483_647
export const MAX_INT32 = 2_147_483_647

/**
 * The integer literals of a JSON text that no double holds exactly (`9007199254740993` parses as
 * `…992`): JSON.parse rounds them silently, so they are found in the text itself. A cheap test
 * first: most texts have no run of 16 digits. Strings are skipped; fractions and exponents are
 * floating point by nature and not checked.
 */
export function inexactIntegers(text: string): Set<number> | null {
  if (!/\d{16}/.test(text)) return null
  const found = new Set<number>()
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])(-?\d{16,})(?![.\deE])/g)) {
    const literal = m[1]
    if (literal === undefined) continue
    const n = Number(literal)
    if (BigInt(literal) !== BigInt(n)) found.add(n)
  }
  return found.size ? found : null
}

/** The paths of the numbers of a parsed value that came from inexact literals (see inexactIntegers). Iterative. */
export function inexactNumberProblems(value: unknown, inexact: ReadonlySet<number>, prefix = ''): FieldError[] {
  const out: FieldError[] = []
  const stack: [unknown, string][] = [[value, prefix]]
  while (stack.length && out.length < MAX_PROBLEMS) {
    const [v, path] = stack.pop() as [unknown, string]
    if (typeof v === 'number') {
      if (inexact.has(v))
        out.push({
          field: path,
          code: 'out_of_range',
          message: `the integer is beyond ±(2^53-1): a JSON number cannot be kept exactly there (it would read as ${v}); send it as a string`,
        })
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], join(path, i)])
    } else if (isDataObject(v)) {
      const keys = Object.keys(v)
      for (let i = keys.length - 1; i >= 0; i--) stack.push([v[keys[i]], join(path, keys[i])])
    }
  }
  return out
}
