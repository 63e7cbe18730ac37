/**
 * Configuration, read once from the environment (and CLI flags, which win), validated, frozen.
 * Every knob has a default that suits a single small node and a comment saying why.
 */
export interface Config {
  /** HTTP port. 3000: the usual unprivileged default for a local service. */
  port: number
  /** Interface to bind. Loopback by default: expose it deliberately, behind TLS. */
  host: string
  /** Where the embedded SQLite file lives when DATABASE_URL is not set. */
  dataDir: string
  /** `postgres://…` for PostgreSQL; unset for embedded SQLite. */
  databaseUrl: string | undefined
  /** An admin key of the default tenant, created at start when set (never logged). */
  adminKey: string | undefined
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Rows per sync bulk request: beyond it, use the async imports endpoint. 10,000 answers in well under a minute. */
  bulkMaxRows: number
  /** Bytes per sync bulk request body (10 MB): bounded memory per request. */
  bulkMaxBytes: number
  /** Bytes per other JSON body (1 MB). */
  bodyLimit: number
  /** Rows per transaction inside the engine: large enough to amortise, small enough to keep locks short. */
  batchSize: number
  /** Bytes per uploaded import file (2 GiB): the input is streamed to the database, never held in memory. */
  importMaxBytes: number
  /**
   * Imports of at least this many bytes read, validate and plan their rows on a thread of their own
   * while the job writes the batches before them (src/jobs/planner.ts). Off unless set (null): on
   * the 2-core benchmark machine the thread made SQLite imports 7-15 % slower, not faster (A/B in
   * bench/README.md, "The planner's thread"): the job's one thread, SQLite's checkpoint thread and
   * V8's collector already kept both cores busy, and handing plans between threads costs CPU of
   * its own. On PostgreSQL two batches are in flight already (src/engine/pipeline.ts). A machine
   * with cores to spare may gain; atomic, dry-run and maxErrors imports, and imports into an
   * in-memory database, always plan on the job's thread.
   */
  plannerThreadMinBytes: number | null
  /** `api` serves HTTP only, `worker` runs jobs only, `all` both (one node, or SQLite). */
  role: 'api' | 'worker' | 'all'
  /**
   * How long a job lease lasts without a heartbeat (30 s; heartbeats come every third of it).
   * After a crash another worker resumes the job once the lease has run out.
   */
  jobLeaseMs: number
  /**
   * How often an idle worker looks for a queued job (1 s). A job queued through this process wakes
   * its worker at once; the poll is for jobs queued through another node (PostgreSQL).
   */
  jobPollMs: number
  /** How long in-flight requests and the batch in flight get on SIGTERM before the process exits anyway (10 s). */
  shutdownGraceMs: number
  /** First webhook retry delay (1 s), doubling up to webhookMaxBackoffMs. */
  webhookBackoffMs: number
  /** The longest wait between two attempts of a webhook delivery (10 min: a receiver that comes back is served soon). */
  webhookMaxBackoffMs: number
  /**
   * Attempts per webhook delivery, the first included, before it goes to the webhook's dead letters
   * (30: with the backoff capped at 10 min, about 3.6 hours; a receiver down for an hour misses
   * nothing). Attempts are durable: a restart goes on counting.
   */
  webhookAttempts: number
  /** How often the webhook dispatcher looks for new user.* records when nothing woke it (1 s). */
  webhookPollMs: number
  /** Per webhook attempt, connection to end of answer (10 s: a receiver should acknowledge, not work, before answering). */
  webhookTimeoutMs: number
  /**
   * Allow webhook URLs on loopback, private, link-local and other non-public addresses. Off by default:
   * a key holder must not make the server probe its own network (SSRF, cloud metadata at 169.254.169.254).
   * Turn it on for an on-premises receiver on a private network.
   */
  webhookAllowPrivate: boolean
  /**
   * How long a request body may go without a byte while the server waits for it (5 s) before the answer
   * is 408 and the connection closes: a client that promises a Content-Length and stalls must not hold a
   * connection. A slow upload that keeps sending, and a request still being worked on after its body
   * was read, are not affected.
   */
  bodyIdleTimeoutMs: number
  /**
   * How much V8 lets its old generation grow past the live data before the next full collection,
   * in percent: 25 on SQLite, 60 on PostgreSQL. V8's own choice (0 here) is up to 4×, so a bulk
   * import, whose live data is ~30 MB but which allocates ~5 KB a row, carried 200+ MB of garbage:
   * peak RSS 430 MiB for 200,000 rows, 274 MiB at 25 %, at the same speed. On PostgreSQL, with two
   * batches in flight, the server's JavaScript is the bottleneck and a third of it was garbage
   * collection at 25 %: 60 % ran imports 4-13 % faster (updates of a full directory 10-12 %) with
   * 18-38 MiB more at the peak, still under 300 MB for 1,000,000 rows (A/B, bench/README.md), and
   * the database's page cache is not in this process as SQLite's is. It caps
   * nothing: a large request still gets the memory it needs.
   */
  heapGrowthPercent: number
  /**
   * Days after a job ends that its per-row results, dry-run plans and revert conflicts are kept
   * (30; 0 keeps them forever). The job itself, its counts and its history stay; its results,
   * failed.csv and conflicts answer 410 afterwards, and a dry run can no longer be applied. A job's
   * uploaded input is deleted as soon as it ends, whatever this says.
   */
  resultRetentionDays: number
  /** Hours an Idempotency-Key's stored answer is kept (24, as Stripe): a retry after that is a new request. */
  idempotencyTtlHours: number
  /** How often the worker role looks for expired data to delete (10 minutes; a job's end also starts a sweep). */
  retentionIntervalMs: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = []
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got '${raw}'`)
      return fallback
    }
    return n
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    problems.push(`${name} must be 1 or 0 (true or false), got '${raw}'`)
    return fallback
  }
  const level = (env.LOG_LEVEL ?? 'info') as Config['logLevel']
  if (!LEVELS.includes(level)) problems.push(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, got '${level}'`)
  const databaseUrl = flags.databaseUrl ?? (env.DATABASE_URL || undefined)
  if (databaseUrl && !/^(postgres(ql)?:\/\/|sqlite:)/.test(databaseUrl))
    problems.push(`DATABASE_URL must start with postgres:// (or sqlite:<file>), got '${databaseUrl.replace(/\/\/[^@]*@/, '//***@')}'`)
  const role = (env.ROLLCALL_ROLE ?? 'all') as Config['role']
  if (!['api', 'worker', 'all'].includes(role)) problems.push(`ROLLCALL_ROLE must be api, worker or all, got '${role}'`)
  const adminKey = env.ROLLCALL_ADMIN_KEY || undefined
  if (adminKey !== undefined && adminKey.length < 16) problems.push('ROLLCALL_ADMIN_KEY must be at least 16 characters')

  const config: Config = {
    port: flags.port ?? int('PORT', 3000, 0, 65535),
    host: flags.host ?? env.HOST ?? '127.0.0.1',
    dataDir: flags.dataDir ?? env.ROLLCALL_DATA ?? './data',
    databaseUrl,
    adminKey,
    logLevel: level,
    bulkMaxRows: flags.bulkMaxRows ?? int('ROLLCALL_BULK_MAX_ROWS', 10_000, 1, 1_000_000),
    bulkMaxBytes: flags.bulkMaxBytes ?? int('ROLLCALL_BULK_MAX_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    bodyLimit: flags.bodyLimit ?? int('ROLLCALL_BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    batchSize: flags.batchSize ?? int('ROLLCALL_BATCH_SIZE', 1000, 1, 100_000),
    importMaxBytes: flags.importMaxBytes ?? int('ROLLCALL_IMPORT_MAX_BYTES', 2 * 1024 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    plannerThreadMinBytes:
      flags.plannerThreadMinBytes !== undefined
        ? flags.plannerThreadMinBytes
        : env.ROLLCALL_PLANNER_THREAD_MIN_BYTES
          ? int('ROLLCALL_PLANNER_THREAD_MIN_BYTES', 0, 0, Number.MAX_SAFE_INTEGER)
          : null,
    role: flags.role ?? role,
    jobLeaseMs: flags.jobLeaseMs ?? int('ROLLCALL_JOB_LEASE_MS', 30_000, 500, 3_600_000),
    jobPollMs: flags.jobPollMs ?? int('ROLLCALL_JOB_POLL_MS', 1000, 10, 600_000),
    shutdownGraceMs: flags.shutdownGraceMs ?? int('ROLLCALL_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    webhookBackoffMs: flags.webhookBackoffMs ?? int('ROLLCALL_WEBHOOK_BACKOFF_MS', 1000, 1, 600_000),
    webhookMaxBackoffMs: flags.webhookMaxBackoffMs ?? int('ROLLCALL_WEBHOOK_MAX_BACKOFF_MS', 600_000, 1, 86_400_000),
    webhookAttempts: flags.webhookAttempts ?? int('ROLLCALL_WEBHOOK_ATTEMPTS', 30, 1, 1000),
    webhookPollMs: flags.webhookPollMs ?? int('ROLLCALL_WEBHOOK_POLL_MS', 1000, 10, 600_000),
    webhookTimeoutMs: flags.webhookTimeoutMs ?? int('ROLLCALL_WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    webhookAllowPrivate: flags.webhookAllowPrivate ?? bool('ROLLCALL_WEBHOOK_ALLOW_PRIVATE', false),
    bodyIdleTimeoutMs: flags.bodyIdleTimeoutMs ?? int('ROLLCALL_BODY_IDLE_TIMEOUT_MS', 5000, 100, 600_000),
    heapGrowthPercent:
      flags.heapGrowthPercent ?? int('ROLLCALL_HEAP_GROWTH_PERCENT', databaseUrl && /^postgres/.test(databaseUrl) ? 60 : 25, 0, 300),
    resultRetentionDays: flags.resultRetentionDays ?? int('ROLLCALL_RESULT_RETENTION_DAYS', 30, 0, 36_500),
    idempotencyTtlHours: flags.idempotencyTtlHours ?? int('ROLLCALL_IDEMPOTENCY_TTL_HOURS', 24, 1, 8760),
    retentionIntervalMs: flags.retentionIntervalMs ?? int('ROLLCALL_RETENTION_INTERVAL_MS', 600_000, 1000, 86_400_000),
  }
  if (problems.length) throw new ConfigError(problems)
  return Object.freeze(config)
}
