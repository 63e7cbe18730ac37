import type { FastifyInstance } from 'fastify'
import { errors } from '../core/errors.js'
import { nulPaths } from '../core/merge.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body carries rows the engine checks one by one (a bad row fails alone, not the request). */
    rowsCheckedPerRow?: boolean
  }
}

/**
 * NUL (U+0000) fits in no text column of either engine (PostgreSQL refuses it outright), so it
 * is refused at the door: in paths and query strings always, in bodies unless the route's rows
 * are checked per row by the engine.
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const found = [
      ...nulPaths(request.params).map((p) => `path.${p}`),
      ...nulPaths(request.query).map((p) => `query.${p}`),
      ...(request.routeOptions.config.rowsCheckedPerRow ? [] : nulPaths(request.body)),
    ]
    if (found.length)
      throw errors.validation(found.map((field) => ({ field, code: 'invalid_character', message: 'text may not contain the NUL character (U+0000)' })))
  })
}
