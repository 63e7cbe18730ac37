import { type MouseEvent, type ReactNode, useCallback, useEffect, useState } from 'react'
import { ApiError } from './api'
import { navigate } from './router'

/** An in-app link: a real <a href> (open in a new tab works), navigated without a reload. */
export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(to)
  }
  return (
    <a href={to} onClick={onClick} className={className}>
      {children}
    </a>
  )
}

/** A server error, as its problem+json detail (announced to screen readers). */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null
  const detail = error instanceof ApiError ? error.problem.detail : error instanceof Error ? error.message : String(error)
  const fieldErrors = error instanceof ApiError ? (error.problem.errors ?? []) : []
  return (
    <div role="alert" className="error">
      <p>{detail}</p>
      {fieldErrors.length > 1 && (
        <ul>
          {fieldErrors.map((f, i) => (
            <li key={i}>
              {f.field ? <code>{f.field}</code> : null} {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

export interface Loaded<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Runs `load` when `key` changes (and on reload), aborting the previous run. */
export function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; done: boolean }>({ key, done: false })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const ctl = new AbortController()
    load(ctl.signal).then(
      (data) => setState({ key, data, done: true }),
      (error: unknown) => {
        if (!ctl.signal.aborted) setState({ key, error, done: true })
      },
    )
    return () => ctl.abort()
    // `load` is a new closure each render; `key` says what it loads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  const current = state.key === key
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || !state.done, reload }
}

export const formatTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—')

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}
