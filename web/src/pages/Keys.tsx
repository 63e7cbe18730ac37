import { type FormEvent, useState } from 'react'
import { api, type ApiKey, type Directory, enc } from '../api'
import { useAction } from '../action'
import { SecretOnce } from '../secret'
import { ErrorNote, formatTime, useLoad } from '../ui'

const SCOPES = [
  { scope: 'read', help: 'list and read users, history, imports' },
  { scope: 'write', help: 'create, change and import users' },
  { scope: 'admin', help: 'directories, fields, keys, webhooks' },
] as const

/** The tenant's API keys: create (the secret shown once), list with last use, revoke. Needs an admin key. */
export function KeysPage() {
  const keys = useLoad('keys', (signal) => api<{ data: ApiKey[] }>('GET', '/keys', undefined, { signal }))
  const dirs = useLoad('directories', (signal) => api<{ data: Directory[] }>('GET', '/directories', undefined, { signal }))
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null)
  const [revoking, setRevoking] = useState<string | null>(null)
  const dirName = new Map((dirs.data?.data ?? []).map((d) => [d.id, d.name]))

  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">
        A key reaches only its tenant; with directories named, only those. Its secret is shown once, when it is created.
      </p>
      <CreateKey
        directories={dirs.data?.data ?? []}
        onCreated={(k) => {
          setCreated(k)
          keys.reload()
        }}
      />
      {created && (
        <SecretOnce
          label={`API key ${created.name}`}
          secret={created.secret}
          note="Rollcall keeps only its hash, so it cannot show it again."
          onDone={() => setCreated(null)}
        />
      )}
      <ErrorNote error={keys.error} />
      {keys.data && (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Directories</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.data.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name} <code className="small">{k.id}</code>
                </td>
                <td>{k.scopes.join(', ')}</td>
                <td>{k.directories ? k.directories.map((d) => dirName.get(d) ?? d).join(', ') : <span className="muted">all</span>}</td>
                <td>{formatTime(k.createdAt)}</td>
                <td>{formatTime(k.lastUsedAt)}</td>
                <td>{k.revokedAt ? `revoked ${formatTime(k.revokedAt)}` : 'active'}</td>
                <td className="actions">
                  {!k.revokedAt &&
                    (revoking === k.id ? (
                      <RevokeKey
                        apiKey={k}
                        onDone={() => {
                          setRevoking(null)
                          keys.reload()
                        }}
                        onCancel={() => setRevoking(null)}
                      />
                    ) : (
                      <button type="button" className="quiet danger" aria-label={`Revoke ${k.name}`} onClick={() => setRevoking(k.id)}>
                        Revoke
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function CreateKey({ directories, onCreated }: { directories: Directory[]; onCreated: (k: { name: string; secret: string }) => void }) {
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<string[]>(['read'])
  const [only, setOnly] = useState<string[]>([])
  const action = useAction()
  const toggle = (list: string[], v: string) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v])

  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      const body = { name: name.trim(), scopes, ...(only.length ? { directories: only } : {}) }
      const k = await api<ApiKey & { secret: string }>('POST', '/keys', body)
      setName('')
      setScopes(['read'])
      setOnly([])
      onCreated({ name: k.name, secret: k.secret })
    })
  }

  return (
    <form onSubmit={submit} className="inline-form" aria-label="New API key">
      <div>
        <label htmlFor="key-name">Key name</label>
        <input id="key-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <fieldset className="checks">
        <legend>Scopes</legend>
        {SCOPES.map(({ scope, help }) => (
          <label key={scope} title={help}>
            <input type="checkbox" checked={scopes.includes(scope)} onChange={() => setScopes((s) => toggle(s, scope))} /> {scope}
          </label>
        ))}
      </fieldset>
      {directories.length > 0 && (
        <fieldset className="checks">
          <legend>Directories (none ticked: all)</legend>
          {directories.map((d) => (
            <label key={d.id}>
              <input type="checkbox" checked={only.includes(d.id)} onChange={() => setOnly((o) => toggle(o, d.id))} /> {d.name}
            </label>
          ))}
        </fieldset>
      )}
      <button type="submit" disabled={action.busy || !name.trim() || scopes.length === 0}>
        Create key
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}

function RevokeKey({ apiKey, onDone, onCancel }: { apiKey: ApiKey; onDone: () => void; onCancel: () => void }) {
  const action = useAction()
  async function revoke() {
    await action.run(async () => {
      await api('DELETE', `/keys/${enc(apiKey.id)}`)
      onDone()
    })
  }
  return (
    <span className="confirm">
      <span>Revoke {apiKey.name}? Clients using it get 401 at once.</span>{' '}
      <button type="button" className="danger" onClick={() => void revoke()}>
        Revoke key
      </button>{' '}
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </span>
  )
}
