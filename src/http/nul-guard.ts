import type { FastifyInstance } from 'fastify'
import { errors } from '../core/errors.js'
import { inputProblems } from '../core/input-guard.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body carries rows the engine checks one by one (a bad row fails alone, not the request). */
    rowsCheckedPerRow?: boolean
  }
}

/**
 * Values that no schema catches and no store keeps as sent are refused at the door, with their
 * path (src/core/input-guard.ts): NUL (U+0000, which fits in no text column of either engine),
 * lone UTF-16 surrogates, numbers that are not finite (`1e400`), the key `__proto__`, and
 * nesting deeper than MAX_JSON_DEPTH. In paths and query strings always; in bodies unless the
 * route's rows are checked per row by the engine (which reports the same problems per row).
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found = [
      ...inputProblems(request.params, { prefix: 'path' }),
      ...inputProblems(request.query, { prefix: 'query' }),
      ...(request.routeOptions.config.rowsCheckedPerRow ? [] : inputProblems(request.body)),
    ]
    if (found.length) throw errors.validation(found)
  })
}
