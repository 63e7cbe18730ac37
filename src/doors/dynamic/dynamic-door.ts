import type { Door } from '../door.js'
import { dynamicErrorHandler, dynamicNotFound } from './dynamic-errors.js'
import { dynamicRoutes } from './dynamic-routes.js'

/**
 * Dynamic (dynamic.xyz) at `/dynamic/api/v0`: its users API, wire-compatible with the vendor's
 * generated client `@dynamic-labs/sdk-api` pointed here. An environment is a directory (its UUID);
 * the key is `Authorization: Bearer <Rollcall key>`, checked by the shared bearer hook through each
 * route's `config.scope`, with its errors rendered here in Dynamic's envelope.
 */
export const dynamicDoor: Door = (services, limits) => async (app) => {
  app.setErrorHandler(dynamicErrorHandler)
  app.setNotFoundHandler(dynamicNotFound)
  await app.register(dynamicRoutes(services, limits))
}
