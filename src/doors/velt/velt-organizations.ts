import { isRollcallError } from '../../core/errors.js'
import type { Principal } from '../../core/keys.js'
import type { Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import type { ItemMap } from './velt-mapping.js'
import { ok, orgResultId } from './velt-mapping.js'
import { findOrganization } from './velt-scope.js'
import type { OrgsDeleteBody, OrgsGetBody, OrgsWriteBody } from './velt-schemas.js'

/** Organizations are directories named by their externalId; these answers use Velt's literal messages. */
const itemMap = (): ItemMap => Object.create(null) as ItemMap

const render = (d: Directory) => ({ id: d.externalId as string, organizationName: d.name, disabled: false })

export async function addOrganizations(s: Services, p: Principal, data: OrgsWriteBody['data']) {
  const out = itemMap()
  for (const o of data.organizations) {
    const id = orgResultId(p.tenantId, o.organizationId)
    try {
      await s.directories.create(p, { name: o.organizationName ?? o.organizationId, externalId: o.organizationId })
      out[o.organizationId] = { success: true, id, message: 'Added Successfully' }
    } catch (e) {
      if (!(isRollcallError(e) && e.code === 'directory_exists')) throw e
      out[o.organizationId] = { success: false, id, message: 'Organization already exists' }
    }
  }
  return ok('Organization(s) added successfully.', out)
}

/** Without `organizationIds`: every directory of the key that has an externalId. */
export async function getOrganizations(s: Services, p: Principal, data: OrgsGetBody['data']) {
  let dirs: Directory[]
  if (data.organizationIds) {
    const found = await Promise.all([...new Set(data.organizationIds)].map((id) => findOrganization(s, p, id)))
    dirs = found.filter((d): d is Directory => d !== null)
  } else dirs = (await s.directories.list(p)).filter((d) => d.externalId !== null)
  return ok('Organization(s) retrieved successfully.', dirs.map(render))
}

export async function updateOrganizations(s: Services, p: Principal, data: OrgsWriteBody['data']) {
  const out = itemMap()
  for (const o of data.organizations) {
    const id = orgResultId(p.tenantId, o.organizationId)
    const dir = await findOrganization(s, p, o.organizationId)
    if (!dir) {
      out[o.organizationId] = { success: false, id, message: 'Organization does not exist' }
      continue
    }
    if (o.organizationName !== undefined) await s.directories.update(p, dir.id, { name: o.organizationName })
    out[o.organizationId] = { success: true, id, message: 'Updated Successfully' }
  }
  return ok('Organization(s) updated successfully.', out)
}

/** Deleting an organization deletes its directory: users, documents, folders and history. */
export async function deleteOrganizations(s: Services, p: Principal, data: OrgsDeleteBody['data']) {
  const out = itemMap()
  for (const organizationId of data.organizationIds) {
    const id = orgResultId(p.tenantId, organizationId)
    const dir = await findOrganization(s, p, organizationId)
    let deleted = false
    if (dir) {
      try {
        await s.directories.remove(p, dir.id)
        deleted = true
      } catch (e) {
        if (!(isRollcallError(e) && e.code === 'directory_not_found')) throw e
      }
    }
    out[organizationId] = deleted
      ? { success: true, id, message: 'Deleted Successfully' }
      : { success: false, id, message: 'Organization does not exist' }
  }
  return ok('Organization(s) deleted successfully.', out)
}
