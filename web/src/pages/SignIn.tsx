import { type FormEvent, useState } from 'react'
import { api, type Directory } from '../api'
import { signIn, signInNotice } from '../session'
import { ErrorNote } from '../ui'

/** Sign in with an API key: checked against the API (listing directories) before it is kept. */
export function SignInPage() {
  const [key, setKey] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const notice = signInNotice()

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await api<{ data: Directory[] }>('GET', '/directories', undefined, { key: key.trim() })
      signIn(key.trim())
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Rollcall</h1>
        <p className="muted">
          Sign in with an API key. It is kept in this tab only (session storage) and forgotten when you sign out or close the tab.
        </p>
        {notice && !error && (
          <p role="status" className="notice">
            Signed out: {notice}
          </p>
        )}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <ErrorNote error={error} />
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
    </main>
  )
}
