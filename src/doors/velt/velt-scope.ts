import { isRollcallError } from '../../core/errors.js'
import { hasScope, type Principal } from '../../core/keys.js'
import type { Directory, Group } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { invalidArgument, notFound, VeltError } from './velt-errors.js'

/** Velt's documents and folders: groups of these kinds in the organization's directory. */
export type GroupKind = 'document' | 'folder'
export interface Scope {
  kind: GroupKind
  id: string
}

const LABEL: Record<GroupKind, string> = { document: 'Document', folder: 'Folder' }

/** The level a users request works at: the organization (null), or one document or folder. */
export function scopeOf(data: { documentId?: string; folderId?: string }): Scope | null {
  if (data.documentId !== undefined && data.folderId !== undefined)
    throw invalidArgument('Either provide documentId or folderId, not both.')
  if (data.documentId !== undefined) return { kind: 'document', id: data.documentId }
  if (data.folderId !== undefined) return { kind: 'folder', id: data.folderId }
  return null
}

/** An organization is the directory whose externalId is the organizationId. */
export async function findOrganization(s: Services, p: Principal, organizationId: string): Promise<Directory | null> {
  try {
    const dir = await s.directories.resolve(p, organizationId)
    // resolve() also takes a directory's UUID; only the externalId names an organization.
    return dir.externalId === organizationId ? dir : null
  } catch (e) {
    if (isRollcallError(e) && e.code === 'directory_not_found') return null
    throw e
  }
}

export async function requireOrganization(s: Services, p: Principal, organizationId: string): Promise<Directory> {
  const dir = await findOrganization(s, p, organizationId)
  if (!dir) throw notFound(`Organization '${organizationId}' does not exist.`)
  return dir
}

/** Finds or creates an organization (users/add creates a missing one, as Velt does). Creating needs the admin scope. */
export async function ensureOrganization(
  s: Services,
  p: Principal,
  organizationId: string,
  name?: string,
): Promise<{ dir: Directory; created: boolean }> {
  const found = await findOrganization(s, p, organizationId)
  if (found) return { dir: found, created: false }
  if (!hasScope(p, 'admin'))
    throw new VeltError(
      403,
      'PERMISSION_DENIED',
      `Organization '${organizationId}' does not exist, and creating it needs the 'admin' scope.`,
    )
  try {
    return { dir: await s.directories.create(p, { name: name ?? organizationId, externalId: organizationId }), created: true }
  } catch (e) {
    // Created meanwhile by a concurrent request: use it.
    if (isRollcallError(e) && e.code === 'directory_exists') {
      const now = await findOrganization(s, p, organizationId)
      if (now) return { dir: now, created: false }
    }
    throw e
  }
}

/** A document or folder by its Velt id (the group's externalId). */
export async function findGroup(s: Services, dir: Directory, scope: Scope): Promise<Group | null> {
  const [g] = await s.groups.list(dir, { kind: scope.kind, externalId: scope.id, limit: 1 })
  return g ?? null
}

export async function requireGroup(s: Services, dir: Directory, scope: Scope): Promise<Group> {
  const g = await findGroup(s, dir, scope)
  if (!g) throw notFound(`${LABEL[scope.kind]} '${scope.id}' does not exist.`)
  return g
}

/**
 * Finds or creates a document or folder. Its name defaults to its id; group names are unique
 * per kind in a directory, so two documents cannot share a name (ALREADY_EXISTS).
 */
export async function ensureGroup(s: Services, dir: Directory, scope: Scope, name?: string): Promise<{ group: Group; created: boolean }> {
  const found = await findGroup(s, dir, scope)
  if (found) return { group: found, created: false }
  try {
    return { group: await s.groups.create(dir, { name: name ?? scope.id, kind: scope.kind, externalId: scope.id }), created: true }
  } catch (e) {
    if (isRollcallError(e) && e.code === 'conflict') {
      const now = await findGroup(s, dir, scope)
      if (now) return { group: now, created: false }
      throw new VeltError(409, 'ALREADY_EXISTS', `Another ${scope.kind} is already named '${name ?? scope.id}'.`)
    }
    throw e
  }
}
