import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { FieldInput } from '../../src/engine/directory-service.js'
import type { Client, useApp } from './app.js'
import { makeDirectory } from './directories.js'

export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  fields: 'urn:rollcall:params:scim:schemas:extension:fields:2.0:User',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  bulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  searchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
}

export interface Scim {
  admin: Client
  dir: { id: string }
  /** A request to /scim/v2 with the directory's SCIM key; bodies go as application/scim+json. */
  req(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>
  /** The directory's users as the native API sees them. */
  nativeUsers(): Promise<Record<string, unknown>[]>
  history(userId: string): Promise<{ action: string; channel: string; changes: Record<string, unknown> }[]>
}

/** A tenant, a directory (with custom fields), and a write key limited to that directory: what an IdP is given. */
export async function scimSetup(h: ReturnType<typeof useApp>, fields: FieldInput[] = []): Promise<Scim> {
  const admin = await h.client()
  const dir = await makeDirectory(admin, { name: 'Provisioned' })
  for (const f of fields) expect((await admin.request('POST', `/api/v1/directories/${dir.id}/fields`, f)).statusCode).toBe(201)
  const key = await admin.newKey(['write'], [dir.id])
  return {
    admin,
    dir,
    req: (method, path, body, headers = {}) =>
      key.request(method, `/scim/v2${path}`, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), {
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        ...headers,
      }),
    nativeUsers: async () => (await admin.request('GET', `/api/v1/directories/${dir.id}/users?limit=1000`)).json().data,
    history: async (userId) => (await admin.request('GET', `/api/v1/directories/${dir.id}/users/${userId}/history`)).json().data,
  }
}

/** Asserts a SCIM error response: status, scimType, and the error schema. */
export function expectScimError(r: LightMyRequestResponse, status: number, scimType?: string): void {
  expect(r.statusCode, r.body).toBe(status)
  expect(r.headers['content-type']).toMatch(/^application\/scim\+json/)
  const body = r.json()
  expect(body.schemas).toEqual([URN.error])
  expect(body.status).toBe(String(status))
  if (scimType) expect(body.scimType).toBe(scimType)
  else expect(body.scimType).toBeUndefined()
  expect(typeof body.detail).toBe('string')
}

export const patchOp = (...Operations: unknown[]) => ({ schemas: [URN.patchOp], Operations })
