import { useState } from 'react'

/**
 * A secret the server shows once (a new API key, a webhook's signing secret): selectable text, a
 * copy button, and a reminder that it cannot be shown again.
 */
export function SecretOnce({ label, secret, note, onDone }: { label: string; secret: string; note: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null)
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied('yes')
    } catch {
      setCopied('no') // no clipboard (plain HTTP on another host): the text is selectable
    }
  }
  return (
    <div className="notice secret" role="status">
      <p>
        <strong>{label}</strong> — shown this once: copy it now. {note}
      </p>
      <div className="secret-row">
        <input aria-label={label} readOnly value={secret} onFocus={(e) => e.target.select()} spellCheck={false} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" className="quiet" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === 'yes' && <p className="muted">Copied to the clipboard.</p>}
      {copied === 'no' && <p className="muted">The browser refused the clipboard here: select the text and copy it.</p>}
    </div>
  )
}
