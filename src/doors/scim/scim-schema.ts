import type { FieldDefinition, FieldType, JsonObject } from '../../core/types.js'
import { URN } from './scim-constants.js'

/**
 * The attribute schemas the door serves (RFC 7643 §7), as data: the same definitions drive
 * /Schemas, attribute-name resolution (names are case-insensitive), filters, PATCH paths,
 * `attributes`/`excludedAttributes`, and mutability checks.
 *
 * Attributes marked `ignored` are standard ones Rollcall has no place for (`title`,
 * `addresses`…): accepted in requests so that an identity provider's default mapping never
 * fails a provisioning run, not stored, never returned, not listed in /Schemas, and refused in
 * filters (a filter on them could only ever answer "nothing").
 */
export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary'
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly'

export interface AttrDef {
  name: string
  type: AttrType
  description: string
  multiValued?: boolean
  required?: boolean
  caseExact?: boolean
  mutability?: Mutability
  returned?: 'always' | 'never' | 'default' | 'request'
  uniqueness?: 'none' | 'server' | 'global'
  canonicalValues?: string[]
  referenceTypes?: string[]
  subAttributes?: AttrDef[]
  /** Accepted in requests, not stored (see above). */
  ignored?: boolean
}

export interface SchemaDef {
  id: string
  name: string
  description: string
  attributes: AttrDef[]
}

const str = (name: string, description: string, extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'string', description, ...extra })
const ignored = (name: string, type: AttrType = 'string', extra: Partial<AttrDef> = {}): AttrDef => ({
  name,
  type,
  description: 'Accepted and ignored: Rollcall does not store it',
  ignored: true,
  ...extra,
})
const ignoredComplex = (name: string, subs: string[]): AttrDef =>
  ignored(name, 'complex', { multiValued: true, subAttributes: subs.map((s) => ignored(s)) })

/** A multi-valued attribute of which Rollcall keeps one value (see scim-user-mapping.ts). */
const oneValue = (name: string, what: string, types: string[]): AttrDef => ({
  name,
  type: 'complex',
  multiValued: true,
  description: `${what}. Rollcall keeps one: the value marked primary, else the first (PATCH: the one last added or changed).`,
  subAttributes: [
    str('value', what),
    str('type', `A label (${types.join(', ')}); not stored: read back as "work"`, { canonicalValues: types }),
    { name: 'primary', type: 'boolean', description: 'The main value: always the one kept' },
    ignored('display'),
  ],
})

/** Attributes every resource has (RFC 7643 §3.1); not listed in /Schemas, as the RFC's own schemas do not. */
export const COMMON_ATTRIBUTES: AttrDef[] = [
  str('id', 'Identifier assigned by Rollcall', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  str('externalId', "The provisioning client's identifier", { caseExact: true }),
  {
    name: 'meta',
    type: 'complex',
    description: 'Resource metadata',
    mutability: 'readOnly',
    subAttributes: [
      str('resourceType', 'User or Group', { mutability: 'readOnly', caseExact: true }),
      { name: 'created', type: 'dateTime', description: 'When the resource was created', mutability: 'readOnly' },
      { name: 'lastModified', type: 'dateTime', description: 'When it last changed', mutability: 'readOnly' },
      { name: 'location', type: 'reference', referenceTypes: ['uri'], description: 'Its URL', mutability: 'readOnly', caseExact: true },
      str('version', 'Weak ETag of the resource', { mutability: 'readOnly', caseExact: true }),
    ],
  },
]

const USER_ATTRIBUTES: AttrDef[] = [
  str('userName', 'Unique login name: Rollcall username (or email, for users without one)', { required: true, uniqueness: 'server' }),
  {
    name: 'name',
    type: 'complex',
    description: "The user's name",
    subAttributes: [
      str('formatted', 'Full name (Rollcall displayName, when displayName is not sent)'),
      str('familyName', 'Rollcall lastName'),
      str('givenName', 'Rollcall firstName'),
      ignored('middleName'),
      ignored('honorificPrefix'),
      ignored('honorificSuffix'),
    ],
  },
  str('displayName', 'Rollcall displayName'),
  str('locale', 'Rollcall locale (BCP 47, like en-US)'),
  {
    name: 'active',
    type: 'boolean',
    description: 'Whether the user may sign in: Rollcall active (true unless the user was deactivated).',
  },
  oneValue('emails', 'Email address (Rollcall email)', ['work', 'home', 'other']),
  oneValue('phoneNumbers', 'Phone number (Rollcall phone)', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  {
    name: 'groups',
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    description: 'Groups the user belongs to; change them through /Groups',
    subAttributes: [
      str('value', 'Group id', { mutability: 'readOnly', caseExact: true }),
      { name: '$ref', type: 'reference', referenceTypes: ['Group'], description: 'Group URL', mutability: 'readOnly', caseExact: true },
      str('display', 'Group displayName', { mutability: 'readOnly' }),
      str('type', 'direct', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
    ],
  },
  ignored('nickName'),
  ignored('profileUrl', 'reference'),
  ignored('title'),
  ignored('userType'),
  ignored('preferredLanguage'),
  ignored('timezone'),
  ignored('password', 'string', { mutability: 'writeOnly', returned: 'never' }),
  ignoredComplex('ims', ['value', 'display', 'type', 'primary']),
  ignoredComplex('photos', ['value', 'display', 'type', 'primary']),
  ignoredComplex('addresses', ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary']),
  ignoredComplex('entitlements', ['value', 'display', 'type', 'primary']),
  ignoredComplex('roles', ['value', 'display', 'type', 'primary']),
  ignoredComplex('x509Certificates', ['value', 'display', 'type', 'primary']),
]

const GROUP_ATTRIBUTES: AttrDef[] = [
  str('displayName', 'Group name, unique in the directory', { required: true, uniqueness: 'server' }),
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    description: 'Users in the group (nested groups are not supported)',
    subAttributes: [
      str('value', 'User id', { mutability: 'immutable', caseExact: true }),
      { name: '$ref', type: 'reference', referenceTypes: ['User'], description: 'User URL', mutability: 'immutable', caseExact: true },
      str('display', 'Not stored', { mutability: 'readOnly', ignored: true }),
      str('type', 'User', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  },
]

/** Enterprise User attributes (RFC 7643 §4.3), each backed by the custom field of the same key when the directory has one. */
export const ENTERPRISE_KEYS = ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'] as const
export type EnterpriseKey = (typeof ENTERPRISE_KEYS)[number]

const ENTERPRISE_ATTRIBUTES: Record<EnterpriseKey, AttrDef> = {
  employeeNumber: str('employeeNumber', 'Employee number'),
  costCenter: str('costCenter', 'Cost center'),
  organization: str('organization', 'Organization'),
  division: str('division', 'Division'),
  department: str('department', 'Department'),
  manager: {
    name: 'manager',
    type: 'complex',
    description: "The user's manager: its id is stored in the custom field `manager`",
    subAttributes: [
      str('value', 'Manager user id', { caseExact: true }),
      { name: '$ref', type: 'reference', referenceTypes: ['User'], description: 'Manager URL', caseExact: true, ignored: true },
      str('displayName', 'Not stored', { mutability: 'readOnly', ignored: true }),
    ],
  },
}

const SCIM_TYPE: Record<FieldType, AttrType> = {
  string: 'string',
  email: 'string',
  phone: 'string',
  country: 'string',
  enum: 'string',
  date: 'string',
  url: 'reference',
  datetime: 'dateTime',
  number: 'decimal',
  integer: 'integer',
  boolean: 'boolean',
  json: 'complex',
}

/** A custom field as an attribute of the fields extension. */
function customAttribute(f: FieldDefinition): AttrDef {
  return {
    name: f.key,
    type: SCIM_TYPE[f.type],
    description: f.type === 'json' ? `${f.label} (any JSON value; not filterable)` : f.label,
    required: f.required,
    uniqueness: f.unique ? 'server' : 'none',
    ...(f.type === 'url' ? { referenceTypes: ['external'] } : {}),
    ...(f.type === 'enum' && f.enumValues ? { canonicalValues: f.enumValues } : {}),
  }
}

/**
 * Everything the door knows about one directory's resources: the four schemas, and which custom
 * field backs each extension attribute. Built per request from the directory's field
 * definitions (one query the engine would make anyway).
 */
export interface ScimSchemas {
  user: SchemaDef
  group: SchemaDef
  enterprise: SchemaDef
  fields: SchemaDef
  /** Custom field definitions by key. */
  definitions: Map<string, FieldDefinition>
}

export function buildSchemas(definitions: readonly FieldDefinition[]): ScimSchemas {
  const custom = definitions.filter((d) => !d.builtIn)
  const byKey = new Map(custom.map((d) => [d.key, d]))
  const claimed = new Set<string>(ENTERPRISE_KEYS)
  return {
    user: { id: URN.user, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES },
    group: { id: URN.group, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES },
    enterprise: {
      id: URN.enterprise,
      name: 'EnterpriseUser',
      description: 'Enterprise User: each attribute is stored in the custom field of the same key, when the directory defines one',
      attributes: ENTERPRISE_KEYS.map((k) => (byKey.has(k) ? ENTERPRISE_ATTRIBUTES[k] : { ...ENTERPRISE_ATTRIBUTES[k], ignored: true })),
    },
    fields: {
      id: URN.fields,
      name: 'RollcallFields',
      description: "The directory's custom fields",
      attributes: custom.filter((d) => !claimed.has(d.key)).map(customAttribute),
    },
    definitions: byKey,
  }
}

/** An attribute by name, case-insensitively (RFC 7643 §2.1). */
export function findAttr(attrs: readonly AttrDef[] | undefined, name: string): AttrDef | undefined {
  const lower = name.toLowerCase()
  return attrs?.find((a) => a.name.toLowerCase() === lower)
}

/** RFC 7643 §7 representation of a schema, defaults spelled out; ignored attributes left out. */
export function renderSchema(s: SchemaDef, location: string): JsonObject {
  const render = (a: AttrDef): JsonObject => ({
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description,
    required: a.required ?? false,
    ...(a.type === 'string' || a.type === 'reference' ? { caseExact: a.caseExact ?? false } : {}),
    ...(a.canonicalValues ? { canonicalValues: a.canonicalValues } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.subAttributes ? { subAttributes: a.subAttributes.filter((x) => !x.ignored).map(render) } : {}),
  })
  return {
    schemas: [URN.schema],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.filter((a) => !a.ignored).map(render),
    meta: { resourceType: 'Schema', location: `${location}/Schemas/${s.id}` },
  }
}
