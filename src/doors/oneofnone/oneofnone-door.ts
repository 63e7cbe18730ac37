import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../jobs/services.js'
import type { DoorLimits } from '../door.js'
import { appOf, oneOfNoneAuth, oneOfNoneContext } from './oneofnone-auth.js'
import { batchUpdate } from './oneofnone-batch.js'
import { oneOfNoneErrorHandler, oneOfNoneNotFound } from './oneofnone-errors.js'
import {
  BatchUpdateBody,
  BatchUpdateResponse,
  ErrorBody,
  GetParams,
  GetQuery,
  ListQuery,
  ListResponse,
  UserResponse,
} from './oneofnone-schemas.js'
import { getUser, listUsers } from './oneofnone-users.js'

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }
const tags = ['One of None']
const security = [{ oneofnoneApiKey: [] }]

/**
 * The One of None door at `/oneofnone` (docs/doors/oneofnone.md): batch update, list and get of
 * users, in the vendor's shapes, authenticated by `x-api-key`, errors as `{message}`.
 */
export const oneOfNoneDoor = (services: Services, limits: DoorLimits) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  app.setErrorHandler(oneOfNoneErrorHandler)
  app.setNotFoundHandler(oneOfNoneNotFound)
  app.addHook('onRequest', oneOfNoneAuth(services))

  app.post(
    '/v1/users/batch-update',
    {
      // A batch may be as large as a native sync bulk request (ROLLCALL_BULK_MAX_BYTES), not just the app-wide JSON limit.
      bodyLimit: limits.maxBytes,
      schema: {
        operationId: 'oneofnoneBatchUpdateUsers',
        tags,
        security,
        summary: 'Batch update users by email (JSON users[] and/or a CSV string); unknown emails are skipped',
        body: BatchUpdateBody,
        response: { 200: BatchUpdateResponse, ...errors, 413: ErrorBody },
      },
    },
    async (req) => batchUpdate(services, appOf(req), req.body, oneOfNoneContext(req), limits.maxRows),
  )

  app.get(
    '/v1/users',
    {
      schema: {
        operationId: 'oneofnoneListUsers',
        tags,
        security,
        summary: 'List users with filters and offset pagination',
        querystring: ListQuery,
        response: { 200: ListResponse, ...errors },
      },
    },
    async (req) => listUsers(services, appOf(req), req.query, `${req.protocol}://${req.host}${req.url.split('?')[0]}`),
  )

  app.get(
    '/v1/users/:id',
    {
      schema: {
        operationId: 'oneofnoneGetUser',
        tags,
        security,
        summary: 'Get a user by id, or by email with type=EMAIL',
        params: GetParams,
        querystring: GetQuery,
        response: { 200: UserResponse, ...errors },
      },
    },
    async (req) => getUser(services, appOf(req), req.params.id, req.query.type ?? 'ID'),
  )
}
