import { createJobService } from '../jobs/job-service.js'
import type { Store } from '../store/store.js'
import { createDirectoryService } from './directory-service.js'
import { createGroupService } from './group-service.js'
import { createKeyService } from './key-service.js'
import { createUserService } from './user-service.js'

export interface ServiceOptions {
  batchSize: number
  /** Bytes per uploaded import (default 2 GiB). */
  maxImportBytes?: number
  /** Called when a job was queued: an in-process worker picks it up at once. */
  onJobQueued?: () => void
}

/** The core's services, the only way doors, jobs and the CLI reach the store. */
export function createServices(store: Store, opts: ServiceOptions) {
  return {
    store,
    jobs: createJobService(store, { maxImportBytes: opts.maxImportBytes ?? 2 * 1024 ** 3 }, () => opts.onJobQueued?.()),
    keys: createKeyService(store),
    directories: createDirectoryService(store),
    users: createUserService(store, opts),
    groups: createGroupService(store),
  }
}

export type Services = ReturnType<typeof createServices>
