import type { CompareOp } from '../../core/user-filter.js'
import { hasLoneSurrogate } from '../../core/input-guard.js'
import { ScimError, scimError } from './scim-errors.js'

/**
 * The filter grammar of RFC 7644 §3.4.2.2 (figure 1) and the PATCH path grammar of §3.5.2, as
 * an AST. Pure syntax: which attributes exist, and what they mean, is the caller's business
 * (scim-user-query.ts for the store, scim-filter-eval.ts for values in memory).
 *
 * Precedence, highest first: parentheses and `not ( … )`, then `and`, then `or`. Keywords and
 * operators are case-insensitive. Values are JSON literals (strings with JSON escapes).
 */

/** `urn:…:User:name.givenName` → uri `urn:…:User`, name `name`, sub `givenName`. As written: not resolved. */
export interface AttrPath {
  uri: string | null
  name: string
  sub: string | null
}

export type ScimValue = string | number | boolean | null

export type ScimFilter =
  | { type: 'and' | 'or'; left: ScimFilter; right: ScimFilter }
  | { type: 'not'; filter: ScimFilter }
  | { type: 'pr'; path: AttrPath }
  | { type: 'cmp'; op: CompareOp; path: AttrPath; value: ScimValue }
  /** `emails[type eq "work" and value co "@x.org"]`: the inner filter's paths are relative to the attribute. */
  | { type: 'valuePath'; path: AttrPath; filter: ScimFilter }

/** A PATCH target: `members`, `name.familyName`, `emails[type eq "work"].value`. */
export interface PatchPath {
  path: AttrPath
  filter: ScimFilter | null
  /** The sub-attribute after a value filter (`.value` above); for plain paths it is `path.sub`. */
  sub: string | null
}

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])
const ATTR_NAME = /^[A-Za-z$][A-Za-z0-9_$-]*$/
/** Deeper nesting than any real client sends; the parser is recursive, so it is bounded. */
const MAX_DEPTH = 64
const MAX_LENGTH = 10_000

type Token =
  | { t: 'word'; v: string; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'num'; v: number; at: number }
  | { t: '(' | ')' | '[' | ']'; at: number }
  | { t: 'end'; at: number }

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/
const WORD = /^[A-Za-z_$][A-Za-z0-9_.:$-]*/

function tokenize(src: string, fail: (msg: string) => ScimError): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      out.push({ t: c, at: i })
      i++
    } else if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      if (j >= src.length) throw fail(`unterminated string starting at ${i + 1}`)
      let v: string
      try {
        v = JSON.parse(src.slice(i, j + 1)) as string
      } catch {
        throw fail(`bad escape in the string starting at ${i + 1} (strings are JSON strings)`)
      }
      // No stored value holds these, and PostgreSQL refuses NUL in a parameter outright.
      if (v.includes('\u0000')) throw fail(`the string starting at ${i + 1} holds the NUL character (U+0000), which no value can hold`)
      if (hasLoneSurrogate(v)) throw fail(`the string starting at ${i + 1} holds a lone UTF-16 surrogate, which is not Unicode`)
      out.push({ t: 'str', v, at: i })
      i = j + 1
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = NUMBER.exec(src.slice(i))
      if (!m) throw fail(`bad number at ${i + 1}`)
      const v = Number(m[0])
      if (!Number.isFinite(v)) throw fail(`the number at ${i + 1} is too large (beyond ±1.8e308)`)
      out.push({ t: 'num', v, at: i })
      i += m[0].length
    } else {
      const m = WORD.exec(src.slice(i))
      if (!m) throw fail(`unexpected '${c}' at ${i + 1}`)
      out.push({ t: 'word', v: m[0], at: i })
      i += m[0].length
    }
  }
  out.push({ t: 'end', at: src.length })
  return out
}

/** `name`, `name.givenName` or `urn:…:User:name.givenName` → AttrPath, or null when malformed. */
export function parseAttrPath(text: string): AttrPath | null {
  const colon = text.lastIndexOf(':')
  const uri = colon >= 0 ? text.slice(0, colon) : null
  const parts = text.slice(colon + 1).split('.')
  if (parts.length > 2 || !parts.every((p) => ATTR_NAME.test(p))) return null
  if (uri !== null && !/^urn:[A-Za-z0-9][A-Za-z0-9.:_-]*$/i.test(uri)) return null
  return { uri, name: parts[0], sub: parts[1] ?? null }
}

class Parser {
  private i = 0
  private depth = 0

  constructor(
    private readonly tokens: Token[],
    private readonly fail: (msg: string) => ScimError,
  ) {}

  private peek(): Token {
    return this.tokens[this.i]
  }

  private next(): Token {
    return this.tokens[this.i++]
  }

  private isWord(word: string, tok: Token = this.peek()): boolean {
    return tok.t === 'word' && tok.v.toLowerCase() === word
  }

  private describe(tok: Token): string {
    if (tok.t === 'end') return 'the end of the filter'
    if (tok.t === 'word') return `'${tok.v}' at ${tok.at + 1}`
    if (tok.t === 'str') return `the string at ${tok.at + 1}`
    if (tok.t === 'num') return `the number at ${tok.at + 1}`
    return `'${tok.t}' at ${tok.at + 1}`
  }

  private expect(t: Token['t'], what: string): Token {
    const tok = this.next()
    if (tok.t !== t) throw this.fail(`expected ${what}, found ${this.describe(tok)}`)
    return tok
  }

  parseAll(inValuePath = false): ScimFilter {
    const f = this.parseOr(inValuePath)
    if (this.peek().t !== 'end') throw this.fail(`unexpected ${this.describe(this.peek())}`)
    return f
  }

  parseOr(inValuePath: boolean): ScimFilter {
    if (++this.depth > MAX_DEPTH) throw this.fail(`the filter nests deeper than ${MAX_DEPTH} levels`)
    let left = this.parseAnd(inValuePath)
    while (this.isWord('or')) {
      this.next()
      left = { type: 'or', left, right: this.parseAnd(inValuePath) }
    }
    this.depth--
    return left
  }

  private parseAnd(inValuePath: boolean): ScimFilter {
    let left = this.parseUnary(inValuePath)
    while (this.isWord('and')) {
      this.next()
      left = { type: 'and', left, right: this.parseUnary(inValuePath) }
    }
    return left
  }

  private parseUnary(inValuePath: boolean): ScimFilter {
    const tok = this.peek()
    if (this.isWord('not') && this.tokens[this.i + 1].t === '(') {
      this.next()
      return { type: 'not', filter: this.parseGroup(inValuePath) }
    }
    if (tok.t === '(') return this.parseGroup(inValuePath)
    return this.parseAttrExp(inValuePath)
  }

  private parseGroup(inValuePath: boolean): ScimFilter {
    this.expect('(', "'('")
    const inner = this.parseOr(inValuePath)
    this.expect(')', "')'")
    return inner
  }

  private parseAttrExp(inValuePath: boolean): ScimFilter {
    const tok = this.next()
    if (tok.t !== 'word') throw this.fail(`expected an attribute, found ${this.describe(tok)}`)
    const path = parseAttrPath(tok.v)
    if (!path) throw this.fail(`'${tok.v}' is not a valid attribute path`)
    if (this.peek().t === '[') {
      if (inValuePath) throw this.fail(`value filters cannot nest ('[' at ${this.peek().at + 1})`)
      if (path.sub) throw this.fail(`a value filter applies to an attribute, not to the sub-attribute '${tok.v}'`)
      this.next()
      const filter = this.parseOr(true)
      this.expect(']', "']'")
      return { type: 'valuePath', path, filter }
    }
    const opTok = this.next()
    if (opTok.t !== 'word') throw this.fail(`expected an operator after '${tok.v}', found ${this.describe(opTok)}`)
    const op = opTok.v.toLowerCase()
    if (op === 'pr') return { type: 'pr', path }
    if (!COMPARE_OPS.has(op)) throw this.fail(`'${opTok.v}' is not an operator (eq ne co sw ew gt ge lt le pr)`)
    const v = this.next()
    let value: ScimValue
    if (v.t === 'str' || v.t === 'num') value = v.v
    else if (this.isWord('true', v)) value = true
    else if (this.isWord('false', v)) value = false
    else if (this.isWord('null', v)) value = null
    else throw this.fail(`expected a value (a "string", a number, true, false or null) after '${opTok.v}', found ${this.describe(v)}`)
    return { type: 'cmp', op: op as CompareOp, path, value }
  }
}

/** Parses a `filter` parameter; a syntax error is a 400 invalidFilter. */
export function parseFilter(text: string): ScimFilter {
  const fail = (msg: string) => scimError.invalidFilter(`Invalid filter: ${msg}`)
  if (text.length > MAX_LENGTH) throw fail(`longer than ${MAX_LENGTH} characters`)
  if (text.trim() === '') throw fail('the filter is empty')
  return new Parser(tokenize(text, fail), fail).parseAll()
}

/** Parses a PATCH `path`; a malformed path is a 400 invalidPath. */
export function parsePatchPath(text: string): PatchPath {
  const fail = (msg: string) => scimError.invalidPath(`Invalid path '${text}': ${msg}`)
  const open = text.indexOf('[')
  if (open < 0) {
    const path = parseAttrPath(text.trim())
    if (!path) throw fail('not an attribute path')
    return { path, filter: null, sub: path.sub }
  }
  const close = text.lastIndexOf(']')
  if (close < open) throw fail("missing ']'")
  const path = parseAttrPath(text.slice(0, open).trim())
  if (!path || path.sub) throw fail('a value filter must follow an attribute name')
  const rest = text.slice(close + 1).trim()
  let sub: string | null = null
  if (rest !== '') {
    const m = /^\.([A-Za-z$][A-Za-z0-9_$-]*)$/.exec(rest)
    if (!m) throw fail(`unexpected '${rest}' after the value filter`)
    sub = m[1]
  }
  let filter: ScimFilter
  try {
    filter = new Parser(tokenize(text.slice(open + 1, close), fail), fail).parseAll(true)
  } catch (e) {
    if (e instanceof ScimError) throw fail(e.message.replace(/^Invalid path '[^']*': /, ''))
    throw e
  }
  return { path, filter, sub }
}

/** `urn:x:name.sub` as written, for messages. */
export const showPath = (p: AttrPath): string => `${p.uri ? `${p.uri}:` : ''}${p.name}${p.sub ? `.${p.sub}` : ''}`
