import type { Store } from '../store/store.js'
import { createDirectoryService } from './directory-service.js'
import { createGroupService } from './group-service.js'
import { createKeyService } from './key-service.js'
import { createUserService } from './user-service.js'

/** The core's services, the only way doors, jobs and the CLI reach the store. */
export function createServices(store: Store, opts: { batchSize: number }) {
  return {
    store,
    keys: createKeyService(store),
    directories: createDirectoryService(store),
    users: createUserService(store, opts),
    groups: createGroupService(store),
  }
}

export type Services = ReturnType<typeof createServices>
