import type { Door } from '../door.js'
import { returningApiLogRoutes } from './returning-apilog.js'
import { returningBulkRoutes } from './returning-bulk.js'
import { returningErrorHandler, returningNotFound } from './returning-errors.js'
import { returningFieldRoutes } from './returning-fields.js'
import { returningHistoryRoutes } from './returning-history.js'
import { returningUserRoutes } from './returning-users.js'

/**
 * Returning.AI at `/returning`: users (create, user data, delete/restore, filter), user fields and
 * user field histories. Every route needs `Authorization: Bearer <key>` with the key limited to one
 * directory, the community (checked by the shared bearer hook through `config.scope`, then by
 * returning-community.ts). The queued CSV endpoints (bulk-update, bulk-import) run as import jobs
 * (returning-bulk.ts), which the Api Log lists (returning-apilog.ts); see docs/doors/returning.md.
 */
export const returningDoor: Door = (services) => async (app) => {
  app.setErrorHandler(returningErrorHandler)
  app.setNotFoundHandler(returningNotFound)
  await app.register(returningUserRoutes(services))
  await app.register(returningFieldRoutes(services))
  await app.register(returningHistoryRoutes(services))
  await app.register(returningBulkRoutes(services))
  await app.register(returningApiLogRoutes(services))
}
