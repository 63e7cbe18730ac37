import { randomUUID } from 'node:crypto'
import { runBulk } from '../../src/engine/bulk-engine.js'
import { type BulkOptions, type BulkRow, DEFAULT_OPTIONS } from '../../src/engine/types.js'
import type { Directory } from '../../src/core/types.js'
import type { Store } from '../../src/store/store.js'

/** A tenant and a directory of its own: what keeps tests on one database isolated. */
export async function freshDirectory(store: Store, name = 'Test'): Promise<Directory> {
  const tenant = await store.ensureTenant(`t-${randomUUID()}`)
  return store.createDirectory(tenant.id, { name, externalId: null })
}

export async function bulk(store: Store, dir: Directory, rows: unknown[], opts: Partial<BulkOptions> = {}) {
  const fields = await store.listFields(dir.id)
  return runBulk(
    store,
    {
      directory: dir,
      fields,
      options: { ...DEFAULT_OPTIONS, ...opts },
      context: { channel: 'native', keyId: null, requestId: 'req-1', jobId: null },
    },
    rows.map((data): BulkRow => ({ data })),
  )
}
