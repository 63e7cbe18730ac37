import { useVirtualizer } from '@tanstack/react-virtual'
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { api, type Directory, enc, type Page, type User } from '../api'
import { navigate, useLocation } from '../router'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

const PAGE_SIZE = 100
const ROW_HEIGHT = 36
const SEARCH_KEYS = ['email', 'username', 'externalId'] as const
type SearchKey = (typeof SEARCH_KEYS)[number]
const SEARCH_LABELS: Record<SearchKey, string> = { email: 'Email', username: 'Username', externalId: 'External ID' }

const fullName = (u: User) => u.displayName ?? ([u.firstName, u.lastName].filter(Boolean).join(' ') || null)

/** The users of a directory: cursor pages from the API, loaded as the table scrolls, rows virtualised. */
export function UsersPage({ dir }: { dir: string }) {
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', `/directories/${enc(dir)}`, undefined, { signal }))
  const { query } = useLocation()
  const by = SEARCH_KEYS.find((k) => query.has(k))
  const term = by ? (query.get(by) ?? '') : ''

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / {directory.data?.name ?? dir}
      </p>
      <h1>{directory.data ? directory.data.name : 'Users'}</h1>
      <ErrorNote error={directory.error} />
      <p className="button-row">
        <Link to={`/directories/${enc(dir)}/imports/new`} className="button">
          New import
        </Link>
        <Link to={`/directories/${enc(dir)}/imports`}>Imports</Link>
      </p>
      <SearchForm key={`search:${by ?? ''}=${term}`} dir={dir} by={by ?? 'email'} term={term} />
      <UserTable key={`table:${by ?? ''}=${term}`} dir={dir} filter={by ? `&${by}=${enc(term)}` : ''} />
    </section>
  )
}

function SearchForm({ dir, by: initialBy, term: initialTerm }: { dir: string; by: SearchKey; term: string }) {
  const [by, setBy] = useState<SearchKey>(initialBy)
  const [term, setTerm] = useState(initialTerm)
  const base = `/directories/${enc(dir)}`
  function submit(e: FormEvent) {
    e.preventDefault()
    navigate(term.trim() ? `${base}?${by}=${enc(term.trim())}` : base)
  }
  return (
    <form role="search" onSubmit={submit} className="inline-form">
      <div>
        <label htmlFor="search-by">Search by</label>
        <select id="search-by" value={by} onChange={(e) => setBy(e.target.value as SearchKey)}>
          {SEARCH_KEYS.map((k) => (
            <option key={k} value={k}>
              {SEARCH_LABELS[k]}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="search-term">Search</label>
        <input id="search-term" type="search" value={term} placeholder="exact value, any case" onChange={(e) => setTerm(e.target.value)} />
      </div>
      <button type="submit">Search</button>
      {initialTerm && (
        <button type="button" className="quiet" onClick={() => navigate(base)}>
          Clear search
        </button>
      )}
    </form>
  )
}

interface Rows {
  users: User[]
  next: string | null
  done: boolean
  loading: boolean
  error: unknown
}

function UserTable({ dir, filter }: { dir: string; filter: string }) {
  const [rows, setRows] = useState<Rows>({ users: [], next: null, done: false, loading: false, error: null })
  const inFlight = useRef(false)
  const scrollRef = useRef<HTMLDivElement>(null)

  const loadMore = useCallback(
    async (cursor: string | null) => {
      if (inFlight.current) return
      inFlight.current = true
      setRows((r) => ({ ...r, loading: true, error: null }))
      try {
        const page = await api<Page<User>>(
          'GET',
          `/directories/${enc(dir)}/users?limit=${PAGE_SIZE}${filter}${cursor ? `&cursor=${enc(cursor)}` : ''}`,
        )
        setRows((r) => ({
          users: [...r.users, ...page.data],
          next: page.nextCursor,
          done: page.nextCursor === null,
          loading: false,
          error: null,
        }))
      } catch (error) {
        setRows((r) => ({ ...r, loading: false, error }))
      } finally {
        inFlight.current = false
      }
    },
    [dir, filter],
  )

  useEffect(() => {
    void loadMore(null)
  }, [loadMore])

  const virtualizer = useVirtualizer({
    count: rows.users.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  })
  const items = virtualizer.getVirtualItems()
  const last = items.length ? items[items.length - 1].index : -1

  // The next page when the last rows come into view: never more than the screen needs.
  useEffect(() => {
    if (!rows.done && !rows.loading && !rows.error && rows.next && last >= rows.users.length - 20) void loadMore(rows.next)
  }, [last, rows, loadMore])

  const count = rows.done
    ? `${rows.users.length} user${rows.users.length === 1 ? '' : 's'}`
    : `${rows.users.length} users loaded, more as you scroll`

  return (
    <>
      <p className="muted" aria-live="polite">
        {rows.loading && rows.users.length === 0 ? 'Loading…' : count}
      </p>
      <ErrorNote error={rows.error} />
      {rows.error != null && !rows.done && (
        <button type="button" className="quiet" onClick={() => void loadMore(rows.next)}>
          Try again
        </button>
      )}
      <div className="vtable" role="table" aria-label="Users" aria-rowcount={rows.done ? rows.users.length + 1 : -1}>
        <div role="rowgroup" className="vhead">
          <div role="row" className="vrow" aria-rowindex={1}>
            <div role="columnheader">Email</div>
            <div role="columnheader">Username</div>
            <div role="columnheader">Name</div>
            <div role="columnheader">External ID</div>
            <div role="columnheader">Country</div>
            <div role="columnheader">Updated</div>
          </div>
        </div>
        <div ref={scrollRef} className="vbody" role="rowgroup" tabIndex={0} aria-label="User rows (scroll for more)">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {items.map((item) => {
              const u = rows.users[item.index]
              const to = `/directories/${enc(dir)}/users/${enc(u.id)}`
              return (
                <div
                  key={u.id}
                  role="row"
                  className="vrow"
                  aria-rowindex={item.index + 2}
                  style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  <div role="cell">
                    <Link to={to}>{u.email ?? u.username ?? u.id}</Link>
                  </div>
                  <div role="cell">{u.username ?? ''}</div>
                  <div role="cell">{fullName(u) ?? ''}</div>
                  <div role="cell">{u.externalId ?? ''}</div>
                  <div role="cell">{u.country ?? ''}</div>
                  <div role="cell">{formatTime(u.updatedAt)}</div>
                </div>
              )
            })}
          </div>
          {rows.done && rows.users.length === 0 && (
            <p className="empty">No users{filter ? ' match this search' : ' in this directory yet'}.</p>
          )}
        </div>
      </div>
    </>
  )
}
