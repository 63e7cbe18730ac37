import type { Generated } from 'kysely'

/**
 * Table shapes as Kysely sees them. Columns whose representation differs by engine
 * (booleans: 0/1 vs true/false; JSON: text vs parsed; timestamps: text vs timestamptz) are
 * `unknown` here and go through the dialect's codec (see codec.ts).
 */
export interface TenantsTable {
  id: string
  name: string
  created_at: unknown
}

export interface ApiKeysTable {
  id: string
  tenant_id: string
  name: string
  hash: string
  scopes: unknown
  directories: unknown
  created_at: unknown
  last_used_at: unknown
  revoked_at: unknown
}

export interface DirectoriesTable {
  id: string
  tenant_id: string
  number: Generated<number | string>
  external_id: string | null
  name: string
  created_at: unknown
  updated_at: unknown
}

export interface FieldDefinitionsTable {
  directory_id: string
  key: string
  label: string
  type: string
  required: unknown
  is_unique: unknown
  max_length: number | null
  pattern: string | null
  enum_values: unknown
  built_in: unknown
  created_at: unknown
  updated_at: unknown
}

export interface UsersTable {
  seq: Generated<number | string>
  id: string
  directory_id: string
  external_id: string | null
  email: string | null
  email_norm: string | null
  email_verified_at: unknown
  phone: string | null
  username: string | null
  username_norm: string | null
  first_name: string | null
  last_name: string | null
  display_name: string | null
  avatar_url: string | null
  country: string | null
  locale: string | null
  created_at: unknown
  updated_at: unknown
  last_login_at: unknown
  login_count: number
  version: number
  metadata: unknown
  fields: unknown
}

export interface GroupsTable {
  id: string
  directory_id: string
  name: string
  kind: string
  external_id: string | null
  created_at: unknown
  updated_at: unknown
}

export interface GroupMembersTable {
  group_id: string
  user_id: string
}

export interface ChangesTable {
  seq: Generated<number | string>
  directory_id: string
  user_id: string
  action: string
  at: unknown
  channel: string
  key_id: string | null
  request_id: string | null
  job_id: string | null
  changes: unknown
}

export interface IdempotencyKeysTable {
  api_key_id: string
  key: string
  tenant_id: string
  fingerprint: string
  state: string
  status: number | null
  content_type: string | null
  headers: unknown
  body: string | null
  created_at: unknown
}

export interface SchemaMigrationsTable {
  version: number
  name: string
  applied_at: unknown
}

export interface JobsTable {
  id: string
  tenant_id: string
  directory_id: string
  kind: string
  state: string
  format: string
  options: unknown
  source_job_id: string | null
  key_id: string | null
  request_id: string | null
  created_at: unknown
  updated_at: unknown
}

export interface JobResultsTable {
  job_id: string
  row_index: number
  line: number | null
  status: string
  user_id: string | null
  changed_fields: unknown
  errors: unknown
  warnings: unknown
  plan: unknown
  raw: string | null
}

export interface DB {
  jobs: JobsTable
  job_results: JobResultsTable
  tenants: TenantsTable
  api_keys: ApiKeysTable
  directories: DirectoriesTable
  field_definitions: FieldDefinitionsTable
  users: UsersTable
  groups: GroupsTable
  group_members: GroupMembersTable
  changes: ChangesTable
  idempotency_keys: IdempotencyKeysTable
  schema_migrations: SchemaMigrationsTable
}
