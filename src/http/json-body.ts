import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors, RollcallError } from '../core/errors.js'
import { inexactIntegers, inexactNumberProblems, MAX_JSON_DEPTH, tooDeepAt } from '../core/input-guard.js'

/**
 * The one JSON body parser (application/json, application/merge-patch+json, application/scim+json):
 *
 * - the bytes must be UTF-8: a stray byte is refused, not turned into U+FFFD and stored;
 * - plain `JSON.parse`: it defines `__proto__` as an own key (never the prototype), so a key the
 *   client sent reaches validation, which names it, instead of a misleading "not valid JSON";
 * - nesting is capped at MAX_JSON_DEPTH, before any hook or handler walks the value;
 * - an integer literal no double holds (`9007199254740993` would become `…992`) is refused with its
 *   path, for the whole request: only the text shows it, and later stages see the rounded value.
 *
 * Values JSON.parse cannot keep (`1e400` → Infinity, lone surrogates, NUL) are refused later, with
 * their path, by the body guard (or per row by the engine, for routes whose rows stand alone).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A path for a message: long paths keep their start and end. */
const shorten = (p: string): string => (p.length > 120 ? `${p.slice(0, 60)}…${p.slice(-40)}` : p)

export function parseJsonBody(body: Buffer | string): unknown {
  let text: string
  if (typeof body === 'string') text = body
  else {
    try {
      text = utf8.decode(body)
    } catch {
      throw new RollcallError('invalid_json', 'The body is not valid UTF-8: send JSON text encoded as UTF-8')
    }
  }
  if (text.trim() === '') throw new RollcallError('invalid_json', 'The body is not valid JSON: it is empty')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new RollcallError('invalid_json', `The body is not valid JSON: ${(e as Error).message}`)
  }
  const deep = tooDeepAt(value)
  if (deep !== null) {
    const message = `nested deeper than ${MAX_JSON_DEPTH} levels, the limit for a JSON body`
    throw new RollcallError('bad_request', `The body is ${message} (at ${shorten(deep) || 'the top'})`, {
      errors: [{ field: shorten(deep), code: 'too_deep', message }],
    })
  }
  const inexact = inexactIntegers(text)
  if (inexact) {
    const problems = inexactNumberProblems(value, inexact)
    if (problems.length) throw errors.validation(problems)
  }
  return value
}

function parser(_req: FastifyRequest, body: Buffer | string, done: (err: Error | null, body?: unknown) => void): void {
  let value: unknown
  try {
    value = parseJsonBody(body)
  } catch (e) {
    done(e as Error)
    return
  }
  done(null, value)
}

/** Installs the parser for these media types in this scope (and the scopes registered under it). */
export function useJsonBodyParser(app: FastifyInstance, types: string[]): void {
  for (const t of types) if (app.hasContentTypeParser(t)) app.removeContentTypeParser(t)
  app.addContentTypeParser(types, { parseAs: 'buffer' }, parser)
}
