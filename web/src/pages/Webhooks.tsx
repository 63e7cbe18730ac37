import { type FormEvent, useState } from 'react'
import { api, type Directory, enc, type Webhook } from '../api'
import { useAction } from '../action'
import { SecretOnce } from '../secret'
import { ErrorNote, formatTime, Link, useLoad } from '../ui'

/** A directory's webhooks: add (the signing secret shown once), list, remove. Needs an admin key. */
export function WebhooksPage({ dir }: { dir: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const hooks = useLoad(`webhooks:${dir}`, (signal) => api<{ data: Webhook[] }>('GET', `${base}/webhooks`, undefined, { signal }))
  const [created, setCreated] = useState<string | null>(null)
  const [url, setUrl] = useState('')
  const action = useAction()

  async function add(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      const hook = await api<Webhook & { secret: string }>('POST', `${base}/webhooks`, { url: url.trim() })
      setUrl('')
      setCreated(hook.secret)
      hooks.reload()
    })
  }
  const remove = (h: Webhook) => action.run(() => api('DELETE', `${base}/webhooks/${enc(h.id)}`).then(hooks.reload))

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / Webhooks
      </p>
      <h1>Webhooks</h1>
      <p className="muted">
        Each URL gets a POST when an import of this directory ends, signed with its secret (the <code>Rollcall-Signature</code> header). It
        must reach a public address.
      </p>
      <form onSubmit={add} className="inline-form" aria-label="New webhook">
        <div className="grow">
          <label htmlFor="hook-url">Webhook URL</label>
          <input id="hook-url" type="url" required maxLength={2048} value={url} onChange={(e) => setUrl(e.target.value)} />
        </div>
        <button type="submit" disabled={!url.trim()}>
          Add webhook
        </button>
        <ErrorNote error={action.error} />
      </form>
      {created && (
        <SecretOnce
          label="Signing secret"
          secret={created}
          note="Your receiver checks each delivery's Rollcall-Signature with it; the list never shows it."
          onDone={() => setCreated(null)}
        />
      )}
      <ErrorNote error={hooks.error} />
      {hooks.data && hooks.data.data.length === 0 && <p className="muted">No webhooks.</p>}
      {hooks.data && hooks.data.data.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {hooks.data.data.map((h) => (
              <tr key={h.id}>
                <td>
                  <code>{h.url}</code>
                </td>
                <td>{formatTime(h.createdAt)}</td>
                <td className="actions">
                  <button type="button" className="quiet danger" aria-label={`Remove ${h.url}`} onClick={() => void remove(h)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
