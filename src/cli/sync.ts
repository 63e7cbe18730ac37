import { createInterface } from 'node:readline/promises'
import { type Client, CliError } from './client.js'
import { type ImportFlags, runImport } from './import.js'
import { applyPlan } from './jobs.js'
import { fmtInt, type ProgressReporter } from './progress.js'
import type { JobView } from '../core/job-view.js'

export interface SyncFlags extends Omit<ImportFlags, 'dryRun' | 'absent'> {
  absent: string
  yes?: boolean
}

interface IO {
  out: NodeJS.WritableStream
  progress: ProgressReporter
  signal?: AbortSignal
  /** Asks the question and resolves with the answer; absent when nobody can answer (not a terminal). */
  ask?: (question: string) => Promise<string>
}

/** Asks on the terminal; undefined when stdin is not one (a script must pass --yes). */
export function terminalQuestion(): IO['ask'] {
  if (!process.stdin.isTTY) return undefined
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout })
    try {
      return await rl.question(question)
    } finally {
      rl.close()
    }
  }
}

/**
 * `rollcall sync FILE`: makes the directory equal to the file. Runs the file as a dry-run mirror
 * import (the plan), shows what it would create, update and deactivate or delete, asks (or, with
 * --yes, goes on unless the absent users are over --max-absent), then applies exactly that plan:
 * a user changed since the plan is a conflict, left alone.
 */
export async function runSync(client: Client, file: string, flags: SyncFlags, io: IO): Promise<JobView | null> {
  if (flags.absent !== 'deactivate' && flags.absent !== 'delete' && flags.absent !== 'keep')
    throw new CliError(`--absent must be deactivate, delete or keep, got '${flags.absent}'`)
  const plan = await runImport(client, file, { ...flags, dryRun: true }, { out: io.out, progress: io.progress, signal: io.signal })
  const a = plan.absent
  const absentCount = a && a.phase !== 'skipped' ? (a.action === 'delete' ? a.deleted : a.deactivated) : 0
  if (absentCount > 0 && a) {
    const sample = a.sample.map((u) => u.email ?? u.username ?? u.externalId ?? u.id)
    io.out.write(
      `  e.g. ${sample.join(', ')}${absentCount > sample.length ? ', …' : ''} (all of them: GET /api/v1/imports/${plan.id}/results?status=${a.action === 'delete' ? 'deleted' : 'deactivated'})\n`,
    )
  }
  if (plan.counts.created + plan.counts.updated + absentCount === 0) {
    io.out.write('Nothing to change.\n')
    return null
  }
  const over = a !== null && absentCount > a.limit
  if (flags.yes) {
    if (over)
      throw new CliError(
        `${fmtInt(absentCount)} absent users are over the limit of ${fmtInt(a.limit)} (--max-absent); nothing was changed. Review the plan and apply it (rollcall jobs apply ${plan.id}), or run again with a higher --max-absent`,
      )
  } else {
    if (!io.ask)
      throw new CliError(`not a terminal, so nobody can confirm: pass --yes, or apply the plan later (rollcall jobs apply ${plan.id})`)
    if (over) io.out.write(`Warning: that is over the limit of ${fmtInt(a.limit)} absent users (--max-absent).\n`)
    const answer = (await io.ask('Apply this plan? [y/N] ')).trim().toLowerCase()
    if (answer !== 'y' && answer !== 'yes') {
      io.out.write(`Nothing was changed. The plan stays available: rollcall jobs apply ${plan.id}\n`)
      return null
    }
  }
  return applyPlan(client, plan.id, io.out, (v) => io.progress.job(v))
}
