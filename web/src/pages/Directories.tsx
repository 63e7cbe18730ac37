import { type FormEvent, useState } from 'react'
import { api, type Directory } from '../api'
import { useAction } from '../action'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

const dirPath = (d: Directory) => `/directories/${encodeURIComponent(d.externalId ?? d.id)}`

export function DirectoriesPage() {
  const list = useLoad('directories', (signal) => api<{ data: Directory[] }>('GET', '/directories', undefined, { signal }))
  const [editing, setEditing] = useState<{ id: string; mode: 'rename' | 'delete' } | null>(null)

  return (
    <section>
      <h1>Directories</h1>
      <CreateDirectory onCreated={list.reload} />
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <p className="muted">Loading…</p>}
      {list.data && list.data.data.length === 0 && <p className="muted">No directories yet: create one above.</p>}
      {list.data && list.data.data.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col" className="num">
                Custom fields
              </th>
              <th scope="col">External ID</th>
              <th scope="col">ID</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((d) => (
              <DirectoryRow
                key={d.id}
                dir={d}
                mode={editing?.id === d.id ? editing.mode : null}
                onMode={(mode) => setEditing(mode ? { id: d.id, mode } : null)}
                onChanged={() => {
                  setEditing(null)
                  list.reload()
                }}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function CreateDirectory({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('')
  const [externalId, setExternalId] = useState('')
  const action = useAction()
  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      await api('POST', '/directories', { name: name.trim(), ...(externalId.trim() ? { externalId: externalId.trim() } : {}) })
      setName('')
      setExternalId('')
      onCreated()
    })
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label="New directory">
      <div>
        <label htmlFor="new-dir-name">Name</label>
        <input id="new-dir-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div>
        <label htmlFor="new-dir-ext">External ID (optional)</label>
        <input id="new-dir-ext" maxLength={255} value={externalId} onChange={(e) => setExternalId(e.target.value)} />
      </div>
      <button type="submit" disabled={action.busy || !name.trim()}>
        Create directory
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}

function DirectoryRow({
  dir,
  mode,
  onMode,
  onChanged,
}: {
  dir: Directory
  mode: 'rename' | 'delete' | null
  onMode: (m: 'rename' | 'delete' | null) => void
  onChanged: () => void
}) {
  return (
    <>
      <tr>
        <td>
          <Link to={dirPath(dir)}>{dir.name}</Link>
        </td>
        <DirectoryStats dir={dir} />
        <td>{dir.externalId ?? <span className="muted">—</span>}</td>
        <td>
          <code className="small">{dir.id}</code>
        </td>
        <td>{formatTime(dir.createdAt)}</td>
        <td className="actions">
          <Link to={`${dirPath(dir)}/fields`} className="action-link">
            <span className="sr-only">{dir.name}: </span>Fields
          </Link>
          <Link to={`${dirPath(dir)}/groups`} className="action-link">
            <span className="sr-only">{dir.name}: </span>Groups
          </Link>
          <Link to={`${dirPath(dir)}/webhooks`} className="action-link">
            <span className="sr-only">{dir.name}: </span>Webhooks
          </Link>
          <button
            type="button"
            className="quiet"
            aria-label={`Rename ${dir.name}`}
            onClick={() => onMode(mode === 'rename' ? null : 'rename')}
          >
            Rename
          </button>
          <button
            type="button"
            className="quiet danger"
            aria-label={`Delete ${dir.name}`}
            onClick={() => onMode(mode === 'delete' ? null : 'delete')}
          >
            Delete
          </button>
        </td>
      </tr>
      {mode && (
        <tr className="editor">
          <td colSpan={7}>
            {mode === 'rename' ? (
              <RenameForm dir={dir} onDone={onChanged} onCancel={() => onMode(null)} />
            ) : (
              <DeleteForm dir={dir} onDone={onChanged} onCancel={() => onMode(null)} />
            )}
          </td>
        </tr>
      )}
    </>
  )
}

/** The directory's user and custom field counts (`GET …/stats`), loaded per row. */
function DirectoryStats({ dir }: { dir: Directory }) {
  const stats = useLoad(`stats:${dir.id}:${dir.updatedAt}`, (signal) =>
    api<{ users: number; customFields: number }>('GET', `/directories/${encodeURIComponent(dir.id)}/stats`, undefined, { signal }),
  )
  const s = stats.data
  return (
    <>
      <td className="num">{s ? s.users.toLocaleString() : stats.error ? '?' : '…'}</td>
      <td className="num">{s ? <Link to={`${dirPath(dir)}/fields`}>{s.customFields.toLocaleString()}</Link> : stats.error ? '?' : '…'}</td>
    </>
  )
}

function RenameForm({ dir, onDone, onCancel }: { dir: Directory; onDone: () => void; onCancel: () => void }) {
  const [name, setName] = useState(dir.name)
  const [externalId, setExternalId] = useState(dir.externalId ?? '')
  const action = useAction()
  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      await api('PATCH', `/directories/${encodeURIComponent(dir.id)}`, { name: name.trim(), externalId: externalId.trim() || null })
      onDone()
    })
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label={`Rename ${dir.name}`}>
      <div>
        <label htmlFor={`rename-${dir.id}`}>New name</label>
        <input id={`rename-${dir.id}`} required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div>
        <label htmlFor={`reext-${dir.id}`}>External ID</label>
        <input id={`reext-${dir.id}`} maxLength={255} value={externalId} onChange={(e) => setExternalId(e.target.value)} />
      </div>
      <button type="submit" disabled={!name.trim()}>
        Save
      </button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}

function DeleteForm({ dir, onDone, onCancel }: { dir: Directory; onDone: () => void; onCancel: () => void }) {
  const [typed, setTyped] = useState('')
  const action = useAction()
  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      await api('DELETE', `/directories/${encodeURIComponent(dir.id)}`)
      onDone()
    })
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label={`Delete ${dir.name}`}>
      <p>
        Deleting <strong>{dir.name}</strong> removes its users, fields and history. This cannot be undone.
      </p>
      <div>
        <label htmlFor={`confirm-${dir.id}`}>Type the directory's name to confirm</label>
        <input id={`confirm-${dir.id}`} autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
      </div>
      <button type="submit" className="danger" disabled={typed !== dir.name}>
        Delete directory
      </button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}
