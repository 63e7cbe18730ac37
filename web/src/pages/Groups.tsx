import { type FormEvent, useEffect, useRef, useState } from 'react'
import { api, type Directory, enc, type Group, type Page, type User } from '../api'
import { useAction } from '../action'
import { navigate } from '../router'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

/** A directory's groups: list, create, rename, delete. Writes need a write key. */
export function GroupsPage({ dir }: { dir: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const groups = useLoad(`groups:${dir}`, (signal) => api<{ data: Group[] }>('GET', `${base}/groups?limit=1000`, undefined, { signal }))
  const [name, setName] = useState('')
  const action = useAction()

  async function create(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      await api('POST', `${base}/groups`, { name: name.trim() })
      setName('')
      groups.reload()
    })
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / Groups
      </p>
      <h1>Groups</h1>
      <form onSubmit={create} className="inline-form" aria-label="New group">
        <div>
          <label htmlFor="group-name">Group name</label>
          <input id="group-name" required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <button type="submit" disabled={!name.trim()}>
          Create group
        </button>
        <ErrorNote error={action.error} />
      </form>
      <ErrorNote error={groups.error} />
      {groups.data && groups.data.data.length === 0 && <p className="muted">No groups yet.</p>}
      {groups.data && groups.data.data.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">External ID</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {groups.data.data.map((g) => (
              <tr key={g.id}>
                <td>
                  <Link to={`${base}/groups/${enc(g.id)}`}>{g.name}</Link>
                </td>
                <td>{g.kind}</td>
                <td>{g.externalId ?? <span className="muted">—</span>}</td>
                <td>{formatTime(g.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

const MEMBERS_PAGE = 50

/** One group: rename, delete, its members (shown 50 at a time), add a member by email, remove one. */
export function GroupPage({ dir, id }: { dir: string; id: string }) {
  const base = `/directories/${enc(dir)}`
  const path = `${base}/groups/${enc(id)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const group = useLoad(`group:${dir}/${id}`, (signal) => api<Group & { members: string[] }>('GET', path, undefined, { signal }))
  const [shown, setShown] = useState(MEMBERS_PAGE)
  const [users, setUsers] = useState(new Map<string, User | null>())
  const [email, setEmail] = useState('')
  const [rename, setRename] = useState<string | null>(null)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const action = useAction()
  const addAction = useAction()
  const g = group.data
  const visible = g ? g.members.slice(0, shown) : []

  // The members in view, by id: their emails, fetched once each.
  const asked = useRef(new Set<string>())
  const visibleKey = visible.join(',')
  useEffect(() => {
    const missing = visibleKey.split(',').filter((m) => m && !asked.current.has(m))
    if (missing.length === 0) return
    for (const m of missing) asked.current.add(m)
    void Promise.all(missing.map((m) => api<User>('GET', `${base}/users/${enc(m)}`).catch(() => null))).then((found) =>
      setUsers((prev) => new Map([...prev, ...missing.map((m, i) => [m, found[i]] as const)])),
    )
  }, [visibleKey, base])

  /** A change to the group, then what follows it when it succeeded. */
  const run = (change: () => Promise<unknown>, after: () => void) =>
    action.run(async () => {
      await change()
      after()
    })
  async function add(e: FormEvent) {
    e.preventDefault()
    await addAction.run(async () => {
      const found = await api<Page<User>>('GET', `${base}/users?email=${enc(email.trim())}&limit=1`)
      if (found.data.length === 0) throw new Error(`No user of this directory has the email ${email.trim()}`)
      await api('POST', `${path}/members`, { userIds: [found.data[0].id] })
      setEmail('')
      group.reload()
    })
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / <Link to={`${base}/groups`}>Groups</Link> /{' '}
        {g?.name ?? id}
      </p>
      <h1>{g?.name ?? 'Group'}</h1>
      <ErrorNote error={group.error} />
      <ErrorNote error={action.error} />
      {g && (
        <>
          <div className="actions">
            {rename === null ? (
              <button type="button" className="quiet" onClick={() => setRename(g.name)}>
                Rename
              </button>
            ) : (
              <form
                className="inline-form"
                aria-label="Rename group"
                onSubmit={(e) => {
                  e.preventDefault()
                  void run(
                    () => api('PATCH', path, { name: rename.trim() }),
                    () => {
                      setRename(null)
                      group.reload()
                    },
                  )
                }}
              >
                <div>
                  <label htmlFor="group-rename">New name</label>
                  <input id="group-rename" required value={rename} onChange={(e) => setRename(e.target.value)} />
                </div>
                <button type="submit">Save</button>
                <button type="button" className="quiet" onClick={() => setRename(null)}>
                  Cancel
                </button>
              </form>
            )}
            {confirmDelete ? (
              <span className="confirm">
                Delete {g.name}? Its users stay.{' '}
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    void run(
                      () => api('DELETE', path),
                      () => navigate(`${base}/groups`),
                    )
                  }
                >
                  Delete group
                </button>
                <button type="button" className="quiet" onClick={() => setConfirmDelete(false)}>
                  Cancel
                </button>
              </span>
            ) : (
              <button type="button" className="quiet danger" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            )}
          </div>
          <h2>
            Members <span className="muted">({g.members.length.toLocaleString()})</span>
          </h2>
          <form onSubmit={add} className="inline-form" aria-label="Add member">
            <div>
              <label htmlFor="member-email">Member's email</label>
              <input id="member-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
            <button type="submit" disabled={!email.trim()}>
              Add member
            </button>
            <ErrorNote error={addAction.error} />
          </form>
          {g.members.length === 0 ? (
            <p className="muted">No members.</p>
          ) : (
            <table className="grid" aria-label="Members">
              <tbody>
                {visible.map((m) => {
                  const u = users.get(m)
                  const label = u ? (u.email ?? u.username ?? m) : m
                  return (
                    <tr key={m}>
                      <td className="wide">
                        <Link to={`${base}/users/${enc(m)}`}>{label}</Link>
                      </td>
                      <td className="actions">
                        <button
                          type="button"
                          className="quiet danger"
                          aria-label={`Remove ${label}`}
                          onClick={() => void run(() => api('DELETE', `${path}/members/${enc(m)}`), group.reload)}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          )}
          {g.members.length > shown && (
            <button type="button" className="quiet" onClick={() => setShown((n) => n + MEMBERS_PAGE)}>
              Show more members
            </button>
          )}
        </>
      )}
    </section>
  )
}

/** The groups a user belongs to, as links (for the user's page). */
export function UserGroups({ dir, id }: { dir: string; id: string }) {
  const base = `/directories/${enc(dir)}`
  const groups = useLoad(`user-groups:${dir}/${id}`, (signal) =>
    api<{ data: Group[] }>('GET', `${base}/users/${enc(id)}/groups`, undefined, { signal }),
  )
  return (
    <>
      <h2>Groups</h2>
      <ErrorNote error={groups.error} />
      {groups.data &&
        (groups.data.data.length === 0 ? (
          <p className="muted">In no group.</p>
        ) : (
          <ul className="tags" aria-label="Groups">
            {groups.data.data.map((g) => (
              <li key={g.id}>
                <Link to={`${base}/groups/${enc(g.id)}`}>{g.name}</Link> {g.kind !== 'group' && <span className="badge">{g.kind}</span>}
              </li>
            ))}
          </ul>
        ))}
    </>
  )
}
