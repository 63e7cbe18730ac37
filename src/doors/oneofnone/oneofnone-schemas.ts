import { type Static, type TSchema, Type } from 'typebox'
import { MAX_INT32, MAX_OFFSET } from '../../core/input-guard.js'

/**
 * One of None's wire shapes (seed `oneofnone-batch-update-users.md`, doors.md §1), as TypeBox:
 * request validation, response allow-lists and the OpenAPI document from one source.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

/** List page size: default and most (doors.md §1(c) [A]). */
export const DEFAULT_LIMIT = 20
export const MAX_LIMIT = 100

export const UserData = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    // Free-form, as the vendor documents it: any string ("" clears); see docs/doors/README.md, "Phones".
    phone: Type.Optional(Type.String()),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
)
export type UserData = Static<typeof UserData>

export const BatchUpdateBody = Type.Object(
  {
    // The vendor marks `users` required even when `csv` carries the rows; Rollcall also accepts a body with only `csv`.
    users: Type.Optional(Type.Array(UserData)),
    csv: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
export type BatchUpdateBody = Static<typeof BatchUpdateBody>

export const UserResponse = Type.Object({
  id: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  metadata: Nullable(Type.Object({}, { additionalProperties: true })),
  avatar: Nullable(Type.Object({ url: Nullable(Type.String()) })),
  app_id: Nullable(Type.Number()),
  team_id: Nullable(Type.String()),
  last_login_at: Nullable(Type.String()),
  login_count: Nullable(Type.Number()),
  created_at: Type.String(),
  updated_at: Nullable(Type.String()),
})
export type UserResponse = Static<typeof UserResponse>

export const BatchUpdateResponse = Type.Object({ message: Type.String(), count: Type.Number(), users: Type.Array(UserResponse) })

const Count = Type.Integer({ minimum: 1, maximum: MAX_INT32 })
const Instant = Type.String({ format: 'date-time' })

/** The documented list filters; unknown parameters are ignored, as the vendor does. */
export const ListQuery = Type.Object({
  email: Type.Optional(Type.String()),
  phone: Type.Optional(Type.String()),
  app_id: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT32 })),
  min_login_count: Type.Optional(Count),
  max_login_count: Type.Optional(Count),
  min_created_at: Type.Optional(Instant),
  max_created_at: Type.Optional(Instant),
  min_last_login_at: Type.Optional(Instant),
  max_last_login_at: Type.Optional(Instant),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET })),
})
export type ListQuery = Static<typeof ListQuery>

/** Filter parameters in the order they are repeated into `next`/`prev` URLs. */
export const FILTER_PARAMS = [
  'email',
  'phone',
  'app_id',
  'min_login_count',
  'max_login_count',
  'min_created_at',
  'max_created_at',
  'min_last_login_at',
  'max_last_login_at',
] as const satisfies readonly (keyof ListQuery)[]

export const ListResponse = Type.Object({
  data: Type.Array(UserResponse),
  pagination: Type.Object({
    next: Nullable(Type.String()),
    prev: Nullable(Type.String()),
    limit: Type.Integer(),
    offset: Type.Integer(),
    total_count: Type.Integer(),
    total_pages: Type.Integer(),
    current_page: Type.Integer(),
  }),
})

export const GetParams = Type.Object({ id: Type.String() })
export const GetQuery = Type.Object({ type: Type.Optional(Type.Union([Type.Literal('ID'), Type.Literal('EMAIL')])) })

export const ErrorBody = Type.Object({ message: Type.String() })
