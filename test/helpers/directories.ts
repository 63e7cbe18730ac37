import { expect } from 'vitest'
import type { Client } from './app.js'

export interface Directory {
  id: string
  number: number
  name: string
  externalId: string | null
}

/**
 * Creates a directory through the native API, then its custom `fields`, each answered 201
 * (shows the body when not); returns the directory as the API answered.
 */
export async function makeDirectory(
  c: Client,
  body: Record<string, unknown> = { name: 'People' },
  fields: Record<string, unknown>[] = [],
): Promise<Directory> {
  const r = await c.request('POST', '/api/v1/directories', body)
  expect(r.statusCode, r.body).toBe(201)
  const dir = r.json() as Directory
  for (const f of fields) {
    const made = await c.request('POST', `/api/v1/directories/${dir.id}/fields`, f)
    expect(made.statusCode, made.body).toBe(201)
  }
  return dir
}
