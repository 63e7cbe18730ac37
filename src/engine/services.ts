import type { Store } from '../store/store.js'
import { createDirectoryService } from './directory-service.js'
import { createKeyService } from './key-service.js'
import { createUserService } from './user-service.js'

/** The core's services, the only way doors, jobs and the CLI reach the store. */
export function createServices(store: Store, opts: { batchSize: number }) {
  return {
    store,
    keys: createKeyService(store),
    directories: createDirectoryService(store),
    users: createUserService(store, opts),
  }
}

export type Services = ReturnType<typeof createServices>
