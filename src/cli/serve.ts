import { setFlagsFromString } from 'node:v8'
import { buildApp, startWorkerRole } from '../app/app.js'
import type { Config } from '../config.js'
import { LOG_REDACTION } from '../http/app.js'
import { openStore, type Store } from '../store/index.js'

/** On SIGINT or SIGTERM: `close`, then the store; the process exits anyway after the grace period. */
function onSignals(config: Readonly<Config>, log: { info(o: object, msg: string): void }, store: Store, close: () => Promise<void>): void {
  let closing: Promise<void> | undefined
  const shutdown = (signal: string) => {
    closing ??= (async () => {
      log.info({ signal }, 'shutting down')
      const timer = setTimeout(() => process.exit(1), config.shutdownGraceMs)
      timer.unref()
      await close()
      await store.close()
    })()
    return closing
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
}

/** `rollcall serve`: the HTTP server (roles api and all, with the worker in all) or the worker alone. */
export async function serve(config: Readonly<Config>): Promise<void> {
  // V8 reads this flag at every full collection, so setting it now takes effect (see Config).
  if (config.heapGrowthPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`)
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  const logger = { level: config.logLevel, redact: LOG_REDACTION }
  const where = store.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'
  if (config.role === 'worker') {
    // Jobs only: no HTTP server is built.
    const w = await startWorkerRole({ store, config, logger })
    process.stdout.write(`\nRollcall worker is running jobs (${where}); it serves no HTTP (ROLLCALL_ROLE=worker)\n\n`)
    onSignals(config, w.log, store, w.stop)
    return
  }
  const { app, services } = await buildApp({ store, config, logger })

  const tenant = await services.tenants.ensure('default')
  let bootstrapSecret: string | undefined
  if (config.adminKey) {
    await services.keys.ensureKey('default', 'ROLLCALL_ADMIN_KEY', config.adminKey)
  } else if ((await services.keys.list(tenant.id)).length === 0) {
    // First start with no key configured: make one, and show it this once.
    bootstrapSecret = (await services.keys.create(tenant.id, { name: 'bootstrap admin', scopes: ['admin'] })).secret
  }

  const address = await app.listen({ port: config.port, host: config.host })
  // The banner goes to stdout directly, never through the logger: a key must not reach log files.
  process.stdout.write(`\nRollcall is listening on ${address} (${where})\n`)
  process.stdout.write(`  Web console: ${address}/\n`)
  process.stdout.write(`  API reference: ${address}/docs\n`)
  if (bootstrapSecret) {
    process.stdout.write(`  Admin API key (shown once; keep it): ${bootstrapSecret}\n`)
    process.stdout.write(`  Try: curl -H "Authorization: Bearer ${bootstrapSecret}" ${address}/api/v1/directories\n\n`)
  } else if (config.adminKey) process.stdout.write('  Admin API key: the value of ROLLCALL_ADMIN_KEY\n\n')
  else process.stdout.write('  Keys exist already; make another with: rollcall keys create\n\n')

  onSignals(config, app.log, store, () => app.close())
}
