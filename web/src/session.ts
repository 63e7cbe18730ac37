/** The API key lives in sessionStorage only: gone when the tab closes, never in localStorage or a cookie. */
const KEY = 'rollcall.apiKey'

type Listener = () => void
const listeners = new Set<Listener>()
let notice: string | null = null

export function getKey(): string | null {
  return sessionStorage.getItem(KEY)
}

export function signIn(key: string): void {
  sessionStorage.setItem(KEY, key)
  notice = null
  emit()
}

/** Forgets the key; `why` is shown on the sign-in screen (a 401's detail). */
export function signOut(why: string | null = null): void {
  sessionStorage.removeItem(KEY)
  notice = why
  emit()
}

export function signInNotice(): string | null {
  return notice
}

export function subscribe(l: Listener): () => void {
  listeners.add(l)
  return () => listeners.delete(l)
}

function emit(): void {
  for (const l of listeners) l()
}
