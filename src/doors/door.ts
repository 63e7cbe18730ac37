import type { FastifyInstance } from 'fastify'
import type { Services } from '../jobs/services.js'

/**
 * Every door: a Fastify plugin registered under its vendor's base URL. A door is a thin
 * translator (DESIGN.md, "One engine, many doors"): it parses its vendor's request, calls the
 * core services, and renders the result in its vendor's shapes. It never touches the store.
 *
 * Each door sets its own error handler and not-found handler inside its scope, so every error
 * leaves in the vendor's envelope, and authenticates with its vendor's headers, setting
 * `request.principal` (which the shared idempotency and NUL-guard hooks rely on).
 */
export type Door = (services: Services, limits: DoorLimits) => (app: FastifyInstance) => Promise<void>

/**
 * What a door may take in one request, from the configuration: the same as the native sync bulk
 * endpoint (docs/doors/README.md, "Batch limits"), not numbers of each door's own.
 */
export interface DoorLimits {
  /** Users per bulk request (`ROLLCALL_BULK_MAX_ROWS`). */
  maxRows: number
  /** Bytes per bulk request body (`ROLLCALL_BULK_MAX_BYTES`). */
  maxBytes: number
}
