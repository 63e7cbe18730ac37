/** Settings and machine facts shared by the benchmark's parts. */
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
export const README = fileURLToPath(new URL('./README.md', import.meta.url))
export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef'
export const RAW_TIMEOUT_MS = 30 * 60_000
export const READY_TIMEOUT_MS = 30_000
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export type Engine = 'sqlite' | 'postgres'

export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw.replace(/_/g, ''))
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  return n
}

/** A comma-separated list from the environment, each item one of `allowed`, deduplicated. */
export function listOf<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return [...fallback]
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const e of list)
    if (!allowed.includes(e as T)) throw new Error(`${name}: unknown value ${JSON.stringify(e)} (use ${allowed.join(', ')})`)
  return [...new Set(list)] as T[]
}

export const engines = (): Engine[] => listOf('BENCH_ENGINES', ['sqlite', 'postgres'] as const, ['sqlite', 'postgres'])

export const postgresAdminUrl = (): string => process.env.BENCH_POSTGRES_URL || DEFAULT_POSTGRES_URL

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  const u = new URL(url)
  u.password = ''
  return u.toString()
}

export interface Machine {
  date: string
  node: string
  platform: string
  cpuModel: string
  cores: number
  memoryGiB: number
}

export function machine(): Machine {
  const cpu = cpus()
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: totalmem() / 2 ** 30,
  }
}

/** 1, 5 and 15 minute load averages, rounded. */
export const load = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100)
