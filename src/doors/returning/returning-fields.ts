import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { errors } from '../../core/errors.js'
import type { Directory, FieldDefinition } from '../../core/types.js'
import type { FieldPatch } from '../../engine/directory-service.js'
import type { Services } from '../../jobs/services.js'
import { communities } from './returning-community.js'
import { fieldIdOf, renderField, TYPE_IN } from './returning-map.js'

const Meta = (statusCode: number) => ({ status: 'success', statusCode })
const Ok = Type.Object({
  meta: Type.Object({ status: Type.String(), statusCode: Type.Integer() }),
  message: Type.String(),
  data: Type.Unknown(),
})
const TypeName = Type.String({
  enum: Object.keys(TYPE_IN),
  description: 'text, single-line-text, multi-line-text, number, numerical, boolean, date or select',
})
const Options = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 1000, uniqueItems: true })
const CommunityParams = Type.Object({ communityId: Type.String({ maxLength: 100 }) })
const FieldParams = Type.Object({ communityId: Type.String({ maxLength: 100 }), fieldId: Type.String({ maxLength: 100 }) })

/** Both documented variants: integration (`name`, `description`, `defaultValue`, `options`) and application (`field`, `name`). */
const CreateBody = Type.Object(
  {
    field: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    type: TypeName,
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    required: Type.Optional(Type.Boolean()),
    defaultValue: Type.Optional(Type.Unknown()),
    options: Type.Optional(Options),
  },
  { additionalProperties: false },
)
const UpdateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    type: Type.Optional(TypeName),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    required: Type.Optional(Type.Boolean()),
    options: Type.Optional(Options),
  },
  { additionalProperties: false },
)

/** "deposit amount" → "deposit-amount": the application API's rule for a field's key. */
const keyOf = (name: string): string => name.trim().replace(/\s+/g, '-')

/**
 * User fields are the community directory's custom field definitions. Field writes need the
 * `admin` scope, as they do in the native API. `description` is accepted and not kept (a
 * definition has a label, not a description); a `defaultValue` is refused rather than ignored,
 * since Rollcall never fills values in on its own.
 */
export const returningFieldRoutes = (s: Services) => async (root: FastifyInstance) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const { community } = communities(s)
  const config = (scope: 'read' | 'admin') => ({ scope, returningEnvelope: 'application' as const })

  async function fieldOf(dir: Directory, ref: string): Promise<FieldDefinition> {
    const f = (await s.directories.fields(dir)).find((d) => !d.builtIn && (d.key === ref || fieldIdOf(dir, d.key) === ref))
    if (!f) throw errors.fieldNotFound(ref)
    return f
  }

  const base = '/apis/v1/communities/:communityId/user-fields'

  app.get(
    base,
    {
      config: config('read'),
      schema: {
        operationId: 'returningListUserFields',
        tags: ['returning'],
        summary: 'Returning.AI: the user fields of a community',
        params: CommunityParams,
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      const fields = (await s.directories.fields(dir)).filter((f) => !f.builtIn)
      return { meta: Meta(200), message: 'Get user fields successful', data: fields.map((f) => renderField(dir, f)) }
    },
  )

  app.post(
    base,
    {
      config: config('admin'),
      schema: {
        operationId: 'returningCreateUserField',
        tags: ['returning'],
        summary: 'Returning.AI: create a user field',
        params: CommunityParams,
        body: CreateBody,
        response: { 201: Ok },
      },
    },
    async (req, reply) => {
      const dir = await community(req, req.params.communityId)
      const b = req.body
      if (b.defaultValue !== undefined && b.defaultValue !== null)
        throw errors.validation([
          {
            field: 'defaultValue',
            code: 'unsupported',
            message: 'default values are not supported: send the value with each user instead',
          },
        ])
      const type = TYPE_IN[b.type]
      if (type === 'enum' && !b.options)
        throw errors.validation([{ field: 'options', code: 'required', message: "a 'select' field needs options" }])
      if (type !== 'enum' && b.options)
        throw errors.validation([{ field: 'options', code: 'invalid', message: "options apply only to 'select' fields" }])
      const def = await s.directories.createField(dir, {
        key: b.field ?? keyOf(b.name),
        label: b.name,
        type,
        required: b.required ?? false,
        enumValues: b.options ?? null,
      })
      return reply.code(201).send({ meta: Meta(201), message: 'Create user field successful', data: renderField(dir, def) })
    },
  )

  app.get(
    `${base}/:fieldId`,
    {
      config: config('read'),
      schema: {
        operationId: 'returningGetUserField',
        tags: ['returning'],
        summary: 'Returning.AI: one user field',
        params: FieldParams,
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      return { meta: Meta(200), message: 'Get user field successful', data: renderField(dir, await fieldOf(dir, req.params.fieldId)) }
    },
  )

  app.put(
    `${base}/:fieldId`,
    {
      config: config('admin'),
      schema: {
        operationId: 'returningUpdateUserField',
        tags: ['returning'],
        summary: 'Returning.AI: update a user field',
        params: FieldParams,
        body: UpdateBody,
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      const current = await fieldOf(dir, req.params.fieldId)
      const b = req.body
      if (b.type !== undefined && TYPE_IN[b.type] !== current.type)
        throw errors.validation([
          { field: 'type', code: 'read_only', message: 'the type of a user field cannot be changed; create another field' },
        ])
      const patch: FieldPatch = {}
      if (b.name !== undefined) patch.label = b.name
      if (b.required !== undefined) patch.required = b.required
      if (b.options !== undefined) patch.enumValues = b.options
      const def = await s.directories.updateField(dir, current.key, patch)
      return { meta: Meta(200), message: 'Updated user field', data: renderField(dir, def) }
    },
  )

  app.delete(
    `${base}/:fieldId`,
    {
      config: config('admin'),
      schema: {
        operationId: 'returningDeleteUserField',
        tags: ['returning'],
        summary: 'Returning.AI: delete a user field (stored values stay readable)',
        params: FieldParams,
        response: { 200: Ok },
      },
    },
    async (req) => {
      const dir = await community(req, req.params.communityId)
      const current = await fieldOf(dir, req.params.fieldId)
      await s.directories.deleteField(dir, current.key)
      return { meta: Meta(200), message: 'Deleted user field', data: { _id: fieldIdOf(dir, current.key), field: current.key } }
    },
  )
}
