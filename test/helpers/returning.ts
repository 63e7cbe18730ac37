import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { Scope } from '../../src/core/types.js'
import type { Client, useApp } from './app.js'
import { makeDirectory } from './directories.js'

/** What the Returning.AI door's tests share: a community and the door's error envelopes. */

export interface Community {
  admin: Client
  /** A key limited to the community, as Returning.AI's community API keys are. */
  key: Client
  dir: string
  /** The community's 24-hex id. */
  cid: string
}

/** A tenant with a directory (the community) and a key of `scopes` limited to it. */
export async function community(h: ReturnType<typeof useApp>, scopes: Scope[] = ['admin']): Promise<Community> {
  const admin = await h.client()
  const dir = (await makeDirectory(admin, { name: 'Community' })).id
  return { admin, key: await admin.newKey(scopes, [dir]), dir, cid: dir.replace(/-/g, '').slice(0, 24) }
}

/**
 * The answer is the door's error with this status, in the integration envelope
 * (`{ status: 'error', message }`) or the application one (`{ meta: { status, statusCode }, message }`).
 * A string message must be the whole body, exactly; a RegExp must match the message.
 */
export function expectReturningError(
  r: LightMyRequestResponse,
  status: number,
  message: string | RegExp,
  envelope: 'integration' | 'application' = 'integration',
): void {
  const body = envelope === 'integration' ? { status: 'error', message } : { meta: { status: 'error', statusCode: status }, message }
  expect({ status: r.statusCode, body: r.json() }, r.body).toEqual({
    status,
    body: typeof message === 'string' ? body : expect.objectContaining({ message: expect.stringMatching(message) }),
  })
}
