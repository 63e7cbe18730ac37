import { inexactIntegers, inexactNumberProblems } from '../../core/input-guard.js'

/** Streaming readers for NDJSON and for a JSON array of any size: one record per value, bad ones reported with their line. */

export interface JsonRecord {
  line: number
  value?: unknown
  error?: string
  raw: string
}

/** A record larger than this fails on its own (the same bound as a CSV cell, with room for the keys). */
export const MAX_RECORD_CHARS = 8 * 1024 * 1024

function parseOne(raw: string, line: number): JsonRecord {
  if (raw.includes('\uFFFD')) return { line, error: 'the record is not valid UTF-8', raw }
  if (raw.length > MAX_RECORD_CHARS) return { line, error: 'a record larger than 8 MB', raw: raw.slice(0, 200) }
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (e) {
    return { line, error: `not valid JSON: ${(e as Error).message}`, raw }
  }
  // JSON.parse rounds integers beyond 2^53 silently: only the text shows them.
  const inexact = inexactIntegers(raw)
  const problem = inexact ? inexactNumberProblems(value, inexact)[0] : undefined
  if (problem) return { line, error: `${problem.field || 'the record'}: ${problem.message}`, raw }
  return { line, value, raw }
}

async function* text(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false })
  let first = true
  for await (const c of chunks) {
    let s = decoder.decode(c, { stream: true })
    if (first && s.charCodeAt(0) === 0xfeff) s = s.slice(1)
    first = false
    if (s) yield s
  }
  const rest = decoder.decode()
  if (rest) yield rest
}

/** One JSON value per line; blank lines are skipped. */
export async function* parseNdjson(chunks: AsyncIterable<Buffer>): AsyncGenerator<JsonRecord> {
  let buf = ''
  let line = 1
  for await (const s of text(chunks)) {
    buf += s
    let nl: number
    while ((nl = buf.indexOf('\n')) !== -1) {
      const raw = buf.slice(0, nl).replace(/\r$/, '')
      buf = buf.slice(nl + 1)
      if (raw.trim()) yield parseOne(raw, line)
      line++
    }
    if (buf.length > MAX_RECORD_CHARS) {
      yield { line, error: 'a record larger than 8 MB', raw: buf.slice(0, 200) }
      buf = ''
    }
  }
  if (buf.trim()) yield parseOne(buf.replace(/\r$/, ''), line)
}

/** The input is not a JSON array (detected before any record is read). */
export class NotAJsonArray extends Error {}

/**
 * The elements of a top-level JSON array, one at a time, without holding the array: a scanner
 * tracks strings and nesting depth and cuts the text at top-level commas.
 */
export async function* parseJsonArray(chunks: AsyncIterable<Buffer>): AsyncGenerator<JsonRecord> {
  let started = false
  let ended = false
  let depth = 0
  let inString = false
  let escaped = false
  let cur = ''
  let line = 1
  let startLine = 1
  /** After `[` or a comma: the next non-blank character starts an element (and gives its line). */
  let awaitingStart = true
  for await (const s of text(chunks)) {
    let from = 0
    for (let i = 0; i < s.length; i++) {
      const c = s[i]
      if (c === '\n') line++
      if (!started) {
        if (c === '[') {
          started = true
          from = i + 1
        } else if (!/\s/.test(c)) throw new NotAJsonArray('the body is not a JSON array')
        continue
      }
      if (ended) {
        if (!/\s/.test(c)) throw new NotAJsonArray('text after the end of the JSON array')
        continue
      }
      if (awaitingStart && c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') {
        awaitingStart = false
        startLine = line
      }
      if (inString) {
        if (escaped) escaped = false
        else if (c === '\\') escaped = true
        else if (c === '"') inString = false
        continue
      }
      if (c === '"') inString = true
      else if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') {
        if (depth === 0 && c === ']') {
          cur += s.slice(from, i)
          if (cur.trim()) yield parseOne(cur.trim(), startLine)
          cur = ''
          ended = true
          continue
        }
        depth--
      } else if (c === ',' && depth === 0) {
        cur += s.slice(from, i)
        yield cur.trim() ? parseOne(cur.trim(), startLine) : { line: startLine, error: 'an empty element', raw: '' }
        cur = ''
        from = i + 1
        awaitingStart = true
      }
      if (cur.length + (i - from) > MAX_RECORD_CHARS) throw new NotAJsonArray(`an element larger than 8 MB at line ${startLine}`)
    }
    if (started && !ended) cur += s.slice(from)
  }
  if (!started) throw new NotAJsonArray('the body is empty, not a JSON array')
  if (!ended) throw new NotAJsonArray('the JSON array is not closed')
}
