import { useEffect, useState } from 'react'
import { api, type ApiKey } from './api'

/** Key names for key ids, when this key may list keys (admin); otherwise ids are shown. */
export function useKeyNames(): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>())
  useEffect(() => {
    const ctl = new AbortController()
    api<{ data: ApiKey[] }>('GET', '/keys', undefined, { signal: ctl.signal }).then(
      (r) => setNames(new Map(r.data.map((k) => [k.id, k.name]))),
      () => undefined, // a read or write key may not list keys: ids it is
    )
    return () => ctl.abort()
  }, [])
  return names
}

/** A key as a person reads it: its name when known, else its id; a dash for none (the CLI on the database). */
export function KeyName({ id, names }: { id: string | null; names: Map<string, string> }) {
  if (!id) return <>—</>
  return <>{names.get(id) ?? <code className="small">{id}</code>}</>
}
