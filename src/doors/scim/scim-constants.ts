/** Schema and message URNs of RFC 7643/7644, and the door's one extension schema. */
export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  /** The directory's custom fields. Not an IETF URN: the schema is Rollcall's, and differs per directory. */
  fields: 'urn:rollcall:params:scim:schemas:extension:fields:2.0:User',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  searchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  bulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const

export const SCIM_MEDIA_TYPE = 'application/scim+json'

/**
 * The limits the door enforces and advertises in /ServiceProviderConfig, so a client can size
 * its requests from the discovery document alone.
 */
export const LIMITS = {
  /** Operations per /Bulk request: a thousand users is one Okta push, and a few engine batches. */
  bulkMaxOperations: 1000,
  /** Bytes per /Bulk body (4 MiB): a thousand full users with room to spare, bounded memory per request. */
  bulkMaxPayloadBytes: 4 * 1024 * 1024,
  /** Resources per list page: `count` above it is lowered to it (RFC 7644 §3.4.2.4). */
  maxResults: 1000,
  /** Page size when the client gives no `count`. */
  defaultCount: 100,
  /**
   * Groups a /Groups list reads to filter, sort and page them in memory: groups are few next to
   * users, and the store's one filter query is for users. `id eq`, `externalId eq` and an exact
   * `displayName eq` are looked up directly; other lists in a directory with more groups than
   * this are refused with tooMany rather than read whole.
   */
  groupScan: 10_000,
  /** Retries of a PATCH whose user changed between its read and its write (no If-Match given). */
  patchAttempts: 3,
} as const

/** The `kind` of Rollcall groups that SCIM sees: other doors' groups (Velt documents, teams) stay out. */
export const GROUP_KIND = 'group'
