import type { Principal } from '../../core/keys.js'
import type { Directory, Group } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { invalidArgument, VeltError } from './velt-errors.js'
import { documentResultId, type ItemMap, ok } from './velt-mapping.js'
import { ensureGroup, findGroup, requireGroup, requireOrganization } from './velt-scope.js'
import { type DocsAddBody, type DocsGetBody, type FolderOut, type FoldersAddBody, type FoldersGetBody, MAX_GROUPS } from './velt-schemas.js'

/** Velt's documents and folders, as groups of kinds `document` and `folder` of the organization's directory. */

const itemMap = (): ItemMap => Object.create(null) as ItemMap

/**
 * Whether an add created its group: true, '' when it existed already, or the reason it could not
 * (a name another id holds). Per item, so one conflict never stops the rest half-way.
 */
async function created(attempt: Promise<{ created: boolean }>): Promise<true | string> {
  try {
    return (await attempt).created ? true : ''
  } catch (e) {
    if (e instanceof VeltError && e.status === 'ALREADY_EXISTS') return e.message
    throw e
  }
}

/** Adds documents; one that exists already is reported, not changed. */
export async function addDocuments(s: Services, p: Principal, data: DocsAddBody['data']) {
  // Rollcall's groups do not nest: a document cannot be placed inside a folder.
  if (data.folderId !== undefined) throw invalidArgument('folderId is not supported: Rollcall does not place documents inside folders.')
  const dir = await requireOrganization(s, p, data.organizationId)
  const out = itemMap()
  for (const d of data.documents) {
    const id = documentResultId(dir, d.documentId)
    const made = await created(ensureGroup(s, dir, { kind: 'document', id: d.documentId }, d.documentName))
    out[d.documentId] =
      made === true
        ? { success: true, id, message: 'Added Successfully' }
        : { success: false, id, message: made || 'Document already exists' }
  }
  return ok('Document(s) added successfully.', out)
}

/** Access type and disabled state are not kept: every document is `public` and enabled. */
const renderDocument = (g: Group) => ({ documentName: g.name, disabled: false, accessType: 'public', id: g.externalId ?? g.id })

export async function getDocuments(s: Services, p: Principal, data: DocsGetBody['data']) {
  const dir = await requireOrganization(s, p, data.organizationId)
  const groups = await groupsOf(s, dir, 'document', data.documentIds)
  return ok('Document(s) retrieved successfully.', groups.map(renderDocument))
}

async function groupsOf(s: Services, dir: Directory, kind: 'document' | 'folder', ids: string[] | undefined): Promise<Group[]> {
  if (!ids) return s.groups.list(dir, { kind, limit: MAX_GROUPS })
  const found = await Promise.all([...new Set(ids)].map((id) => findGroup(s, dir, { kind, id })))
  return found.filter((g): g is Group => g !== null)
}

/** Adds folders at the root; nested folders are reported as unsupported, per folder. */
export async function addFolders(s: Services, p: Principal, data: FoldersAddBody['data']) {
  const dir = await requireOrganization(s, p, data.organizationId)
  const out = itemMap()
  for (const f of data.folders) {
    if (f.parentFolderId !== undefined && f.parentFolderId !== 'root') {
      out[f.folderId] = { success: false, id: f.folderId, message: 'Nested folders are not supported: parentFolderId must be "root".' }
      continue
    }
    const made = await created(ensureGroup(s, dir, { kind: 'folder', id: f.folderId }, f.folderName))
    out[f.folderId] =
      made === true
        ? { success: true, id: f.folderId, message: 'Folder added.' }
        : { success: false, id: f.folderId, message: made || 'Folder already exists.' }
  }
  return ok('Folder created successfully.', out)
}

const renderFolder = (dir: Directory, g: Group): FolderOut => ({
  folderId: g.externalId ?? g.id,
  folderName: g.name,
  organizationId: dir.externalId as string,
  parentFolderId: 'root',
  createdAt: Date.parse(g.createdAt),
  lastUpdated: Date.parse(g.updatedAt),
})

/** All folders, or one with its subfolders (always none: folders do not nest here). */
export async function getFolders(s: Services, p: Principal, data: FoldersGetBody['data']) {
  const dir = await requireOrganization(s, p, data.organizationId)
  if (data.folderId === undefined)
    return ok(
      'Folders retrieved successfully.',
      (await s.groups.list(dir, { kind: 'folder', limit: MAX_GROUPS })).map((g) => renderFolder(dir, g)),
    )
  const g = await requireGroup(s, dir, { kind: 'folder', id: data.folderId })
  return ok('Folders retrieved successfully.', [{ ...renderFolder(dir, g), subFolders: [] }])
}
