import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { TSchema } from 'typebox'
import type { Services } from '../../jobs/services.js'
import type { DoorLimits } from '../door.js'
import { principalWith, veltAuth, veltContext } from './velt-auth.js'
import { veltErrorHandler, veltNotFound } from './velt-errors.js'
import { addDocuments, addFolders, getDocuments, getFolders } from './velt-groups.js'
import { addOrganizations, deleteOrganizations, getOrganizations, updateOrganizations } from './velt-organizations.js'
import {
  DocsAddBody,
  DocsGetBody,
  DocsGetResult,
  ErrorBody,
  FoldersAddBody,
  FoldersGetBody,
  FoldersGetResult,
  MapResult,
  OrgsDeleteBody,
  OrgsGetBody,
  OrgsGetResult,
  OrgsWriteBody,
  RemovedMapResult,
  UsersDeleteBody,
  UsersGetBody,
  UsersGetResult,
  UsersWriteBody,
} from './velt-schemas.js'
import { addUsers, deleteUsers, getUsers, updateUsers } from './velt-users.js'

const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }
const tags = ['Velt']
const security = [{ veltApiKey: [], veltAuthToken: [] }]
const schema = <B extends TSchema, R extends TSchema>(operationId: string, summary: string, body: B, result: R) => ({
  operationId,
  tags,
  security,
  summary,
  body,
  response: { 200: result, ...errors },
})

/**
 * The Velt door at `/velt` (docs/doors/velt.md): users, organizations, documents and folders of
 * Velt's v1 REST API, every route a POST with `{data}`, authenticated by `x-velt-api-key` (the
 * key id) and `x-velt-auth-token` (its secret), errors as `{error: {message, status}}`.
 */
export const veltDoor = (services: Services, limits: DoorLimits) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  app.setErrorHandler(veltErrorHandler)
  app.setNotFoundHandler(veltNotFound)
  app.addHook('onRequest', veltAuth(services))
  const s = services
  // Users add/update/delete take up to the native sync limit of users, in bodies as large as a native sync bulk request.
  const { maxRows } = limits
  const bodyLimit = limits.maxBytes
  const upTo = ` (up to ${maxRows} users per request)`

  app.post(
    '/v1/users/update',
    {
      bodyLimit,
      schema: schema(
        'veltUpdateUsers',
        `Update users at the organization, document or folder level; never creates${upTo}`,
        UsersWriteBody,
        MapResult,
      ),
    },
    async (req) => updateUsers(s, principalWith(req, 'write'), veltContext(req), req.body.data, maxRows),
  )
  app.post(
    '/v1/users/add',
    {
      bodyLimit,
      schema: schema(
        'veltAddUsers',
        `Add (or update) users, creating the organization, document or folder if missing${upTo}`,
        UsersWriteBody,
        MapResult,
      ),
    },
    async (req) => addUsers(s, principalWith(req, 'write'), veltContext(req), req.body.data, maxRows),
  )
  app.post(
    '/v1/users/get',
    { schema: schema('veltGetUsers', 'Get the users of an organization or document', UsersGetBody, UsersGetResult) },
    async (req) => getUsers(s, principalWith(req, 'read'), req.body.data),
  )
  app.post(
    '/v1/users/delete',
    {
      bodyLimit,
      schema: schema(
        'veltDeleteUsers',
        `Remove users from an organization (deletes them) or a document or folder${upTo}`,
        UsersDeleteBody,
        RemovedMapResult,
      ),
    },
    async (req) => deleteUsers(s, principalWith(req, 'write'), veltContext(req), req.body.data, maxRows),
  )

  app.post(
    '/v1/organizations/add',
    { schema: schema('veltAddOrganizations', 'Add organizations (directories)', OrgsWriteBody, MapResult) },
    async (req) => addOrganizations(s, principalWith(req, 'admin'), req.body.data),
  )
  app.post(
    '/v1/organizations/get',
    { schema: schema('veltGetOrganizations', 'Get organizations', OrgsGetBody, OrgsGetResult) },
    async (req) => getOrganizations(s, principalWith(req, 'read'), req.body.data),
  )
  app.post(
    '/v1/organizations/update',
    { schema: schema('veltUpdateOrganizations', 'Rename organizations', OrgsWriteBody, MapResult) },
    async (req) => updateOrganizations(s, principalWith(req, 'admin'), req.body.data),
  )
  app.post(
    '/v1/organizations/delete',
    { schema: schema('veltDeleteOrganizations', 'Delete organizations with all their data', OrgsDeleteBody, MapResult) },
    async (req) => deleteOrganizations(s, principalWith(req, 'admin'), req.body.data),
  )

  app.post(
    '/v1/organizations/documents/add',
    { schema: schema('veltAddDocuments', 'Add documents to an organization', DocsAddBody, MapResult) },
    async (req) => addDocuments(s, principalWith(req, 'write'), req.body.data),
  )
  app.post(
    '/v1/organizations/documents/get',
    { schema: schema('veltGetDocuments', 'Get documents of an organization', DocsGetBody, DocsGetResult) },
    async (req) => getDocuments(s, principalWith(req, 'read'), req.body.data),
  )
  app.post(
    '/v1/organizations/folders/add',
    { schema: schema('veltAddFolders', 'Add folders to an organization', FoldersAddBody, MapResult) },
    async (req) => addFolders(s, principalWith(req, 'write'), req.body.data),
  )
  app.post(
    '/v1/organizations/folders/get',
    { schema: schema('veltGetFolders', 'Get folders of an organization', FoldersGetBody, FoldersGetResult) },
    async (req) => getFolders(s, principalWith(req, 'read'), req.body.data),
  )
}
