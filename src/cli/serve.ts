import type { Config } from '../config.js'
import { buildApp, LOG_REDACT } from '../http/app.js'
import { openStore } from '../store/index.js'

/** How long in-flight requests get to finish on SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000

export async function serve(config: Readonly<Config>): Promise<void> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  const { app, services } = await buildApp({
    store,
    config,
    logger: { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
  })
  const logger = app.log

  const tenant = await store.ensureTenant('default')
  let bootstrapSecret: string | undefined
  if (config.adminKey) {
    await services.keys.ensureKey('default', 'ROLLCALL_ADMIN_KEY', config.adminKey)
  } else if ((await services.keys.list(tenant.id)).length === 0) {
    // First start with no key configured: make one, and show it this once.
    bootstrapSecret = (await services.keys.create(tenant.id, { name: 'bootstrap admin', scopes: ['admin'] })).secret
  }

  const address = await app.listen({ port: config.port, host: config.host })
  const where = store.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL'
  // The banner goes to stdout directly, never through the logger: a key must not reach log files.
  process.stdout.write(`\nRollcall is listening on ${address} (${where})\n`)
  process.stdout.write(`  API reference: ${address}/docs\n`)
  if (bootstrapSecret) {
    process.stdout.write(`  Admin API key (shown once; keep it): ${bootstrapSecret}\n`)
    process.stdout.write(`  Try: curl -H "Authorization: Bearer ${bootstrapSecret}" ${address}/api/v1/directories\n\n`)
  } else if (config.adminKey) process.stdout.write('  Admin API key: the value of ROLLCALL_ADMIN_KEY\n\n')
  else process.stdout.write('  Keys exist already; make another with: rollcall keys create\n\n')

  let closing: Promise<void> | undefined
  const shutdown = (signal: string) => {
    closing ??= (async () => {
      logger.info({ signal }, 'shutting down')
      const timer = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS)
      timer.unref()
      await app.close()
      await store.close()
    })()
    return closing
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
}
