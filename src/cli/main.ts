import { Command, InvalidArgumentError } from 'commander'
import { type Config, ConfigError, loadConfig } from '../config.js'
import { SCOPES, type Scope } from '../core/types.js'
import { isRollcallError } from '../core/errors.js'
import type { createServices } from '../jobs/services.js'
import { CliError } from './client.js'
import { registerRemoteCommands } from './remote.js'

// The server, the store and the engine load only for the commands that use them (dynamic imports
// below): import, export and jobs talk HTTP and start fast.

const int = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number`)
  return n
}

const scopes = (v: string): Scope[] => {
  const list = v.split(',').map((x) => x.trim())
  for (const s of list) if (!SCOPES.includes(s as Scope)) throw new InvalidArgumentError(`unknown scope '${s}' (use ${SCOPES.join(', ')})`)
  return list as Scope[]
}

const collect = (v: string, prev: string[] = []) => [...prev, v]

function config(opts: { data?: string; port?: number; host?: string }): Readonly<Config> {
  const flags: Partial<Config> = {}
  if (opts.data !== undefined) flags.dataDir = opts.data
  if (opts.port !== undefined) flags.port = opts.port
  if (opts.host !== undefined) flags.host = opts.host
  return loadConfig(process.env, flags)
}

async function withServices<T>(opts: { data?: string }, fn: (s: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const cfg = config(opts)
  const [{ openStore }, { createServices }] = await Promise.all([import('../store/index.js'), import('../jobs/services.js')])
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir })
  try {
    return await fn(createServices(store, { batchSize: cfg.batchSize, maxImportBytes: cfg.importMaxBytes }))
  } finally {
    await store.close()
  }
}

const program = new Command()
  .name('rollcall')
  .description('Self-hosted user directory built for changing many users at once')
  .addHelpText(
    'after',
    `
Environment:
  DATABASE_URL         postgres://… to use PostgreSQL (default: embedded SQLite under --data)
  ROLLCALL_ADMIN_KEY   an admin key of the default tenant, created at start (at least 16 characters)
  PORT, HOST           where serve listens (flags win)
  LOG_LEVEL            fatal|error|warn|info|debug|trace|silent (default info)
  ROLLCALL_BULK_MAX_ROWS, ROLLCALL_BULK_MAX_BYTES, ROLLCALL_BODY_LIMIT, ROLLCALL_BATCH_SIZE   see README
  ROLLCALL_URL, ROLLCALL_KEY   the server and API key of import, export, changes and jobs (--server, --key win)

Against a running server:
  rollcall import people.csv --directory staff --mode upsert --match email
  rollcall sync hr-export.csv --directory staff --absent deactivate --scope metadata.source=hr
  rollcall export --directory staff --format ndjson --out staff.ndjson
  rollcall changes --directory staff --follow > changes.ndjson
  rollcall jobs list --directory staff --state failed`,
  )

program
  .command('serve')
  .description('Run the HTTP server (migrates the database first)')
  .option('-p, --port <port>', 'port to listen on (default 3000)', int('port'))
  .option('--host <host>', 'interface to bind (default 127.0.0.1)')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database (default ./data)')
  .action(async (opts) => {
    const { serve } = await import('./serve.js')
    await serve(config(opts))
  })

program
  .command('migrate')
  .description('Apply pending database migrations and exit (serve does it too, at start)')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database')
  .option('--dry-run', 'print the SQL of the pending migrations, apply nothing')
  .action(async (opts) => {
    const cfg = config(opts)
    const { openStore } = await import('../store/index.js')
    const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, migrate: !opts.dryRun })
    try {
      if (!opts.dryRun) {
        console.log(`Database is up to date (${store.dialect}).`)
        return
      }
      const pending = await store.pendingMigrations()
      if (pending.length === 0) console.log(`-- Database is up to date (${store.dialect}); nothing to apply.`)
      for (const m of pending) console.log(`-- migration ${m.version}: ${m.name} (${store.dialect}), in one transaction\n${m.sql}\n`)
    } finally {
      await store.close()
    }
  })

program
  .command('backup')
  .description('Copy the database, consistently, while the server runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump)')
  .requiredOption('-o, --out <file>', 'where to write the backup; must not exist')
  .option('-d, --data <dir>', 'data directory of the embedded SQLite database')
  .action(async (opts) => {
    const { backup } = await import('./backup.js')
    await backup(config(opts), opts.out, (line) => console.log(line))
  })

program
  .command('restore <file>')
  .description('Put a backup back into an empty data directory (SQLite) or an empty database (PostgreSQL, pg_restore)')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database; must hold no database')
  .action(async (file: string, opts) => {
    const { restore } = await import('./backup.js')
    await restore(config(opts), file, (line) => console.log(line))
  })

const keys = program.command('keys').description('Manage API keys directly in the database')

keys
  .command('create')
  .description('Create an API key and print its secret (shown once)')
  .option('-t, --tenant <name>', 'tenant name (created if new)', 'default')
  .option('--directory <ref>', 'limit the key to a directory (id or externalId); repeat for more', collect)
  .option('-s, --scopes <list>', `comma-separated scopes: ${SCOPES.join(', ')}`, scopes, ['admin'] as Scope[])
  .option('-n, --name <name>', 'a name to recognise the key by', 'cli')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database')
  .action(async (opts) => {
    await withServices(opts, async (s) => {
      const tenant = await s.tenants.ensure(opts.tenant)
      const { key, secret } = await s.keys.create(tenant.id, { name: opts.name, scopes: opts.scopes, directories: opts.directory ?? null })
      console.log(
        `Created key ${key.id} (${key.scopes.join(',')}) for tenant '${tenant.name}'${key.directories ? ` limited to ${key.directories.join(', ')}` : ''}.`,
      )
      console.log('Secret (shown once; store it now):')
      console.log(secret)
    })
  })

keys
  .command('list')
  .description("List a tenant's API keys")
  .option('-t, --tenant <name>', 'tenant name', 'default')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database')
  .action(async (opts) => {
    await withServices(opts, async (s) => {
      const tenant = await s.tenants.ensure(opts.tenant)
      const list = await s.keys.list(tenant.id)
      for (const k of list)
        console.log(
          [
            k.id,
            k.name,
            k.scopes.join(','),
            k.directories ? k.directories.join(',') : 'all directories',
            k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
          ].join('\t'),
        )
      if (list.length === 0) console.log('No keys.')
    })
  })

keys
  .command('revoke <id>')
  .description('Revoke an API key')
  .option('-t, --tenant <name>', 'tenant name', 'default')
  .option('-d, --data <dir>', 'data directory for the embedded SQLite database')
  .action(async (id: string, opts) => {
    await withServices(opts, async (s) => {
      const tenant = await s.tenants.ensure(opts.tenant)
      await s.keys.revoke(tenant.id, id)
      console.log(`Revoked ${id}.`)
    })
  })

registerRemoteCommands(program)

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof CliError || isRollcallError(e) || (e as Error)?.name === 'SchemaTooNew')
    console.error(`rollcall: ${(e as Error).message}`)
  else console.error(e)
  process.exitCode = 1
})
