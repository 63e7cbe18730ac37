import { own } from '../../core/merge.js'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { MAX_OFFSET } from '../../core/input-guard.js'
import { errors } from '../../core/errors.js'
import type { ChangeContext, Directory, MatchKey, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import type { BulkOptions, BulkRow } from '../../engine/types.js'
import type { UserCondition } from '../../engine/user-conditions.js'
import { uf } from '../../core/user-filter.js'
import { principalOf } from '../../http/auth.js'
import { StringEnum } from '../../http/schemas.js'
import { tooManyUsers } from '../batch-limit.js'
import type { DoorLimits } from '../door.js'
import { PHONE_TEXT_FIELD, PHONE_TEXT_KEY } from '../phone.js'
import { DYNAMIC_CUSTOM_FIELDS } from './dynamic-fields.js'
import { renderSubmitted, renderUser, toRow } from './dynamic-map.js'
import { userError } from './dynamic-errors.js'
import {
  BulkResponseSchema,
  CHAINS,
  EnvParams,
  EnvUserParams,
  ErrorSchema,
  FILTER_COLUMNS,
  OAUTH_PROVIDERS,
  UserEnvelopeSchema,
  UserParams,
  UsersResponseSchema,
} from './dynamic-schemas.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The custom fields every write may need: Dynamic's fields Rollcall's user lacks, and the one a
 * free-form `phoneNumber` is kept in (../phone.ts). Not a Dynamic field itself: clients cannot send it.
 * Defined by the engine with the first write that stores a user, never by a failed request.
 */
const WRITE_FIELDS = [...DYNAMIC_CUSTOM_FIELDS, PHONE_TEXT_FIELD]

/**
 * How the door writes: a user is found by `id`, else `email`, else `username` (wallets and OAuth
 * accounts are not match keys: see docs/doors/dynamic.md); a client may choose a new user's id;
 * `metadata` is replaced, as Dynamic's PUT semantics have it.
 */
const WRITE: Partial<BulkOptions> = {
  match: ['id', 'email', 'username'] satisfies MatchKey[],
  metadata: 'replace',
  allowClientId: true,
  returnUsers: true,
  needsFields: WRITE_FIELDS,
}

const errorsOf = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorSchema]))
const Body = Type.Object({}, { additionalProperties: true, description: 'InternalUserFields' })

const ListQuery = Type.Object(
  {
    'filter[filterColumn]': Type.Optional(StringEnum(FILTER_COLUMNS)),
    'filter[filterValue]': Type.Optional(Type.String({ maxLength: 255 })),
    'filter[filterSocialProvider]': Type.Optional(StringEnum(OAUTH_PROVIDERS)),
    'filter[chain]': Type.Optional(StringEnum(CHAINS)),
    orderBy: Type.Optional(Type.String({ maxLength: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    includeSessions: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

/** Dynamic's filter columns → canonical fields (the rest search wallets or OAuth accounts, which Rollcall cannot index). */
const FILTERABLE: Partial<Record<(typeof FILTER_COLUMNS)[number], string>> = {
  id: 'id',
  email: 'email',
  username: 'username',
  alias: 'displayName',
  firstName: 'firstName',
  lastName: 'lastName',
  phoneNumber: 'phone',
  jobTitle: 'fields.jobTitle',
}

/**
 * The Dynamic routes. Users per bulk request: up to the native sync limit (`limits.maxRows`;
 * Dynamic documents none), in a body of up to `limits.maxBytes`; larger inputs belong to the
 * native async imports.
 */
export const dynamicRoutes = (s: Services, limits: DoorLimits) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()

  const context = (req: FastifyRequest): ChangeContext => ({
    channel: 'dynamic',
    keyId: principalOf(req).keyId,
    requestId: String(req.id),
    jobId: null,
  })
  const environment = (req: FastifyRequest<{ Params: { environmentId: string } }>) =>
    s.directories.resolveForKey(principalOf(req), req.params.environmentId)

  /** The environment of a user named by id alone (`/users/{userId}`): the key's only directory, else the one that holds the user. */
  async function environmentOfUser(req: FastifyRequest, userId: string): Promise<Directory> {
    if (!UUID_RE.test(userId)) throw errors.userNotFound(userId)
    const p = principalOf(req)
    const candidates = p.directories?.length === 1 ? [await s.directories.resolve(p, p.directories[0])] : await s.directories.list(p)
    for (const dir of candidates) {
      const [found] = await s.users.find(dir, { id: [userId] })
      if (found) return dir
    }
    throw errors.userNotFound(userId)
  }

  /** Writes one user; a failed row becomes the request's error (422 for conflicts, 400 for invalid input). */
  async function writeOne(dir: Directory, row: BulkRow, options: Partial<BulkOptions>, req: FastifyRequest): Promise<UserRecord> {
    const [r] = (await s.users.bulk(dir, [row], { ...WRITE, ...options }, context(req))).results
    if (r.status === 'failed') {
      if (r.errors.some((e) => e.code === 'user_not_found')) throw errors.userNotFound(String((row.data as { id?: unknown }).id))
      throw errors.validation(r.errors)
    }
    return r.user as UserRecord
  }

  async function update(dir: Directory, userId: string, body: object, req: FastifyRequest) {
    await s.users.get(dir, userId) // 404 before any validation, for ids that are not UUIDs too
    const row = toRow(body)
    const data = row.data as Record<string, unknown>
    if (data.id !== undefined && data.id !== userId)
      throw errors.validation([{ field: 'id', code: 'read_only', message: 'a user id cannot be changed' }])
    const user = await writeOne(dir, { ...row, data: { ...data, id: userId } }, { mode: 'update' }, req)
    return { user: renderUser(user, dir.id) }
  }

  app.post(
    '/environments/:environmentId/users/bulk',
    {
      bodyLimit: limits.maxBytes,
      config: { scope: 'write', rowsCheckedPerRow: true },
      schema: {
        operationId: 'dynamicBulkCreateUser',
        tags: ['dynamic'],
        summary: 'Dynamic: create many users (upsert=true updates the existing ones)',
        params: EnvParams,
        querystring: Type.Object({ upsert: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        body: Type.Array(Type.Unknown(), { description: 'InternalUserFields[]' }),
        response: { 201: BulkResponseSchema, ...errorsOf(400, 401, 403, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const dir = await environment(req)
      if (req.body.length > limits.maxRows)
        throw errors.badRequest(tooManyUsers({ max: limits.maxRows, got: req.body.length, directory: dir.id }))
      const result = await s.users.bulk(dir, req.body.map(toRow), { ...WRITE, mode: req.query.upsert ? 'upsert' : 'create' }, context(req))
      const out = {
        created: [] as ReturnType<typeof renderUser>[],
        updated: [] as ReturnType<typeof renderUser>[],
        failed: [] as { user: unknown; error: string; code: string }[],
        total: result.summary.total,
      }
      for (const r of result.results) {
        if (r.status === 'failed') {
          const { body } = userError(r.errors)
          out.failed.push({ user: renderSubmitted(req.body[r.index], dir.id), error: body.error, code: body.code as string })
        } else (r.status === 'created' ? out.created : out.updated).push(renderUser(r.user as UserRecord, dir.id))
      }
      return reply.code(201).send(out)
    },
  )

  app.post(
    '/environments/:environmentId/users',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'dynamicCreateUser',
        tags: ['dynamic'],
        summary: 'Dynamic: create a user',
        params: EnvParams,
        body: Body,
        response: { 201: UserEnvelopeSchema, ...errorsOf(400, 401, 403, 404, 422) },
      },
    },
    async (req, reply) => {
      const dir = await environment(req)
      const user = await writeOne(dir, toRow(req.body), { mode: 'create' }, req)
      return reply.code(201).send({ user: renderUser(user, dir.id) })
    },
  )

  app.get(
    '/environments/:environmentId/users',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'dynamicGetEnvironmentUsers',
        tags: ['dynamic'],
        summary: 'Dynamic: list the users of an environment',
        params: EnvParams,
        querystring: ListQuery,
        response: { 200: UsersResponseSchema, ...errorsOf(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const dir = await environment(req)
      const column = req.query['filter[filterColumn]']
      const value = req.query['filter[filterValue]']
      const conditions: UserCondition[] = []
      if (column && value !== undefined && value !== '') {
        const field = own(FILTERABLE, column)
        if (!field)
          throw errors.badRequest(
            `filterColumn '${column}' is not supported here; use one of ${Object.keys(FILTERABLE).join(', ')}`,
            'filter.filterColumn',
          )
        // A custom field never written through this door is not defined yet: nobody matches.
        if (field.startsWith('fields.') && !(await s.directories.fields(dir)).some((f) => f.key === field.slice(7)))
          return { count: 0, users: [] }
        conditions.push({ field, op: 'eq', value })
      }
      let filter = await s.users.filterOf(dir, conditions)
      // A phone is in `phone` (native form) or, verbatim, in the custom field phoneText (../phone.ts).
      if (column === 'phoneNumber' && conditions.length)
        filter = uf.or(filter, { op: 'eq', field: { custom: PHONE_TEXT_KEY, kind: 'text' }, value: value as string })
      const page = await s.users.search(dir, { filter, offset: req.query.offset ?? 0, limit: req.query.limit ?? 100 })
      return { count: page.total, users: page.items.map((u) => renderUser(u, dir.id)) }
    },
  )

  for (const [path, params] of [
    ['/environments/:environmentId/users/:userId', EnvUserParams],
    ['/users/:userId', UserParams],
  ] as const) {
    const dirOf = (req: FastifyRequest<{ Params: { environmentId?: string; userId: string } }>) =>
      req.params.environmentId === undefined
        ? environmentOfUser(req, req.params.userId)
        : environment(req as FastifyRequest<{ Params: { environmentId: string } }>)
    const legacy = path.startsWith('/users')

    app.get(
      path,
      {
        config: { scope: 'read' },
        schema: {
          operationId: legacy ? 'dynamicGetUserLegacy' : 'dynamicGetUser',
          tags: ['dynamic'],
          summary: 'Dynamic: get a user',
          params,
          response: { 200: UserEnvelopeSchema, ...errorsOf(401, 403, 404) },
        },
      },
      async (req) => {
        const dir = await dirOf(req)
        return { user: renderUser(await s.users.get(dir, req.params.userId), dir.id) }
      },
    )

    app.put(
      path,
      {
        config: { scope: 'write' },
        schema: {
          operationId: legacy ? 'dynamicUpdateUserLegacy' : 'dynamicUpdateUser',
          tags: ['dynamic'],
          summary: 'Dynamic: update a user (given fields overwrite, metadata is replaced)',
          params,
          body: Body,
          response: { 200: UserEnvelopeSchema, ...errorsOf(400, 401, 403, 404, 422) },
        },
      },
      async (req) => update(await dirOf(req), req.params.userId, req.body, req),
    )

    app.delete(
      path,
      {
        config: { scope: 'write' },
        schema: {
          operationId: legacy ? 'dynamicDeleteUserLegacy' : 'dynamicDeleteUser',
          tags: ['dynamic'],
          summary: 'Dynamic: delete a user',
          params,
          response: { 204: Type.Null(), ...errorsOf(401, 403, 404) },
        },
      },
      async (req, reply) => {
        const dir = await dirOf(req)
        await s.users.remove(dir, req.params.userId, context(req))
        return reply.code(204).send(null)
      },
    )
  }
}
