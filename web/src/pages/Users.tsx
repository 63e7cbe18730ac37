import { useVirtualizer } from '@tanstack/react-virtual'
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { api, type Directory, enc, type Field, type Page, type User } from '../api'
import { navigate, useLocation } from '../router'
import { ErrorNote, Link, useLoad } from '../ui'
import { apiFilterOf, type Column, ColumnPicker, columnsOf, ExportForm, FilterForm, useColumnChoice, withParams } from './users-view'

const PAGE_SIZE = 100
const ROW_HEIGHT = 36
const SEARCH_KEYS = ['email', 'username', 'externalId'] as const
type SearchKey = (typeof SEARCH_KEYS)[number]
const SEARCH_LABELS: Record<SearchKey, string> = { email: 'Email', username: 'Username', externalId: 'External ID' }

/** The users of a directory: cursor pages from the API, loaded as the table scrolls, rows virtualised. */
export function UsersPage({ dir }: { dir: string }) {
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', `/directories/${enc(dir)}`, undefined, { signal }))
  const fields = useLoad(`fields:${dir}`, (signal) =>
    api<{ data: Field[] }>('GET', `/directories/${enc(dir)}/fields`, undefined, { signal }),
  )
  const { path, query } = useLocation()
  const by = SEARCH_KEYS.find((k) => query.has(k))
  const term = by ? (query.get(by) ?? '') : ''
  const filter = apiFilterOf(query)
  const all = columnsOf(fields.data?.data ?? [])
  const [chosen, choose] = useColumnChoice(dir)
  const columns = all.filter((c) => chosen.includes(c.id))

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
      <SearchForm key={`search:${by ?? ''}=${term}`} path={path} query={query} by={by ?? 'email'} term={term} />
      {fields.data && <FilterForm key={`filter:${filter}`} path={path} query={query} fields={fields.data.data} />}
      <ColumnPicker all={all} chosen={chosen} onChange={choose} />
      <ExportForm dir={dir} filter={filter} />
      <UserTable key={`table:${filter}`} dir={dir} filter={filter} columns={columns} />
    </section>
  )
}

function SearchForm({
  path,
  query,
  by: initialBy,
  term: initialTerm,
}: {
  path: string
  query: URLSearchParams
  by: SearchKey
  term: string
}) {
  const [by, setBy] = useState<SearchKey>(initialBy)
  const [term, setTerm] = useState(initialTerm)
  // One search key at a time; the other filters stay.
  const cleared = Object.fromEntries(SEARCH_KEYS.map((k) => [k, null]))
  function submit(e: FormEvent) {
    e.preventDefault()
    navigate(withParams(path, query, { ...cleared, [by]: term.trim() || null }))
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
        <button type="button" className="quiet" onClick={() => navigate(withParams(path, query, cleared))}>
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

function UserTable({ dir, filter, columns }: { dir: string; filter: string; columns: Column[] }) {
  const grid = { gridTemplateColumns: ['2.2fr', ...columns.map((c) => `${c.width}fr`)].join(' ') }
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
          <div role="row" className="vrow" aria-rowindex={1} style={grid}>
            <div role="columnheader">Email</div>
            {columns.map((c) => (
              <div key={c.id} role="columnheader">
                {c.label}
              </div>
            ))}
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
                  style={{
                    ...grid,
                    position: 'absolute',
                    top: 0,
                    left: 0,
                    right: 0,
                    height: ROW_HEIGHT,
                    transform: `translateY(${item.start}px)`,
                  }}
                >
                  <div role="cell" className="user-cell">
                    <Link to={to}>{u.email ?? u.username ?? u.id}</Link>
                    {!u.active && <span className="badge deactivated">deactivated</span>}
                  </div>
                  {columns.map((c) => (
                    <div key={c.id} role="cell">
                      {c.cell(u)}
                    </div>
                  ))}
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
