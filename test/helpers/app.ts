import { randomUUID } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import { type App, buildApp } from '../../src/app/app.js'
import type { Scope } from '../../src/core/types.js'
import type { Store } from '../../src/store/store.js'
import type { EngineHandle } from './engines.js'

export interface Client {
  /** The secret of an admin key of a tenant of its own. */
  key: string
  tenantId: string
  request(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>
  /** Another key of the same tenant. */
  newKey(scopes: Scope[], directories?: string[]): Promise<Client>
}

/** A client of `app` as a new tenant of `store` with an admin key: what keeps tests isolated on a shared database. */
export async function clientOf(app: App, store: Store): Promise<Client> {
  const tenant = await store.ensureTenant(`t-${randomUUID()}`)
  const { secret } = await app.services.keys.create(tenant.id, { name: 'admin', scopes: ['admin'] })
  return clientFor(app, tenant.id, secret)
}

function clientFor(app: App, tenantId: string, key: string): Client {
  return {
    key,
    tenantId,
    request: (method, url, body, headers = {}) =>
      app.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...headers },
        ...(body === undefined ? {} : typeof body === 'string' ? { payload: body } : { payload: body as object }),
      }),
    newKey: async (scopes, directories) => {
      const { secret } = await app.services.keys.create(tenantId, { name: 'test', scopes, directories: directories ?? null })
      return clientFor(app, tenantId, secret)
    },
  }
}

/**
 * An app over the engine's store for a describe block, built once. Each `client()` makes a new
 * tenant with an admin key, which keeps tests isolated on the shared database.
 */
export function useApp(engine: EngineHandle, overrides: Partial<Config> = {}) {
  let built: App | undefined
  beforeAll(async () => {
    built = await buildApp({ store: engine.store(), config: loadConfig({}, { batchSize: 100, ...overrides }) })
    await built.app.ready()
  })
  afterAll(async () => {
    await built?.app.close()
  })
  const get = (): App => {
    if (!built) throw new Error('app not built yet')
    return built
  }

  return {
    app: get,
    client: (): Promise<Client> => clientOf(get(), engine.store()),
  }
}
