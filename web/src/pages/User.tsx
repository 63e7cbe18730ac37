import { useEffect, useState } from 'react'
import { KeyName, useKeyNames } from '../key-names'
import { api, type Change, type Directory, enc, type Field, type Page, type User } from '../api'
import { USER_FIELDS } from '../../../src/core/user-fields'
import { ErrorNote, formatTime, formatValue, Link, useLoad } from '../ui'
import { UserGroups } from './Groups'
import { UserEditor } from './UserEdit'

/** Built-in fields from the server's own table, in its order (metadata and custom fields follow). */
const BUILT_IN = USER_FIELDS.map((f) => ({ key: f.key, label: f.label, time: f.type === 'datetime' }))

export function UserPage({ dir, id }: { dir: string; id: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const user = useLoad(`user:${dir}/${id}`, (signal) => api<User>('GET', `${base}/users/${enc(id)}`, undefined, { signal }))
  const fields = useLoad(`fields:${dir}`, (signal) => api<{ data: Field[] }>('GET', `${base}/fields`, undefined, { signal }))
  const u = user.data
  const title = u ? (u.displayName ?? u.email ?? u.username ?? u.id) : 'User'
  const labels = new Map((fields.data?.data ?? []).map((f) => [f.key, f.label]))
  const [editing, setEditing] = useState(false)
  const userPath = `${base}/users/${enc(id)}`

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / {title}
      </p>
      <h1>
        {title}
        {u && !u.active && <span className="badge deactivated">deactivated</span>}
      </h1>
      <ErrorNote error={user.error} />
      {user.loading && !u && <p className="muted">Loading…</p>}
      {u && editing && fields.data && (
        <UserEditor
          base={userPath}
          user={u}
          fields={fields.data.data}
          onSaved={(saved) => {
            if (saved.version !== u.version) user.reload()
            setEditing(false)
          }}
          onCancel={() => setEditing(false)}
        />
      )}
      {u && (
        <div className="columns">
          <div>
            <div className="heading-row">
              <h2>Fields</h2>
              {!editing && (
                <button type="button" onClick={() => setEditing(true)} disabled={!fields.data}>
                  Edit
                </button>
              )}
            </div>
            <dl className="fields">
              {BUILT_IN.map(({ key, label, time }) => (
                <div key={key}>
                  <dt>{label}</dt>
                  <dd>
                    {u[key] === null ? (
                      <span className="muted">—</span>
                    ) : time ? (
                      <time dateTime={String(u[key])}>{formatTime(String(u[key]))}</time>
                    ) : (
                      formatValue(u[key])
                    )}
                  </dd>
                </div>
              ))}
            </dl>
            <h2>Custom fields</h2>
            {Object.keys(u.fields).length === 0 ? (
              <p className="muted">None set.</p>
            ) : (
              <dl className="fields">
                {Object.entries(u.fields).map(([k, v]) => (
                  <div key={k}>
                    <dt>
                      {labels.get(k) ?? k} <code className="small">{k}</code>
                    </dt>
                    <dd>{formatValue(v)}</dd>
                  </div>
                ))}
              </dl>
            )}
            <UserGroups dir={dir} id={id} />
            <h2>Metadata</h2>
            <pre className="json" aria-label="Metadata">
              {JSON.stringify(u.metadata, null, 2)}
            </pre>
          </div>
          <History key={u.version} base={userPath} />
        </div>
      )}
    </section>
  )
}

function History({ base }: { base: string }) {
  const [items, setItems] = useState<Change[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [done, setDone] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(false)
  const keyNames = useKeyNames()

  async function load(cursor: string | null) {
    setLoading(true)
    setError(null)
    try {
      const page = await api<Page<Change>>('GET', `${base}/history?limit=50${cursor ? `&cursor=${enc(cursor)}` : ''}`)
      setItems((prev) => (cursor ? [...prev, ...page.data] : page.data))
      setNext(page.nextCursor)
      setDone(page.nextCursor === null)
    } catch (e) {
      setError(e)
    } finally {
      setLoading(false)
    }
  }

  useEffect(() => {
    let live = true
    api<Page<Change>>('GET', `${base}/history?limit=50`).then(
      (page) => {
        if (!live) return
        setItems(page.data)
        setNext(page.nextCursor)
        setDone(page.nextCursor === null)
      },
      (e: unknown) => live && setError(e),
    )
    return () => {
      live = false
    }
  }, [base])

  return (
    <div>
      <h2 id="history-title">History</h2>
      <ErrorNote error={error} />
      <ol className="timeline" aria-labelledby="history-title">
        {items.map((c) => (
          <li key={c.seq} className={`change ${c.action}`}>
            <div className="change-head">
              <strong className="action">{c.action === 'create' ? 'Created' : c.action === 'delete' ? 'Deleted' : 'Updated'}</strong>{' '}
              <time dateTime={c.at}>{formatTime(c.at)}</time>
              <span className="badge" title="Channel">
                {c.channel}
              </span>
            </div>
            <table className="diff">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Before</th>
                  <th scope="col">
                    <span className="sr-only">becomes</span>
                  </th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(c.changes).map(([field, [before, after]]) => (
                  <tr key={field}>
                    <th scope="row">
                      <code>{field}</code>
                    </th>
                    <td className="before">{formatValue(before)}</td>
                    <td aria-hidden="true">→</td>
                    <td className="after">{formatValue(after)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="change-meta">
              Key: <KeyName id={c.keyId} names={keyNames} /> · Request: {c.requestId ? <code className="small">{c.requestId}</code> : '—'}
              {c.jobId && (
                <>
                  {' '}
                  · <Link to={`/imports/${enc(c.jobId)}`}>Import {c.jobId.slice(0, 8)}</Link>
                </>
              )}
            </p>
          </li>
        ))}
      </ol>
      {done && items.length === 0 && <p className="muted">No recorded changes.</p>}
      {!done && next && (
        <button type="button" className="quiet" disabled={loading} onClick={() => void load(next)}>
          Load older changes
        </button>
      )}
    </div>
  )
}
