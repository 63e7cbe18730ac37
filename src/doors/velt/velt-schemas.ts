import { type Static, type TSchema, Type } from 'typebox'
import { NO_CONTROL_PATTERN } from '../../core/schema.js'
import { AnyKeys } from '../../http/schemas.js'

/**
 * Velt's wire shapes (seed `velt-update-users.md`, doors.md §4, the v1 REST reference): every
 * request is a POST whose JSON body wraps its parameters in `data`.
 */

/** IDs per get filter: Velt's documented limit of 30 (`userIds`, `organizationIds`, `documentIds`). */
export const MAX_IDS = 30
/** Organizations, documents or folders per add/update/delete request. */
export const MAX_ITEMS = 100
/** Users per get answer; a longer answer continues with `nextPageToken`. */
export const MAX_PAGE = 1000
/** Documents or folders listed by a get without IDs. */
export const MAX_GROUPS = 1000

const Id = Type.String({ minLength: 1, maxLength: 255, pattern: NO_CONTROL_PATTERN })
const Text = Type.String({ maxLength: 255 })
const Opt = <T extends TSchema>(t: T) => Type.Optional(t)
const strict = { additionalProperties: false }
const Body = <T extends TSchema>(data: T) => Type.Object({ data }, strict)

/** Velt's `User` model (data-models#user). Lengths and formats of mapped fields are the core's to check. */
export const VeltUser = Type.Object(
  {
    userId: Type.String({ minLength: 1, pattern: NO_CONTROL_PATTERN }),
    name: Opt(Type.String()),
    email: Opt(Type.String()),
    photoUrl: Opt(Type.String()),
    organizationId: Opt(Type.String()),
    plan: Opt(Text),
    color: Opt(Text),
    textColor: Opt(Text),
    type: Opt(Text),
    initial: Opt(Text),
    groupId: Opt(Text),
    clientGroupId: Opt(Text),
    isReadOnly: Opt(Type.Boolean()),
    isAnonymous: Opt(Type.Boolean()),
    isGuest: Opt(Type.Boolean()),
    isAdmin: Opt(Type.Boolean()),
    accessRole: Opt(Type.Union([Type.Literal('viewer'), Type.Literal('editor')])),
  },
  strict,
)
export type VeltUser = Static<typeof VeltUser>

const Scope = { organizationId: Id, documentId: Opt(Id), folderId: Opt(Id) }

/** Users per add/update/delete request: up to the native sync limit, checked by the handlers (velt-users.ts). */
export const UsersWriteBody = Body(Type.Object({ ...Scope, users: Type.Array(VeltUser) }, strict))
export type UsersWriteBody = Static<typeof UsersWriteBody>

export const UsersGetBody = Body(
  Type.Object(
    {
      organizationId: Id,
      documentId: Opt(Id),
      folderId: Opt(Id),
      userIds: Opt(Type.Array(Id, { maxItems: MAX_IDS })),
      organizationUserGroupIds: Opt(Type.Array(Type.String(), { maxItems: MAX_IDS })),
      pageSize: Opt(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
      pageToken: Opt(Type.String()),
    },
    strict,
  ),
)
export type UsersGetBody = Static<typeof UsersGetBody>

export const UsersDeleteBody = Body(Type.Object({ ...Scope, userIds: Type.Array(Type.String({ minLength: 1 })) }, strict))
export type UsersDeleteBody = Static<typeof UsersDeleteBody>

const Organization = Type.Object({ organizationId: Id, organizationName: Opt(Text) }, strict)
export const OrgsWriteBody = Body(Type.Object({ organizations: Type.Array(Organization, { maxItems: MAX_ITEMS }) }, strict))
export type OrgsWriteBody = Static<typeof OrgsWriteBody>
export const OrgsGetBody = Body(Type.Object({ organizationIds: Opt(Type.Array(Id, { maxItems: MAX_IDS })) }, strict))
export type OrgsGetBody = Static<typeof OrgsGetBody>
export const OrgsDeleteBody = Body(Type.Object({ organizationIds: Type.Array(Id, { maxItems: MAX_ITEMS }) }, strict))
export type OrgsDeleteBody = Static<typeof OrgsDeleteBody>

const Document = Type.Object({ documentId: Id, documentName: Opt(Text) }, strict)
export const DocsAddBody = Body(
  Type.Object({ organizationId: Id, documents: Type.Array(Document, { maxItems: MAX_ITEMS }), folderId: Opt(Id) }, strict),
)
export type DocsAddBody = Static<typeof DocsAddBody>
export const DocsGetBody = Body(Type.Object({ organizationId: Id, documentIds: Opt(Type.Array(Id, { maxItems: MAX_IDS })) }, strict))
export type DocsGetBody = Static<typeof DocsGetBody>

const Folder = Type.Object({ folderId: Id, folderName: Opt(Text), parentFolderId: Opt(Id) }, strict)
export const FoldersAddBody = Body(Type.Object({ organizationId: Id, folders: Type.Array(Folder, { maxItems: MAX_ITEMS }) }, strict))
export type FoldersAddBody = Static<typeof FoldersAddBody>
export const FoldersGetBody = Body(Type.Object({ organizationId: Id, folderId: Opt(Id) }, strict))
export type FoldersGetBody = Static<typeof FoldersGetBody>

// ---- responses (allow-lists)

const Result = <T extends TSchema>(data: T, extra: Record<string, TSchema> = {}) =>
  Type.Object({ result: Type.Object({ status: Type.String(), message: Type.String(), data, ...extra }) })

/**
 * One item's outcome, keys in the seed's order `{success, id, message}`. Every key is required:
 * the serializer writes required keys before optional ones, so an optional `id` would come last.
 */
export const ItemResult = Type.Object({ success: Type.Boolean(), id: Type.String(), message: Type.String() })
export type ItemResult = Static<typeof ItemResult>
/** A per-item map keyed by the caller's ids, in request order. */
export const MapResult = Result(AnyKeys(ItemResult))
/** users/delete reports `{success, message}`, without an id. */
export const RemovedResult = Type.Object({ success: Type.Boolean(), message: Type.String() })
export type RemovedResult = Static<typeof RemovedResult>
export const RemovedMapResult = Result(AnyKeys(RemovedResult))

export const VeltUserOut = Type.Object({
  email: Opt(Type.String()),
  name: Opt(Type.String()),
  userId: Type.String(),
  photoUrl: Opt(Type.String()),
  plan: Opt(Type.String()),
  color: Opt(Type.String()),
  textColor: Opt(Type.String()),
  type: Opt(Type.String()),
  initial: Opt(Type.String()),
  groupId: Opt(Type.String()),
  clientGroupId: Opt(Type.String()),
  isReadOnly: Opt(Type.Boolean()),
  isAnonymous: Opt(Type.Boolean()),
  isGuest: Opt(Type.Boolean()),
  isAdmin: Opt(Type.Boolean()),
})
export type VeltUserOut = Static<typeof VeltUserOut>
export const UsersGetResult = Result(Type.Array(VeltUserOut), { nextPageToken: Opt(Type.String()) })

export const OrgsGetResult = Result(
  Type.Array(Type.Object({ id: Type.String(), organizationName: Type.String(), disabled: Type.Boolean() })),
)
export const DocsGetResult = Result(
  Type.Array(Type.Object({ documentName: Type.String(), disabled: Type.Boolean(), accessType: Type.String(), id: Type.String() })),
)
const FolderOut = Type.Object({
  folderId: Type.String(),
  folderName: Type.String(),
  organizationId: Type.String(),
  parentFolderId: Type.String(),
  createdAt: Type.Number(),
  lastUpdated: Type.Number(),
  subFolders: Opt(Type.Array(Type.Object({}, { additionalProperties: true }))),
})
export type FolderOut = Static<typeof FolderOut>
export const FoldersGetResult = Result(Type.Array(FolderOut))

export const ErrorBody = Type.Object({ error: Type.Object({ message: Type.String(), status: Type.String() }) })
