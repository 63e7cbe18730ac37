import { ApiError, type Client, CliError, serverEvents } from './client.js'
import { fmtDuration, fmtInt } from './progress.js'
import type { JobView } from '../core/job-view.js'
import { RESTING_JOB_STATES } from '../core/jobs.js'

/** States a job does not leave by itself (a mirror import waiting for a confirmation among them). */
export const END_STATES: ReadonlySet<string> = RESTING_JOB_STATES

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        resolve()
      },
      { once: true },
    )
  })

const jobPath = (id: string) => `/api/v1/imports/${encodeURIComponent(id)}`

/**
 * Follows a job to its end: the server-sent events of `GET …/events`, or, where they are not
 * available or the stream breaks off, polling `GET /api/v1/imports/{id}` every second.
 */
export async function watchJob(
  client: Client,
  id: string,
  onUpdate: (view: JobView) => void,
  opts: { signal?: AbortSignal; until?: (view: JobView) => boolean; events?: boolean } = {},
): Promise<JobView> {
  const done = opts.until ?? ((v: JobView) => END_STATES.has(v.state))
  if (opts.events !== false) {
    try {
      const res = await client.request('GET', `${jobPath(id)}/events`, { headers: { accept: 'text/event-stream' }, signal: opts.signal })
      if (res.body) {
        for await (const ev of serverEvents(res.body)) {
          if (ev.event !== 'progress' && ev.event !== 'end') continue
          const view = JSON.parse(ev.data) as JobView
          onUpdate(view)
          if (done(view)) return view
        }
      }
    } catch (e) {
      // A refusal about the job itself (404, 401, 403) is final; a broken stream falls back to polling.
      if (e instanceof ApiError && e.code !== 'route_not_found' && e.status < 500) throw e
      if (opts.signal?.aborted) throw new CliError('interrupted')
    }
  }
  for (;;) {
    if (opts.signal?.aborted) throw new CliError('interrupted')
    const view = await client.json<JobView>('GET', jobPath(id), { signal: opts.signal })
    onUpdate(view)
    if (done(view)) return view
    await sleep(1000, opts.signal)
  }
}

function elapsed(v: JobView): string {
  if (!v.startedAt) return ''
  const end = v.finishedAt ? Date.parse(v.finishedAt) : Date.now()
  return fmtDuration((end - Date.parse(v.startedAt)) / 1000)
}

/** `5 rows: 3 created, 0 updated, 0 unchanged, 2 failed`. */
export function countsLine(v: JobView): string {
  const c = v.counts
  const rows = c.total ?? c.processed
  const parts = [
    `${fmtInt(c.created)} created`,
    `${fmtInt(c.updated)} updated`,
    `${fmtInt(c.unchanged)} unchanged`,
    `${fmtInt(c.failed)} failed`,
  ]
  if (c.conflicts) parts.push(`${fmtInt(c.conflicts)} conflicts`)
  return `${fmtInt(rows)} row${rows === 1 ? '' : 's'}: ${parts.join(', ')}`
}

/** The one-paragraph summary printed when a job ends. */
export function summaryOf(v: JobView): string {
  const took = elapsed(v)
  const rate = v.rowsPerSecond ? `, ${fmtInt(v.rowsPerSecond)} rows/s` : ''
  const what = v.kind === 'apply' ? 'Apply' : 'Import'
  const lines = [`${what} ${v.id} ${v.state}${took ? ` in ${took}` : ''}${rate}. ${countsLine(v)}.`]
  if (v.options?.dryRun && v.kind === 'import') lines.push('Dry run: nothing was written; the results hold the plan.')
  const absent = absentLine(v)
  if (absent) lines.push(absent)
  if (v.error) lines.push(`Reason: ${v.error}`)
  return lines.join('\n')
}

/** A mirror import's absent phase in a sentence; null for other imports. */
export function absentLine(v: JobView): string | null {
  const a = v.absent
  if (!a) return null
  const verb = a.action === 'delete' ? 'deleted' : 'deactivated'
  const of = `${fmtInt(a.absent)} of ${fmtInt(a.scoped)} users in scope`
  if (a.phase === 'skipped') return `Absent users: none ${verb}. ${a.reason ?? ''}`.trim()
  if (a.phase === 'needs_confirmation') {
    const sample = a.sample.map((u) => u.email ?? u.username ?? u.externalId ?? u.id).join(', ')
    return (
      `Absent users: ${of} would be ${verb}, over the limit of ${fmtInt(a.limit)} (maxAbsent); nobody was ${verb} yet.` +
      `${sample ? ` For example: ${sample}.` : ''} Confirm with: rollcall jobs confirm ${v.id} (or cancel it: rollcall jobs cancel ${v.id})`
    )
  }
  const done = a.action === 'delete' ? a.deleted : a.deactivated
  const would = v.options?.dryRun && v.kind === 'import'
  return `Absent users: ${fmtInt(done)} ${would ? `would be ${verb}` : verb} (${of}${a.absent > a.limit ? `, over the limit of ${fmtInt(a.limit)}` : ''}).`
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')
}

export async function listJobs(
  client: Client,
  opts: { directory: string; state?: string; limit?: string; json?: boolean },
  out: NodeJS.WritableStream,
): Promise<void> {
  const { data } = await client.json<{ data: JobView[] }>('GET', `/api/v1/directories/${encodeURIComponent(opts.directory)}/imports`, {
    query: { state: opts.state, limit: opts.limit },
  })
  if (opts.json) {
    out.write(`${JSON.stringify(data, null, 2)}\n`)
    return
  }
  if (data.length === 0) {
    out.write(`No imports${opts.state ? ` ${opts.state}` : ''} in directory ${opts.directory}.\n`)
    return
  }
  const rows = [['ID', 'STATE', 'CREATED', 'ROWS', 'CREATED', 'UPDATED', 'UNCHANGED', 'FAILED', 'MODE']]
  for (const j of data) {
    const c = j.counts
    rows.push([
      j.id,
      j.state,
      j.createdAt.replace(/\.\d+Z$/, 'Z'),
      c.total === null ? `${fmtInt(c.processed)}/?` : `${fmtInt(c.processed)}/${fmtInt(c.total)}`,
      fmtInt(c.created),
      fmtInt(c.updated),
      fmtInt(c.unchanged),
      fmtInt(c.failed),
      `${j.options?.mode ?? ''}${j.options?.dryRun ? ' (dry run)' : ''}${j.kind === 'apply' ? ' (apply)' : ''}`,
    ])
  }
  out.write(`${table(rows)}\n`)
}

export async function showJob(client: Client, id: string, opts: { json?: boolean }, out: NodeJS.WritableStream): Promise<void> {
  const v = await client.json<JobView>('GET', jobPath(id))
  if (opts.json) {
    out.write(`${JSON.stringify(v, null, 2)}\n`)
    return
  }
  const o = v.options
  const lines: [string, string][] = [
    ['Import', v.id],
    ['Directory', v.directoryId],
    ['Kind', v.kind + (v.sourceJobId ? ` of ${v.sourceJobId}` : '')],
    ['State', v.state],
    ['Format', `${v.format}, ${v.inputBytes.toLocaleString('en-US')} bytes`],
    [
      'Options',
      `mode ${o.mode}, match ${o.match.join(',')}, metadata ${o.metadata}${o.atomic ? ', atomic' : ''}${o.dryRun ? ', dry run' : ''}${o.maxErrors ? `, maxErrors ${o.maxErrors}` : ''}`,
    ],
    ['Rows', countsLine(v)],
  ]
  if (o.absent && o.absent !== 'keep')
    lines.push([
      'Mirror',
      `absent users ${o.absent === 'delete' ? 'deleted' : 'deactivated'}${o.scope ? `, scope ${JSON.stringify(o.scope)}` : ''}`,
    ])
  const absent = absentLine(v)
  if (absent) lines.push(['Absent', absent.replace(/^Absent users: /, '')])
  if (v.rowsPerSecond !== null) lines.push(['Rate', `${fmtInt(v.rowsPerSecond)} rows/s`])
  if (v.etaSeconds !== null && !END_STATES.has(v.state)) lines.push(['ETA', fmtDuration(v.etaSeconds)])
  if (v.error) lines.push(['Error', v.error])
  lines.push(['Created', v.createdAt])
  if (v.startedAt) lines.push(['Started', v.startedAt])
  if (v.finishedAt) lines.push(['Finished', v.finishedAt])
  if (v.counts.failed > 0) lines.push(['Failed rows', `${client.target.url}${jobPath(v.id)}/failed.csv`])
  const w = Math.max(...lines.map(([k]) => k.length)) + 1
  out.write(`${lines.map(([k, val]) => `${`${k}:`.padEnd(w)} ${val}`).join('\n')}\n`)
}

/** POST …/confirm: a mirror import stopped by its safeguard goes on; then follows it to its end. */
export async function confirmJob(client: Client, id: string, out: NodeJS.WritableStream): Promise<JobView> {
  const v = await client.json<JobView>('POST', `${jobPath(id)}/confirm`)
  out.write(`Import ${v.id} confirmed: its absent users are being changed.\n`)
  const end = await watchJob(client, v.id, () => {}, { until: (view) => END_STATES.has(view.state) && view.state !== 'needs_confirmation' })
  out.write(`${summaryOf(end)}\n`)
  if (end.state !== 'completed') throw new CliError(`import ${end.id} ${end.state}${end.error ? `: ${end.error}` : ''}`)
  return end
}

/** POST …/apply: writes a dry run's plan as a new job, and follows it to its end. */
export async function applyPlan(
  client: Client,
  id: string,
  out: NodeJS.WritableStream,
  onUpdate: (v: JobView) => void = () => {},
): Promise<JobView> {
  const v = await client.json<JobView>('POST', `${jobPath(id)}/apply`)
  out.write(`Applying the plan of ${id} as import ${v.id}.\n`)
  const end = await watchJob(client, v.id, onUpdate)
  out.write(`${summaryOf(end)}\n`)
  if (end.state !== 'completed') throw new CliError(`apply ${end.id} ${end.state}${end.error ? `: ${end.error}` : ''}`)
  return end
}

export async function cancelJob(client: Client, id: string, out: NodeJS.WritableStream): Promise<void> {
  const v = await client.json<JobView>('POST', `${jobPath(id)}/cancel`)
  if (v.state === 'cancelled') out.write(`Import ${v.id} cancelled after ${fmtInt(v.counts.processed)} rows.\n`)
  else out.write(`Import ${v.id} is ${v.state}: it stops after the batch in flight (rollcall jobs show ${v.id}).\n`)
}

/** POST …/revert, then (unless told not to) follows the job until it is no longer reverting. */
export async function revertJob(client: Client, id: string, opts: { wait: boolean }, out: NodeJS.WritableStream): Promise<void> {
  let v: JobView
  try {
    v = await client.json<JobView>('POST', `${jobPath(id)}/revert`)
  } catch (e) {
    if (e instanceof ApiError && e.code === 'route_not_found')
      throw new CliError(
        `this server cannot revert imports: it has no route POST /api/v1/imports/{id}/revert (it answered: ${e.message}); upgrade the server`,
      )
    throw e
  }
  out.write(`Reverting import ${v.id} (${v.state}).\n`)
  if (!opts.wait) return
  let last = ''
  const end = await watchJob(
    client,
    v.id,
    (view) => {
      const line = `${view.state}: ${fmtInt(view.counts.processed)} rows`
      if (line !== last) out.write(`${line}\n`)
      last = line
    },
    { until: (view) => view.state !== 'reverting' && view.state !== 'queued' && view.state !== 'running', events: false },
  )
  if (end.state !== 'reverted') throw new CliError(`the revert of import ${end.id} ended ${end.state}${end.error ? `: ${end.error}` : ''}`)
  const r = end.revert
  const what = r ? `: ${fmtInt(r.restored)} users restored, ${fmtInt(r.deleted)} deleted again` : ''
  const conflicts = r?.conflicts ?? end.counts.conflicts
  out.write(
    `Import ${end.id} reverted${what}${conflicts ? `; ${fmtInt(conflicts)} fields changed since by others were left as they are (GET ${jobPath(end.id)}/conflicts)` : ''}.\n`,
  )
}
