import { useState } from 'react'
import { api, type AbsentSummary, type AbsentUserRef, enc, type ImportJob } from '../api'
import { ErrorNote, formatValue, Link } from '../ui'
import { plural } from './use-import'

const nameOf = (u: AbsentUserRef) => u.email ?? u.username ?? u.externalId ?? u.id

/** A mirror import's scope as a person reads it: `metadata.source = hr and …`, or every user. */
export function scopeText(scope: unknown): string {
  const entries = scope && typeof scope === 'object' ? Object.entries(scope) : []
  return entries.length ? entries.map(([k, v]) => `${k} = ${formatValue(v)}`).join(' and ') : 'every user of the directory'
}

/** A mirror import's options in a line: `deactivate absent users (scope …, at most 10 %, …)`. */
export function mirrorOptionsText(options: ImportJob['options']): string | null {
  if (options.absent !== 'deactivate' && options.absent !== 'delete') return null
  const max = options.maxAbsent as { count?: number; percent?: number } | undefined
  const limit = max?.percent !== undefined ? `${max.percent} %` : max?.count !== undefined ? String(max.count) : '10 %'
  return `mirror: ${options.absent} absent users (${scopeText(options.scope)}; at most ${limit} without a confirmation${options.absentOnErrors ? '; even if rows fail' : ''})`
}

/**
 * What a mirror import did (or, for a dry run, plans to do) to the users of its scope that no row
 * named: the numbers, why nobody was changed when it skipped them, and, when it stopped over its
 * limit (`needs_confirmation`), a warning with a sample of them and the two ways on: confirm (the
 * job is queued again and changes them all) or cancel (the rows it wrote stay).
 */
export function MirrorSummary({ job, dir, update }: { job: ImportJob; dir: string; update: (j: ImportJob) => void }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const a = job.absent
  if (!a) return null
  const dry = job.options.dryRun
  const verb = a.action === 'delete' ? 'deleted' : 'deactivated'
  const infinitive = a.action === 'delete' ? 'delete' : 'deactivate'
  const changed = a.action === 'delete' ? a.deleted : a.deactivated
  const waiting = job.state === 'needs_confirmation'

  async function act(action: 'confirm' | 'cancel') {
    setBusy(true)
    setError(null)
    try {
      update(await api<ImportJob>('POST', `/imports/${enc(job.id)}/${action}`))
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="mirror-summary" aria-labelledby="mirror-title">
      <h2 id="mirror-title">Users missing from the file</h2>
      <p className="muted">
        Mirror import: {a.action === 'delete' ? 'delete' : 'deactivate'} the users of {scopeText(job.options.scope)} that no row names.
      </p>
      {waiting && (
        <div className="warning-block" role="group" aria-label="Confirm the users missing from the file">
          <p>
            <strong>
              {plural(a.absent, 'user')} would be {verb} — more than the limit of {a.limit.toLocaleString()}
            </strong>{' '}
            (maxAbsent, of {plural(a.scoped, a.action === 'deactivate' ? 'active user' : 'user')} in scope).
          </p>
          <p>
            The file&apos;s rows are written; nobody has been {verb} yet. The import waits: confirm to {infinitive} all{' '}
            {a.absent.toLocaleString()} of them, or cancel it (the rows it wrote stay).
          </p>
          {a.sample.length > 0 && (
            <>
              <p id="absent-sample-title">
                {a.sample.length < a.absent ? `The first ${a.sample.length} of them:` : a.sample.length === 1 ? 'It is:' : 'They are:'}
              </p>
              <ul className="absent-sample" aria-labelledby="absent-sample-title">
                {a.sample.map((u) => (
                  <li key={u.id}>
                    <Link to={`/directories/${enc(dir)}/users/${enc(u.id)}`}>{nameOf(u)}</Link>
                  </li>
                ))}
              </ul>
            </>
          )}
          <div className="button-row">
            <button type="button" className="danger" disabled={busy} onClick={() => void act('confirm')}>
              Confirm and {infinitive}
            </button>
            <button type="button" className="quiet" disabled={busy} onClick={() => void act('cancel')}>
              Cancel import
            </button>
          </div>
          <ErrorNote error={error} />
        </div>
      )}
      {!waiting && <p className={a.phase === 'skipped' || (dry && a.absent > a.limit) ? 'notice' : undefined}>{outcome(job, a, verb)}</p>}
      {a.phase !== 'skipped' && (
        <dl className="counts" aria-label="Mirror counts">
          <div className="count">
            <dt>{a.action === 'deactivate' ? 'Active in scope' : 'In scope'}</dt>
            <dd>{a.scoped}</dd>
          </div>
          <div className="count">
            <dt>Missing from the file</dt>
            <dd>{a.absent}</dd>
          </div>
          <div className="count">
            <dt>Limit</dt>
            <dd>{a.limit}</dd>
          </div>
          <div className={`count ${a.action === 'delete' ? 'deleted' : 'deactivated'}`}>
            <dt>{dry ? `To ${infinitive}` : a.action === 'delete' ? 'Deleted' : 'Deactivated'}</dt>
            <dd>{changed}</dd>
          </div>
        </dl>
      )}
    </section>
  )
}

/** The absent phase's outcome in a sentence (any state but needs_confirmation, which has its own block). */
function outcome(job: ImportJob, a: AbsentSummary, verb: string): string {
  const dry = job.options.dryRun
  const changed = a.action === 'delete' ? a.deleted : a.deactivated
  const overLimit = a.absent > a.limit
  if (a.phase === 'skipped') return `Nobody ${dry ? 'would be' : 'was'} ${verb}: ${a.reason ?? 'the absent users were skipped'}.`
  if (job.state === 'cancelled') return `Cancelled: nobody was ${verb}; the rows the import wrote stay.`
  if (job.state === 'failed')
    return `The import failed: ${plural(changed, 'user')} ${changed === 1 ? 'was' : 'were'} ${verb} before it stopped.`
  if (a.phase === 'needs_confirmation')
    return `Confirmed: ${plural(a.absent, 'user')} ${a.absent === 1 ? 'is' : 'are'} about to be ${verb} (over the limit of ${a.limit}).`
  if (dry) {
    const total = `Applying this plan ${a.action === 'delete' ? 'deletes' : 'deactivates'} ${plural(changed, 'user')} missing from the file.`
    return overLimit ? `${total} That is more than the limit of ${a.limit} (maxAbsent): applying the plan is the confirmation.` : total
  }
  if (a.phase === 'running') return `${verb[0].toUpperCase()}${verb.slice(1)} ${changed.toLocaleString()} of ${a.absent.toLocaleString()}…`
  return `${plural(changed, 'user')} ${verb}${a.confirmed && overLimit ? `, confirmed over the limit of ${a.limit}` : ''}.`
}
