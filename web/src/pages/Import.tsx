import { api, enc, type ImportJob } from '../api'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

/** An import job's state and counts (the full import screens come with the import wizard). */
export function ImportPage({ id }: { id: string }) {
  const job = useLoad(`import:${id}`, (signal) => api<ImportJob>('GET', `/imports/${enc(id)}`, undefined, { signal }))
  const j = job.data
  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link>
        {j && (
          <>
            {' '}
            / <Link to={`/directories/${enc(j.directoryId)}`}>Directory</Link>
          </>
        )}{' '}
        / Import
      </p>
      <h1>Import {id.slice(0, 8)}</h1>
      <ErrorNote error={job.error} />
      {j && (
        <dl className="fields">
          <div>
            <dt>ID</dt>
            <dd>
              <code className="small">{j.id}</code>
            </dd>
          </div>
          <div>
            <dt>Kind</dt>
            <dd>{j.kind}</dd>
          </div>
          <div>
            <dt>State</dt>
            <dd>{j.state}</dd>
          </div>
          <div>
            <dt>Format</dt>
            <dd>{j.format}</dd>
          </div>
          {Object.entries(j.counts).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v ?? '—'}</dd>
            </div>
          ))}
          <div>
            <dt>Created</dt>
            <dd>{formatTime(j.createdAt)}</dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>{formatTime(j.finishedAt)}</dd>
          </div>
          {j.error && (
            <div>
              <dt>Error</dt>
              <dd>{j.error}</dd>
            </div>
          )}
        </dl>
      )}
    </section>
  )
}
