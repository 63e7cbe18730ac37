import { basename } from 'node:path'
import { type Command, Option } from 'commander'
import { Client, targetOf } from './client.js'
import { runChanges } from './changes.js'
import { runExport } from './export.js'
import { runImport } from './import.js'
import { applyPlan, cancelJob, confirmJob, listJobs, revertJob, showJob } from './jobs.js'
import { runSync, terminalQuestion } from './sync.js'
import { progressReporter } from './progress.js'

/** Commands that talk to a running server: import, export, changes, jobs. */

interface ServerFlags {
  server?: string
  key?: string
}

const withServer = (cmd: Command): Command =>
  cmd
    .option('--server <url>', 'the server, like http://127.0.0.1:3000 (default: $ROLLCALL_URL)')
    .option('--key <key>', 'an API key (default: $ROLLCALL_KEY)')

const clientOf = (flags: ServerFlags) => new Client(targetOf(flags))
const collect = (v: string, prev: string[] = []) => [...prev, v]

/** Ctrl-C: aborts what is in flight; the caller decides what that means (an import keeps running on the server). */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController()
  const onSigint = () => ac.abort()
  process.once('SIGINT', onSigint)
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onSigint) }
}

export function registerRemoteCommands(program: Command): void {
  withServer(
    program
      .command('import <file>')
      .description('Upload a CSV, NDJSON or JSON-array file as an import job, follow it, and write the failed rows beside the file')
      .requiredOption('--directory <dir>', 'the directory (its id or externalId)')
      .addOption(new Option('--format <format>', 'the file format (default: from the file name)').choices(['csv', 'ndjson', 'json']))
      .option('--mode <mode>', 'create | update | upsert (default upsert)')
      .option('--match <keys>', 'match key(s), comma-separated: id, externalId, email, username (default email)')
      .option('--metadata <how>', 'merge (JSON Merge Patch, default) | replace')
      .option('--dry-run', 'validate and diff every row, write nothing (the results hold the plan)')
      .option('--atomic', 'all rows or none')
      .option('--max-errors <n>', 'stop after this many failed rows')
      .option('--mapping <json>', 'JSON object column → field path ({"Mail":"email","Plan":"metadata.plan","Notes":""}), or @file.json')
      .option('--unmapped <how>', 'columns that map to no field: fail (default) | metadata | ignore')
      .option('--empty-means <what>', 'an empty cell: skip (leave the field, default) | null (clear it)')
      .option('--delimiter <d>', 'CSV delimiter: , ; | or tab (default: detected)')
      .option('--quote <char>', 'CSV quote character (default ")')
      .option('--no-header', 'the CSV has no header row')
      .option('--failed-out <file>', 'where to write the failed rows (default: <name>.failed.csv beside the file)')
      .option('--no-failed-out', 'do not write the failed rows')
      .addOption(
        new Option(
          '--absent <what>',
          'mirror: users of the directory the file does not name are kept (default), deactivated or deleted',
        ).choices(['keep', 'deactivate', 'delete']),
      )
      .option('--scope <field=value>', 'mirror: only users with this value can be absent (metadata.source=hr); repeat for more', collect)
      .option(
        '--max-absent <n|p%>',
        'mirror: stop for a confirmation over this many absent users, or this share of the scoped ones (default 10%)',
      )
      .option('--absent-on-errors', 'mirror: change absent users even though some rows failed'),
  ).action(async (file: string, opts) => {
    const client = clientOf(opts)
    const { signal, dispose } = interruptible()
    let jobId: string | undefined
    const progress = progressReporter(process.stdout, basename(file))
    signal.addEventListener('abort', () => {
      progress.stop()
      if (jobId)
        process.stderr.write(
          `\nStopped following import ${jobId}; it goes on running on the server (rollcall jobs show ${jobId}, rollcall jobs cancel ${jobId}).\n`,
        )
    })
    try {
      await runImport(client, file, opts, {
        out: process.stdout,
        signal,
        progress: {
          ...progress,
          uploaded: (job, estimate) => {
            jobId = job.id
            progress.uploaded(job, estimate)
          },
        },
      })
    } catch (e) {
      if (!signal.aborted) throw e
      if (!jobId) process.stderr.write('\nrollcall: upload interrupted; nothing was imported\n')
      process.exitCode = 130
    } finally {
      dispose()
    }
  })

  withServer(
    program
      .command('sync <file>')
      .description(
        'Make a directory equal to a file: plan it (a dry-run mirror import), show what would be created, updated and deactivated or deleted, ask, then apply exactly that plan',
      )
      .requiredOption('--directory <dir>', 'the directory (its id or externalId)')
      .addOption(
        new Option(
          '--absent <what>',
          'users of the directory the file does not name: deactivate (default) or delete; keep changes nobody absent',
        )
          .choices(['deactivate', 'delete', 'keep'])
          .default('deactivate'),
      )
      .option('--scope <field=value>', 'only users with this value can be absent (metadata.source=hr); repeat for more', collect)
      .option('--max-absent <n|p%>', 'the most absent users changed without asking (default 10%); with --yes, more is refused')
      .option('--absent-on-errors', 'change absent users even though some rows failed (default: a failed row changes nobody absent)')
      .option('-y, --yes', 'apply without asking (scripts), unless the absent users are over --max-absent')
      .addOption(new Option('--format <format>', 'the file format (default: from the file name)').choices(['csv', 'ndjson', 'json']))
      .option('--mode <mode>', 'create | update | upsert (default upsert)')
      .option('--match <keys>', 'match key(s), comma-separated: id, externalId, email, username (default email)')
      .option('--metadata <how>', 'merge (JSON Merge Patch, default) | replace')
      .option('--mapping <json>', 'JSON object column → field path, or @file.json')
      .option('--unmapped <how>', 'columns that map to no field: fail (default) | metadata | ignore')
      .option('--empty-means <what>', 'an empty cell: skip (default) | null')
      .option('--delimiter <d>', 'CSV delimiter: , ; | or tab (default: detected)')
      .option('--no-header', 'the CSV has no header row')
      .option('--failed-out <file>', 'where to write the failed rows (default: <name>.failed.csv beside the file)'),
  ).action(async (file: string, opts) => {
    const { signal, dispose } = interruptible()
    try {
      await runSync(clientOf(opts), file, opts, {
        out: process.stdout,
        progress: progressReporter(process.stdout, basename(file)),
        signal,
        ask: terminalQuestion(),
      })
    } finally {
      dispose()
    }
  })

  withServer(
    program
      .command('export')
      .description('Stream every user of a directory as CSV or NDJSON')
      .requiredOption('--directory <dir>', 'the directory (its id or externalId)')
      .addOption(new Option('--format <format>', 'csv or ndjson (default: from --out, else csv)').choices(['csv', 'ndjson']))
      .option('-o, --out <file>', 'write to this file (default: stdout)'),
  ).action(async (opts) => {
    const toStdout = opts.out === undefined || opts.out === '-'
    await runExport(clientOf(opts), opts, { out: process.stdout, log: toStdout ? process.stderr : process.stdout })
  })

  withServer(
    program
      .command('changes')
      .description("A directory's change feed as NDJSON: every change record after a cursor, oldest first")
      .requiredOption('--directory <dir>', 'the directory (its id or externalId)')
      .option('--after <cursor>', 'go on after this cursor (a record’s cursor, or the one printed at the end)')
      .option('--follow', 'keep waiting for new records until interrupted (Ctrl-C)')
      .option('--limit <n>', 'records per request, 1 to 1000 (default 1000)'),
  ).action(async (opts) => {
    const { signal, dispose } = interruptible()
    try {
      await runChanges(clientOf(opts), opts, { out: process.stdout, log: process.stderr, signal })
    } finally {
      dispose()
    }
  })

  const jobs = program.command('jobs').description('Import jobs on a running server: list, show, confirm, apply, cancel, revert')

  withServer(
    jobs
      .command('list')
      .description("A directory's imports, newest first")
      .requiredOption('--directory <dir>', 'the directory (its id or externalId)')
      .option(
        '--state <state>',
        'only imports in this state: queued, running, needs_confirmation, completed, failed, cancelled, reverting, reverted',
      )
      .option('--limit <n>', 'at most this many (default 50, at most 500)')
      .option('--json', 'print the jobs as JSON'),
  ).action(async (opts) => {
    await listJobs(clientOf(opts), opts, process.stdout)
  })

  withServer(
    jobs.command('show <id>').description('An import: state, counts, rate, ETA, error').option('--json', 'print the job as JSON'),
  ).action(async (id: string, opts) => {
    await showJob(clientOf(opts), id, opts, process.stdout)
  })

  withServer(jobs.command('cancel <id>').description('Cancel a queued or running import (it stops after the batch in flight)')).action(
    async (id: string, opts) => {
      await cancelJob(clientOf(opts), id, process.stdout)
    },
  )

  withServer(
    jobs
      .command('confirm <id>')
      .description('Let a mirror import its safeguard stopped (needs_confirmation) change its absent users, and follow it to its end'),
  ).action(async (id: string, opts) => {
    await confirmJob(clientOf(opts), id, process.stdout)
  })

  withServer(
    jobs.command('apply <id>').description("Write a completed dry run's plan exactly as planned (a new job), and follow it"),
  ).action(async (id: string, opts) => {
    await applyPlan(clientOf(opts), id, process.stdout)
  })

  withServer(
    jobs
      .command('revert <id>')
      .description('Undo a completed import; fields changed since by others are left and reported as conflicts')
      .option('--no-wait', 'return once the revert is queued'),
  ).action(async (id: string, opts) => {
    await revertJob(clientOf(opts), id, { wait: opts.wait !== false }, process.stdout)
  })
}
