import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { type TObject, Type } from 'typebox'
import { errors } from '../../core/errors.js'
import type { Directory } from '../../core/types.js'
import type { Services } from '../../jobs/services.js'
import { decodeCursor, encodeCursor } from '../../http/cursor.js'
import { communities, contextOf } from './returning-community.js'
import { fieldIdOf, historyItems, PLATFORM_FIELDS } from './returning-map.js'

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const Id = Type.String({ maxLength: 100 })
const Ok = Type.Object({
  meta: Type.Object({ status: Type.String(), statusCode: Type.Integer() }),
  message: Type.String(),
  data: Type.Unknown(),
  next_cursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})
const ListQuery = Type.Object(
  {
    fieldId: Type.Optional(Id),
    userId: Type.Optional(Id),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
)
const CreateBody = Type.Object(
  {
    fieldId: Type.Optional(Id),
    field: Type.Optional(Id),
    value: Type.Union([Type.String({ maxLength: 10_000 }), Type.Number(), Type.Boolean(), Type.Null()]),
    operation: Type.Optional(Type.Union([Type.Literal('add'), Type.Literal('subtract'), Type.Literal('overwrite')])),
  },
  { additionalProperties: false },
)

/**
 * User field histories are Rollcall's change history, read per custom field: each change record
 * yields one item per custom field it changed. Creating one is writing the field's new value
 * (or adding to it) through the bulk engine, which records the history itself.
 */
export const returningHistoryRoutes = (s: Services) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { community, fieldsOf } = communities(s)

  /** A custom field named by its 24-hex id or key. */
  async function fieldKey(dir: Directory, ref: string): Promise<string> {
    const f = (await fieldsOf(dir)).find((d) => !d.builtIn && (d.key === ref || fieldIdOf(dir, d.key) === ref))
    if (!f) throw errors.fieldNotFound(ref)
    return f.key
  }

  function userIdOf(ref: string): string {
    if (!UUID_RE.test(ref)) throw errors.userNotFound(ref)
    return ref
  }

  async function list(
    req: FastifyRequest,
    communityId: string,
    fieldRef: string | undefined,
    userRef: string | undefined,
    q: { cursor?: string; limit?: number },
  ) {
    const dir = await community(req, communityId)
    const key = fieldRef === undefined ? undefined : await fieldKey(dir, fieldRef)
    const userId = userRef === undefined ? undefined : userIdOf(userRef)
    const page = await s.users.history(dir, {
      userId,
      field: key === undefined ? undefined : `fields.${key}`,
      beforeSeq: decodeCursor(q.cursor),
      limit: q.limit ?? 100,
    })
    return {
      meta: { status: 'success', statusCode: 200 },
      message: 'Get user field histories successful',
      data: page.items.flatMap((rec) => historyItems(dir, rec, key)),
      next_cursor: encodeCursor(page.nextSeq),
    }
  }

  const base = '/apis/v1/communities/:communityId/user-field-histories'
  const read = { scope: 'read' as const, returningEnvelope: 'application' as const }
  const schema = <P extends TObject>(operationId: string, summary: string, params: P) => ({
    operationId,
    tags: ['returning'],
    summary,
    params,
    querystring: ListQuery,
    response: { 200: Ok },
  })
  const P = {
    community: Type.Object({ communityId: Id }),
    field: Type.Object({ communityId: Id, fieldId: Id }),
    user: Type.Object({ communityId: Id, userId: Id }),
    fieldUser: Type.Object({ communityId: Id, fieldId: Id, userId: Id }),
  }

  app.get(
    base,
    {
      config: read,
      schema: schema('returningListFieldHistories', 'Returning.AI: user field histories of a community (?fieldId=, ?userId=)', P.community),
    },
    (req) => list(req, req.params.communityId, req.query.fieldId, req.query.userId, req.query),
  )
  app.get(
    `${base}/fields/:fieldId`,
    { config: read, schema: schema('returningFieldHistories', 'Returning.AI: histories of one user field', P.field) },
    (req) => list(req, req.params.communityId, req.params.fieldId, req.query.userId, req.query),
  )
  app.get(
    `${base}/users/:userId`,
    { config: read, schema: schema('returningUserFieldHistories', "Returning.AI: histories of one user's fields", P.user) },
    (req) => list(req, req.params.communityId, req.query.fieldId, req.params.userId, req.query),
  )
  app.get(
    `${base}/fields/:fieldId/users/:userId`,
    { config: read, schema: schema('returningFieldUserHistories', 'Returning.AI: histories of one field of one user', P.fieldUser) },
    (req) => list(req, req.params.communityId, req.params.fieldId, req.params.userId, req.query),
  )

  app.post(
    `${base}/users/:userId`,
    {
      config: { scope: 'write', returningEnvelope: 'application' },
      schema: {
        operationId: 'returningCreateFieldHistory',
        tags: ['returning'],
        summary: "Returning.AI: change one of a user's fields, recording its history",
        params: Type.Object({ communityId: Id, userId: Id }),
        body: CreateBody,
        response: { 200: Ok, 201: Ok },
      },
    },
    async (req, reply) => {
      const dir = await community(req, req.params.communityId)
      const b = req.body
      const ref = b.fieldId ?? b.field
      if (ref === undefined)
        throw errors.validation([{ field: 'fieldId', code: 'required', message: "'fieldId' (or 'field') is required" }])
      const key = await fieldKey(dir, ref)
      const userId = userIdOf(req.params.userId)
      const op = b.operation === 'add' || b.operation === 'subtract' ? b.operation : undefined
      const [r] = (
        await s.users.bulk(
          dir,
          [{ data: { id: userId, fields: { [key]: b.value } }, ...(op ? { ops: { [key]: op } } : {}) }],
          { mode: 'update', match: ['id'], needsFields: PLATFORM_FIELDS },
          contextOf(req),
        )
      ).results
      if (r.status === 'failed') {
        if (r.errors.some((e) => e.code === 'user_not_found')) throw errors.userNotFound(userId)
        throw errors.validation(r.errors)
      }
      if (r.status === 'unchanged')
        return { meta: { status: 'success', statusCode: 200 }, message: 'The value did not change; no history was recorded', data: null }
      // The record this request wrote: the newest for the user and field, told apart by request id.
      const recent = await s.users.history(dir, { userId, field: `fields.${key}`, limit: 10 })
      const rec = recent.items.find((x) => x.requestId === String(req.id))
      return reply.code(201).send({
        meta: { status: 'success', statusCode: 201 },
        message: 'Create user field history successful',
        data: rec ? historyItems(dir, rec, key)[0] : null,
      })
    },
  )
}
