import { type Static, type TSchema, Type } from 'typebox'
import { NO_CONTROL_PATTERN } from '../core/schema.js'
import { CHANNELS, FIELD_TYPES, MATCH_KEYS, SCOPES } from '../core/types.js'

/** TypeBox schemas of the native API: validation, response serialisation and OpenAPI from one source. */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Timestamp = Type.String({ format: 'date-time' })
const AnyObject = Type.Object({}, { additionalProperties: true })
/**
 * An object with any keys, each holding `value`. Not Type.Record: its `^.*$` key pattern does not
 * match a key with a line break, and the serializer silently drops keys that match no pattern.
 */
export const AnyKeys = <T extends TSchema>(value: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...opts })
/** A string enum that keeps its literal type (a Union of mapped literals would widen to never). */
export const StringEnum = <T extends string>(values: readonly T[], opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...opts })

export const FieldErrorSchema = Type.Object(
  {
    field: Type.String({ description: "Dotted path of the field ('' for the whole row)" }),
    code: Type.String({ description: 'Stable machine-readable rule name' }),
    message: Type.String(),
  },
  { $id: 'FieldError' },
)

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable error code; see the README error table' }),
    instance: Type.Optional(Type.String({ description: 'The request id' })),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
)

export const UserSchema = Type.Object(
  {
    id: Type.String(),
    directoryId: Type.String(),
    externalId: Nullable(Type.String()),
    email: Nullable(Type.String()),
    emailVerifiedAt: Nullable(Timestamp),
    phone: Nullable(Type.String()),
    username: Nullable(Type.String()),
    firstName: Nullable(Type.String()),
    lastName: Nullable(Type.String()),
    displayName: Nullable(Type.String()),
    avatarUrl: Nullable(Type.String()),
    country: Nullable(Type.String()),
    locale: Nullable(Type.String()),
    active: Type.Boolean({ description: 'False once the user is deactivated; deactivated users stay readable and matchable' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastLoginAt: Nullable(Timestamp),
    loginCount: Type.Integer(),
    version: Type.Integer(),
    metadata: AnyObject,
    fields: AnyObject,
  },
  { $id: 'User' },
)

/** A user as written: any subset of the writable fields (validated by the directory's schema). */
export const UserInputSchema = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'Writable user fields, metadata and custom fields; see GET /api/v1/directories/{dir}/schema for the exact schema',
  },
)

export const DirectorySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    number: Type.Integer({ description: 'Stable small integer (One of None app_id)' }),
    externalId: Nullable(Type.String()),
    name: Type.String(),
    historyRetentionDays: Nullable(
      Type.Integer({ description: 'Days of history kept: older change records are deleted by the worker (null: kept forever)' }),
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Directory' },
)

const HistoryRetentionDays = Type.Optional(
  Nullable(
    Type.Integer({
      minimum: 1,
      maximum: 36_500,
      description:
        'Days of history to keep: older change records are deleted by the worker, and an import that ended before then can no longer be reverted. null (the default): kept forever',
    }),
  ),
)

export const DirectoryInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    externalId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255, pattern: NO_CONTROL_PATTERN }))),
    historyRetentionDays: HistoryRetentionDays,
  },
  { additionalProperties: false },
)

export const DirectoryPatchSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    externalId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255, pattern: NO_CONTROL_PATTERN }))),
    historyRetentionDays: HistoryRetentionDays,
  },
  { additionalProperties: false },
)

export const FieldSchema = Type.Object(
  {
    key: Type.String(),
    label: Type.String(),
    type: StringEnum(FIELD_TYPES),
    required: Type.Boolean(),
    unique: Type.Boolean(),
    maxLength: Nullable(Type.Integer()),
    pattern: Nullable(Type.String()),
    enumValues: Nullable(Type.Array(Type.String())),
    builtIn: Type.Boolean(),
    createdAt: Nullable(Timestamp),
    updatedAt: Nullable(Timestamp),
  },
  { $id: 'Field' },
)

export const FieldInputSchema = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 64 }),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    type: StringEnum(FIELD_TYPES),
    required: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean()),
    maxLength: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_048_576 }))),
    pattern: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1000 }))),
    enumValues: Type.Optional(
      Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 1000, uniqueItems: true })),
    ),
  },
  { additionalProperties: false },
)

export const FieldPatchSchema = Type.Object(
  {
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    required: Type.Optional(Type.Boolean()),
    maxLength: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_048_576 }))),
    pattern: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 1000 }))),
    enumValues: Type.Optional(
      Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 1000, uniqueItems: true })),
    ),
  },
  { additionalProperties: false },
)

export const ChangeSchema = Type.Object(
  {
    seq: Type.Integer(),
    userId: Type.String(),
    action: StringEnum(['create', 'update', 'delete'] as const),
    at: Timestamp,
    channel: StringEnum(CHANNELS),
    keyId: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    jobId: Nullable(Type.String()),
    changes: AnyKeys(Type.Array(Type.Unknown(), { minItems: 2, maxItems: 2 }), {
      description: 'Per field path: [before, after]',
    }),
  },
  { $id: 'Change' },
)

export const KeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(StringEnum(SCOPES)),
    directories: Nullable(Type.Array(Type.String())),
    createdAt: Timestamp,
    lastUsedAt: Nullable(Timestamp),
    revokedAt: Nullable(Timestamp),
  },
  { $id: 'ApiKey' },
)

export const KeyInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Array(StringEnum(SCOPES), { minItems: 1, uniqueItems: true }),
    directories: Type.Optional(Nullable(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1000 }))),
  },
  { additionalProperties: false },
)

const MatchKeySchema = StringEnum(MATCH_KEYS)

export const BulkRequestSchema = Type.Object(
  {
    rows: Type.Array(Type.Unknown(), { description: 'User objects; each is validated on its own and reported per row' }),
    mode: Type.Optional(StringEnum(['create', 'update', 'upsert'] as const, { default: 'upsert' })),
    match: Type.Optional(
      Type.Union([MatchKeySchema, Type.Array(MatchKeySchema, { minItems: 1, uniqueItems: true })], { default: 'email' }),
    ),
    metadata: Type.Optional(StringEnum(['merge', 'replace'] as const, { default: 'merge' })),
    atomic: Type.Optional(Type.Boolean({ default: false })),
    maxErrors: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }))),
    dryRun: Type.Optional(Type.Boolean({ default: false })),
    absent: Type.Optional(
      StringEnum(['keep', 'deactivate', 'delete'] as const, {
        default: 'keep',
        description:
          'Mirror mode: users of the directory (in `scope`) no row matched are deactivated or deleted once every row is in. The request runs as an import job (its id is `importId`); the answer waits for it (Prefer: wait=<seconds>, default 30) and is 202 with the job if it is not done by then or waits for a confirmation',
      }),
    ),
    scope: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        description: 'Mirror mode: equalities a user must meet to be absent ({"metadata.source": "hr"})',
      }),
    ),
    maxAbsent: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String()], {
        description: 'Mirror mode: the most absent users changed without a confirmation: a count, or a percentage like "5%" (default 10%)',
      }),
    ),
    absentOnErrors: Type.Optional(Type.Boolean({ description: 'Mirror mode: change absent users even though some rows failed' })),
  },
  { additionalProperties: false },
)
export type BulkRequest = Static<typeof BulkRequestSchema>

export const SummarySchema = Type.Object({
  total: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  failed: Type.Integer(),
})

export const RowResultSchema = Type.Object(
  {
    index: Type.Integer({ description: '0-based position in the input' }),
    status: StringEnum(['created', 'updated', 'unchanged', 'failed'] as const),
    userId: Nullable(Type.String()),
    changedFields: Type.Array(Type.String()),
    errors: Type.Array(FieldErrorSchema),
    warnings: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), code: Type.String(), message: Type.String() }), {
        description: 'Notes that did not fail the row: duplicate_in_input when another row names the same user',
      }),
    ),
    changes: Type.Optional(AnyKeys(Type.Array(Type.Unknown()), { description: 'Dry runs: per field, [before, after]' })),
  },
  { $id: 'RowResult' },
)

export const BulkResponseSchema = Type.Object({
  summary: SummarySchema,
  results: Type.Array(RowResultSchema),
  dryRun: Type.Boolean(),
  stopped: Type.Boolean({ description: 'The run stopped at maxErrors; later rows are failed with not_processed' }),
  importId: Type.Optional(Type.String({ description: 'Mirror mode: the import job the request ran as' })),
  absent: Type.Optional(Type.Unknown({ description: 'Mirror mode: the absent users and what was done to them (as an import’s `absent`)' })),
})

export const ListQuery = {
  cursor: Type.Optional(Type.String({ description: 'Opaque cursor from the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
}

export const page = <T extends TSchema>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null at the end' })),
  })

export const DirParams = Type.Object({ dir: Type.String({ description: 'Directory id (UUID) or externalId' }) })

export const GroupSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.String({ description: 'group (native, SCIM), team (One of None), document or folder (Velt)' }),
    name: Type.String(),
    externalId: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Group' },
)
