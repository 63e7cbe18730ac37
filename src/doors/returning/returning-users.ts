import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { MAX_OFFSET } from '../../core/input-guard.js'
import { AnyKeys } from '../../http/schemas.js'
import { errors, type FieldError, RollcallError } from '../../core/errors.js'
import type { Directory, Json, JsonObject, UserRecord } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import type { UserCondition } from '../../engine/user-conditions.js'
import type { DeletedUserRef } from '../../engine/user-restore.js'
import { communities, contextOf } from './returning-community.js'
import { canonicalOf, DEFAULT_FIELDS, fieldIdOf, PLATFORM_FIELDS, renderUserData, valueOf } from './returning-map.js'

/** Returning.AI's fixed page size for "get users by filter". */
export const FILTER_PAGE = 200

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const Str = (max = 255) => Type.String({ maxLength: max })
const Ok = Type.Object({ status: Type.String(), message: Type.Optional(Type.String()), data: Type.Unknown() })

const CreateUserBody = Type.Object(
  {
    firstname: Type.Optional(Str()),
    lastname: Type.Optional(Str()),
    username: Type.Optional(Str()),
    displayname: Type.Optional(Str()),
    email: Type.Optional(Str(320)),
    password: Type.Optional(Str(1024)),
    confirmPassword: Type.Optional(Str(1024)),
    accessLevel: Type.Optional(Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
    joinServer: Type.Optional(Type.Boolean()),
    emailPassword: Type.Optional(Type.Boolean()),
    sendEmail: Type.Optional(Type.Boolean()),
    emailTemplate: Type.Optional(Str(10_000)),
    customFields: Type.Optional(
      Type.Array(
        Type.Object(
          { fieldIdorName: Type.String({ minLength: 1, maxLength: 255 }), value: Type.Unknown() },
          { additionalProperties: false },
        ),
        { maxItems: 500 },
      ),
    ),
    externalId: Type.Optional(Str()),
    referral: Type.Optional(Str()),
    communityId: Type.Optional(Str()),
  },
  { additionalProperties: false },
)

const Range = Type.Object(
  { gte: Type.Optional(Type.Union([Type.Number(), Type.String()])), lte: Type.Optional(Type.Union([Type.Number(), Type.String()])) },
  { additionalProperties: false, minProperties: 1 },
)
const FilterBody = Type.Object(
  {
    fields: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 200 })),
    // Not Type.Record: its key pattern skips keys with a line break, which would pass unchecked.
    filter: Type.Optional(
      AnyKeys(Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Range]), { propertyNames: { maxLength: 100 } }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_OFFSET })),
  },
  { additionalProperties: false },
)

/** A user named by id, email or username: the three keys a Returning.AI client may hold. */
function refOf(user: string): DeletedUserRef {
  return UUID_RE.test(user) ? { id: user } : user.includes('@') ? { email: user } : { username: user }
}

/** Filter cursors are opaque: base64url of the offset of the next page. */
const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url')
function decodeCursor(cursor: string): number {
  const m = /^o:(\d{1,12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new RollcallError('invalid_cursor', 'The cursor is not one this server issued; start again without it')
  return Number(m[1])
}

export const returningUserRoutes = (s: Services) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { community, fieldsOf } = communities(s)

  async function findUser(dir: Directory, ref: string): Promise<UserRecord> {
    const r = refOf(ref)
    const [u] = await s.users.find(dir, Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [v]])))
    if (!u) throw new RollcallError('user_not_found', 'User not found')
    return u
  }

  /** `customFields: [{fieldIdorName, value}]` → `fields`, each named by its 24-hex id, key or name. */
  async function customFields(dir: Directory, given: { fieldIdorName: string; value: unknown }[]): Promise<JsonObject> {
    const defs = (await fieldsOf(dir)).filter((f) => !f.builtIn)
    const out: JsonObject = {}
    const problems: FieldError[] = []
    given.forEach(({ fieldIdorName: ref, value }, i) => {
      const def = defs.find((f) => fieldIdOf(dir, f.key) === ref) ?? defs.find((f) => f.key === ref) ?? defs.find((f) => f.label === ref)
      if (def) out[def.key] = value as Json
      else
        problems.push({
          field: `customFields.${i}.fieldIdorName`,
          code: 'unknown_field',
          message: `no user field '${ref}' in this community`,
        })
    })
    if (problems.length) throw errors.validation(problems)
    return out
  }

  app.post(
    '/apis/v1/users',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'returningCreateUser',
        tags: ['returning'],
        summary: 'Returning.AI: create a user',
        body: CreateUserBody,
        response: { 201: Ok },
      },
    },
    async (req, reply) => {
      const b = req.body
      const dir = await community(req, b.communityId)
      if (b.password !== undefined && b.confirmPassword !== undefined && b.password !== b.confirmPassword)
        throw errors.validation([{ field: 'confirmPassword', code: 'mismatch', message: 'must equal password' }])
      // Passwords and e-mail options are accepted for compatibility and dropped: Rollcall is a
      // directory, not a sign-in provider; it stores no secret and sends no mail.
      const metadata: JsonObject = {}
      if (b.accessLevel !== undefined) metadata.accessLevel = b.accessLevel
      if (b.referral !== undefined) metadata.referral = b.referral
      const data = Object.fromEntries(
        Object.entries({
          firstName: b.firstname,
          lastName: b.lastname,
          username: b.username,
          displayName: b.displayname,
          email: b.email,
          externalId: b.externalId,
          metadata: Object.keys(metadata).length ? metadata : undefined,
          fields: b.customFields?.length ? await customFields(dir, b.customFields) : undefined,
        }).filter(([, v]) => v !== undefined),
      )
      const user = await s.users.create(dir, data, contextOf(req), { needsFields: PLATFORM_FIELDS })
      return reply.code(201).send({ status: 'success', message: 'User created successfully', data: renderUserData(user) })
    },
  )

  app.post(
    '/apis/v1/users/info',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'returningUserData',
        tags: ['returning'],
        summary: 'Returning.AI: user data by id, email or username',
        body: Type.Object({ idOrEmail: Type.String({ minLength: 1, maxLength: 320 }) }, { additionalProperties: false }),
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req)
      return { status: 'success', data: renderUserData(await findUser(dir, req.body.idOrEmail)) }
    },
  )

  app.post(
    '/apis/v1/users/manage',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'returningManageUser',
        tags: ['returning'],
        summary: 'Returning.AI: delete or restore a user',
        body: Type.Object(
          { action: Type.Union([Type.Literal('delete'), Type.Literal('restore')]), user: Type.String({ minLength: 1, maxLength: 320 }) },
          { additionalProperties: false },
        ),
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req)
      if (req.body.action === 'delete') {
        const user = await findUser(dir, req.body.user)
        await s.users.remove(dir, user.id, contextOf(req))
        return { status: 'success', message: 'User deleted successfully', data: { userId: user.id } }
      }
      const user = await s.users.restore(dir, refOf(req.body.user), contextOf(req))
      return { status: 'success', message: 'User restored successfully', data: renderUserData(user) }
    },
  )

  app.post(
    '/apis/v1/users/filter',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'returningGetUsersByFilter',
        tags: ['returning'],
        summary: 'Returning.AI: users by filter, 200 a page, by cursor or page number',
        body: FilterBody,
        response: { 200: Ok },
      },
    },
    async (req) => {
      const b = req.body
      if (b.cursor !== undefined && b.page !== undefined) throw errors.badRequest('Send either cursor or page, not both', 'cursor')
      const dir = await community(req)
      const conditions: UserCondition[] = []
      for (const [name, v] of Object.entries(b.filter ?? {})) {
        const field = canonicalOf(name)
        // Identity fields match as people type them; everything else exactly.
        const caseExact = field !== 'email' && field !== 'username'
        if (typeof v === 'object') {
          if (v.gte !== undefined) conditions.push({ field, op: 'gte', value: v.gte })
          if (v.lte !== undefined) conditions.push({ field, op: 'lte', value: v.lte })
        } else conditions.push({ field, op: 'eq', value: v, caseExact })
      }
      const names = b.fields?.length
        ? b.fields
        : [...DEFAULT_FIELDS, ...(await fieldsOf(dir)).filter((f) => !f.builtIn && f.key !== 'xp' && f.key !== 'coins').map((f) => f.key)]
      await checkNames(dir, names)
      const filter = await s.users.filterOf(dir, conditions, PLATFORM_FIELDS)
      const offset = b.page !== undefined ? (b.page - 1) * FILTER_PAGE : b.cursor !== undefined ? decodeCursor(b.cursor) : 0
      const page = await s.users.search(dir, { filter, offset, limit: FILTER_PAGE })
      const users = page.items.map((u) => ({ userId: u.id, ...Object.fromEntries(names.map((n) => [n, valueOf(u, n)])) }))
      if (b.page !== undefined)
        return { status: 'success', data: { users, total_pages: Math.ceil(page.total / FILTER_PAGE), current_page: b.page } }
      return {
        status: 'success',
        data: { users, next_cursor: offset + users.length < page.total ? encodeCursor(offset + FILTER_PAGE) : null },
      }
    },
  )

  /** Requested field names must name something: a platform field or a custom field of the community. */
  async function checkNames(dir: Directory, names: string[]): Promise<void> {
    const custom = new Set((await fieldsOf(dir)).filter((f) => !f.builtIn).map((f) => f.key))
    const unknown = names.filter((n) => canonicalOf(n).startsWith('fields.') && !custom.has(canonicalOf(n).slice(7)))
    if (unknown.length)
      throw errors.validation(
        unknown.map((n) => ({ field: 'fields', code: 'unknown_field', message: `no user field '${n}' in this community` })),
      )
  }
}
