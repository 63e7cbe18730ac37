import { api, type Directory, enc, type ImportJob } from '../api'
import { ImportActions } from '../imports/Actions'
import { MirrorSummary, mirrorOptionsText } from '../imports/MirrorSummary'
import { Counts, ImportProgress } from '../imports/Progress'
import { ResultsTable } from '../imports/ResultsTable'
import { RevertResult } from '../imports/RevertResult'
import { END_STATES, stateLabel, useImportJob } from '../imports/use-import'
import { KeyName, useKeyNames } from '../key-names'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

const kindOf = (j: ImportJob) =>
  j.kind === 'apply' ? 'apply of a plan' : j.options.dryRun ? 'dry run (a plan, nothing written)' : 'import'

/**
 * An import's page: state, live progress, counts, and what to do next. A dry run shows its plan
 * (a sample of per-field changes, every failed row, duplicates) with "Apply this plan"; a written
 * import shows its results, failed rows to download, and "Revert".
 */
export function ImportPage({ id }: { id: string }) {
  const { job: j, error, update } = useImportJob(id)
  const keyNames = useKeyNames()
  const dirId = j?.directoryId ?? ''
  const directory = useLoad(`dir:${dirId}`, (signal) =>
    dirId ? api<Directory>('GET', `/directories/${enc(dirId)}`, undefined, { signal }) : Promise.resolve(null),
  )
  const dir = directory.data ? (directory.data.externalId ?? directory.data.id) : dirId
  const ended = j !== null && END_STATES.has(j.state)
  // A mirror import waiting for a confirmation has written its rows: their results can be read already.
  const rowsIn = ended || j?.state === 'needs_confirmation'
  const mirrorOptions = j ? mirrorOptionsText(j.options) : null

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link>
        {j && (
          <>
            {' '}
            / <Link to={`/directories/${enc(dir)}`}>{directory.data?.name ?? 'Directory'}</Link> /{' '}
            <Link to={`/directories/${enc(dir)}/imports`}>Imports</Link>
          </>
        )}{' '}
        / {id.slice(0, 8)}
      </p>
      <h1>
        {j?.options.dryRun ? 'Plan' : 'Import'} {id.slice(0, 8)}
      </h1>
      <ErrorNote error={error} />
      {j && (
        <>
          <dl className="fields summary">
            <div>
              <dt>State</dt>
              <dd>
                <strong className={`state ${j.state}`}>{stateLabel(j.state)}</strong>
              </dd>
            </div>
            <div>
              <dt>Kind</dt>
              <dd>
                {kindOf(j)}
                {j.sourceJobId && (
                  <>
                    {' '}
                    (<Link to={`/imports/${enc(j.sourceJobId)}`}>the plan {j.sourceJobId.slice(0, 8)}</Link>)
                  </>
                )}
              </dd>
            </div>
            <div>
              <dt>Options</dt>
              <dd>
                {j.format.toUpperCase()} · mode {j.options.mode} · match {j.options.match.join(', ')}
                {j.options.atomic ? ' · atomic' : ''}
                {j.options.maxErrors ? ` · at most ${j.options.maxErrors} errors` : ''}
                {mirrorOptions ? ` · ${mirrorOptions}` : ''}
              </dd>
            </div>
            <div>
              <dt>Started by</dt>
              <dd>
                <KeyName id={j.keyId} names={keyNames} />
                {typeof j.options.channel === 'string' ? ` · ${j.options.channel}` : ''}
                {j.requestId && (
                  <>
                    {' '}
                    · request <code className="small">{j.requestId}</code>
                  </>
                )}
              </dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{formatTime(j.createdAt)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{formatTime(j.finishedAt)}</dd>
            </div>
            <div>
              <dt>ID</dt>
              <dd>
                <code className="small">{j.id}</code>
              </dd>
            </div>
          </dl>
          {j.error && (
            <div role="alert" className="error">
              <p>{j.error}</p>
            </div>
          )}
          <ImportProgress job={j} />
          <Counts job={j} caption={j.options.dryRun ? 'What applying the plan will do' : 'Counts'} />
          <MirrorSummary job={j} dir={dir} update={update} />
          <ImportActions job={j} update={update} />
          <RevertResult job={j} />
          {ended && j.options.dryRun && j.state === 'completed' && <PlanView job={j} dir={dir} />}
          {rowsIn && !j.options.dryRun && (
            <ResultsTable key={`results:${j.state}`} jobId={j.id} dir={dir} title="Results" filter empty="No rows." />
          )}
        </>
      )}
    </section>
  )
}

/** A dry run's plan: a sample of rows with their per-field changes, every failed row, duplicates, the users missing from the file. */
function PlanView({ job, dir }: { job: ImportJob; dir: string }) {
  return (
    <>
      <ResultsTable jobId={job.id} dir={dir} title="Sample of the plan" pageSize={20} more={false} empty="The file has no rows." />
      <ResultsTable jobId={job.id} dir={dir} title="Failed rows" status="failed" empty="No row fails." />
      <ResultsTable
        jobId={job.id}
        dir={dir}
        title="Duplicates in the file"
        warning="duplicate_in_input"
        empty="No user appears twice in the file."
      />
      {job.absent && job.absent.phase !== 'skipped' && (
        <ResultsTable
          jobId={job.id}
          dir={dir}
          title={`Users the plan ${job.absent.action === 'delete' ? 'deletes' : 'deactivates'}`}
          status={job.absent.action === 'delete' ? 'deleted' : 'deactivated'}
          empty="Every user in scope is in the file."
        />
      )}
    </>
  )
}
