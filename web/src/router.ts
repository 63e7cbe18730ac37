import { useSyncExternalStore } from 'react'

/** A small History API router: the console has a handful of screens, so no router library. */

const listeners = new Set<() => void>()
// Without a window (components rendered in a test) there is no history to follow.
if (typeof window !== 'undefined') window.addEventListener('popstate', () => listeners.forEach((l) => l()))

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  listeners.forEach((l) => l())
  window.scrollTo(0, 0)
}

function subscribe(l: () => void): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

const current = () => location.pathname + location.search

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const full = useSyncExternalStore(subscribe, current)
  const [path, search = ''] = full.split('?')
  return { path, query: new URLSearchParams(search) }
}

export type Route =
  | { name: 'directories' }
  | { name: 'users'; dir: string }
  | { name: 'user'; dir: string; id: string }
  | { name: 'import'; id: string }
  | { name: 'keys' }
  | { name: 'webhooks'; dir: string }
  | { name: 'fields'; dir: string }
  | { name: 'groups'; dir: string }
  | { name: 'group'; dir: string; id: string }
  | { name: 'imports'; dir: string }
  | { name: 'new-import'; dir: string }
  | { name: 'not-found' }

export function match(path: string): Route {
  let parts: string[]
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  } catch {
    return { name: 'not-found' } // a malformed %-escape in a typed address
  }
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'directories')) return { name: 'directories' }
  if (parts[0] === 'directories' && parts.length === 2) return { name: 'users', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 3 && parts[2] === 'imports') return { name: 'imports', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 4 && parts[2] === 'imports' && parts[3] === 'new')
    return { name: 'new-import', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 4 && parts[2] === 'users') return { name: 'user', dir: parts[1], id: parts[3] }
  if (parts[0] === 'imports' && parts.length === 2) return { name: 'import', id: parts[1] }
  if (parts.length === 1 && parts[0] === 'keys') return { name: 'keys' }
  if (parts[0] === 'directories' && parts.length === 3 && parts[2] === 'webhooks') return { name: 'webhooks', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 3 && parts[2] === 'fields') return { name: 'fields', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 3 && parts[2] === 'groups') return { name: 'groups', dir: parts[1] }
  if (parts[0] === 'directories' && parts.length === 4 && parts[2] === 'groups') return { name: 'group', dir: parts[1], id: parts[3] }
  return { name: 'not-found' }
}
