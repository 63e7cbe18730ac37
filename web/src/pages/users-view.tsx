import { type FormEvent, type ReactNode, useState } from 'react'
import { useAction } from '../action'
import { api, enc, type Field, type User } from '../api'
import { navigate } from '../router'
import { ErrorNote, formatTime, formatValue } from '../ui'

/**
 * What the users table shows and which users: its columns (chosen by the person, kept per
 * directory in this browser) and its filters (kept in the address, so a filtered view is a link).
 * The filters are the list API's own (`GET …/users`): exact email, username or externalId, a
 * custom field's value, active or deactivated, created and updated ranges.
 */

export interface Column {
  id: string
  label: string
  /** Its share of the row's width. */
  width: number
  cell: (u: User) => ReactNode
}

const fullName = (u: User) => u.displayName ?? ([u.firstName, u.lastName].filter(Boolean).join(' ') || null)
const text = (v: unknown) => (v === null || v === undefined ? '' : formatValue(v))

const BUILT_IN_COLUMNS: Column[] = [
  { id: 'username', label: 'Username', width: 1.2, cell: (u) => text(u.username) },
  { id: 'name', label: 'Name', width: 1.4, cell: (u) => text(fullName(u)) },
  { id: 'externalId', label: 'External ID', width: 1.2, cell: (u) => text(u.externalId) },
  { id: 'phone', label: 'Phone', width: 1.1, cell: (u) => text(u.phone) },
  { id: 'country', label: 'Country', width: 0.7, cell: (u) => text(u.country) },
  { id: 'locale', label: 'Locale', width: 0.7, cell: (u) => text(u.locale) },
  { id: 'active', label: 'Active', width: 0.6, cell: (u) => (u.active ? 'yes' : 'no') },
  { id: 'createdAt', label: 'Created', width: 1.4, cell: (u) => formatTime(u.createdAt) },
  { id: 'updatedAt', label: 'Updated', width: 1.4, cell: (u) => formatTime(u.updatedAt) },
  { id: 'lastLoginAt', label: 'Last login', width: 1.4, cell: (u) => (u.lastLoginAt ? formatTime(u.lastLoginAt) : '') },
  { id: 'loginCount', label: 'Logins', width: 0.6, cell: (u) => String(u.loginCount) },
  { id: 'version', label: 'Version', width: 0.6, cell: (u) => String(u.version) },
]
const DEFAULT_COLUMNS = ['username', 'name', 'externalId', 'country', 'updatedAt']

/** Every column the table can show: the built-ins, then one per custom field. */
export function columnsOf(fields: Field[]): Column[] {
  const custom = fields
    .filter((f) => !f.builtIn)
    .map((f): Column => ({ id: `fields.${f.key}`, label: f.label, width: 1.1, cell: (u) => text(u.fields[f.key]) }))
  return [...BUILT_IN_COLUMNS, ...custom]
}

const storageKey = (dir: string) => `rollcall.columns.${dir}`

/** The columns chosen for a directory, as ids (the defaults until the person chooses). */
export function useColumnChoice(dir: string): [string[], (ids: string[]) => void] {
  const [ids, setIds] = useState<string[]>(() => {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey(dir)) ?? 'null') as unknown
      if (Array.isArray(saved) && saved.every((s) => typeof s === 'string')) return saved
    } catch {
      // a damaged entry: the defaults
    }
    return DEFAULT_COLUMNS
  })
  const choose = (next: string[]) => {
    setIds(next)
    localStorage.setItem(storageKey(dir), JSON.stringify(next))
  }
  return [ids, choose]
}

export function ColumnPicker({ all, chosen, onChange }: { all: Column[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  return (
    <details className="picker">
      <summary>Columns ({chosen.filter((id) => all.some((c) => c.id === id)).length + 1})</summary>
      <fieldset className="checks column-checks">
        <legend>Columns shown (Email always)</legend>
        {all.map((c) => (
          <label key={c.id}>
            <input
              type="checkbox"
              checked={chosen.includes(c.id)}
              onChange={() =>
                // In the table's own order, whatever the order of the clicks.
                onChange(all.map((x) => x.id).filter((id) => (id === c.id ? !chosen.includes(id) : chosen.includes(id))))
              }
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
    </details>
  )
}

/** The list API's filter parameters the address may carry. */
const RANGE_KEYS = ['createdAfter', 'createdBefore', 'updatedAfter', 'updatedBefore'] as const
const isFilterKey = (k: string) =>
  ['email', 'username', 'externalId', 'active', ...RANGE_KEYS].includes(k) || /^fields\.[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(k)
/** The filter form's own parameters (the search form keeps the others). */
const isFormKey = (k: string) => k.startsWith('fields.') || k === 'active' || (RANGE_KEYS as readonly string[]).includes(k)

/** The address's filters as the list API's query string (`&k=v…`). */
export function apiFilterOf(query: URLSearchParams): string {
  let out = ''
  for (const [k, v] of query) if (isFilterKey(k) && v !== '') out += `&${encodeURIComponent(k)}=${encodeURIComponent(v)}`
  return out
}

/** The address with some parameters set (a value) or removed (null). */
export function withParams(path: string, query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query)
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') next.delete(k)
    else next.set(k, v)
  }
  const s = next.toString()
  return s ? `${path}?${s}` : path
}

/** A local calendar day ↔ the instant the API compares with (…After: its start; …Before: the next day's start). */
const toInstant = (day: string, end: boolean) => {
  if (!day) return null
  const d = new Date(`${day}T00:00:00`)
  if (end) d.setDate(d.getDate() + 1)
  return d.toISOString()
}
const toDay = (iso: string | null, end: boolean) => {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  if (end) d.setDate(d.getDate() - 1)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

export function FilterForm({ path, query, fields }: { path: string; query: URLSearchParams; fields: Field[] }) {
  const custom = fields.filter((f) => !f.builtIn)
  const current = [...query.keys()].find((k) => k.startsWith('fields.'))
  const [field, setField] = useState(current?.slice(7) ?? custom[0]?.key ?? '')
  const [value, setValue] = useState(current ? (query.get(current) ?? '') : '')
  const [days, setDays] = useState(() => Object.fromEntries(RANGE_KEYS.map((k) => [k, toDay(query.get(k), k.endsWith('Before'))])))
  // '' (everyone), 'true' (active only) or 'false' (deactivated only): the list API's `active`.
  const [status, setStatus] = useState(query.get('active') ?? '')
  const filtering = [...query.keys()].some(isFormKey)

  function submit(e: FormEvent) {
    e.preventDefault()
    const changes: Record<string, string | null> = {}
    for (const k of query.keys()) if (k.startsWith('fields.')) changes[k] = null
    if (field && value !== '') changes[`fields.${field}`] = value
    for (const k of RANGE_KEYS) changes[k] = toInstant(days[k], k.endsWith('Before'))
    changes.active = status || null
    navigate(withParams(path, query, changes))
  }
  function clear() {
    const changes: Record<string, null> = {}
    for (const k of query.keys()) if (isFormKey(k)) changes[k] = null
    navigate(withParams(path, query, changes))
  }

  const day = (k: (typeof RANGE_KEYS)[number], label: string) => (
    <div>
      <label htmlFor={`filter-${k}`}>{label}</label>
      <input id={`filter-${k}`} type="date" value={days[k]} onChange={(e) => setDays((d) => ({ ...d, [k]: e.target.value }))} />
    </div>
  )

  return (
    <form onSubmit={submit} className="inline-form" aria-label="Filter users">
      <div>
        <label htmlFor="filter-active">Status</label>
        <select id="filter-active" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">All users</option>
          <option value="true">Active only</option>
          <option value="false">Deactivated only</option>
        </select>
      </div>
      {custom.length > 0 && (
        <>
          <div>
            <label htmlFor="filter-field">Custom field</label>
            <select id="filter-field" value={field} onChange={(e) => setField(e.target.value)}>
              {custom.map((f) => (
                <option key={f.key} value={f.key}>
                  {f.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="filter-value">equals</label>
            <input id="filter-value" value={value} onChange={(e) => setValue(e.target.value)} />
          </div>
        </>
      )}
      {day('createdAfter', 'Created from')}
      {day('createdBefore', 'Created until')}
      {day('updatedAfter', 'Updated from')}
      {day('updatedBefore', 'Updated until')}
      <button type="submit">Filter</button>
      {filtering && (
        <button type="button" className="quiet" onClick={clear}>
          Clear filters
        </button>
      )}
    </form>
  )
}

/**
 * Export of what the table shows (its filters) as CSV or NDJSON. The server signs a short-lived
 * link to `GET …/export` (`POST …/export/link`) and the browser downloads it as it would any file:
 * streamed to disk, so a million users never sit in the page's memory, and the key is not in the link.
 */
export function ExportForm({ dir, filter }: { dir: string; filter: string }) {
  const [format, setFormat] = useState<'csv' | 'ndjson'>('csv')
  const action = useAction()
  function start(e: FormEvent) {
    e.preventDefault()
    void action.run(async () => {
      const link = await api<{ url: string }>('POST', `/directories/${enc(dir)}/export/link?format=${format}${filter}`)
      const a = document.createElement('a')
      a.href = link.url
      // Empty: the file keeps the name the server gives it (users-<directory>.csv).
      a.download = ''
      document.body.append(a)
      a.click()
      a.remove()
    })
  }
  return (
    <form onSubmit={start} className="inline-form" aria-label="Export users">
      <div>
        <label htmlFor="export-format">Export as</label>
        <select id="export-format" value={format} onChange={(e) => setFormat(e.target.value as 'csv' | 'ndjson')}>
          <option value="csv">CSV</option>
          <option value="ndjson">NDJSON</option>
        </select>
      </div>
      <button type="submit" disabled={action.busy}>
        {filter ? 'Export these users' : 'Export all users'}
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}
