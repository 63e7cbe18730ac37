import type { Migration } from './migration.js'

// Lifecycle: `active` becomes a built-in user field (core/user-fields.ts), true unless a user is
// deactivated. Until now the SCIM door kept it as a boolean custom field of the same name, which
// it created in a directory on first use. Per directory holding such a field:
// - each user's `fields.active` moves into the column (false only where it was false; a user
//   without it was active, as SCIM read it), and leaves `fields`, whose other keys keep their order;
// - history keeps every record, with `fields.active` renamed `active` where it stands, so a
//   user's history and the revert of an older import read the field under its one name;
// - the custom definition goes: the built-in takes its place.
// A custom field `active` of another type (a directory that never spoke SCIM) is left as it was:
// JSON rows still reach it as `fields.active`; a CSV column `active` now maps to the built-in.
// The partial index finds a directory's deactivated users (a mirror run's absent users, the
// console's filter) without reading the active ones, which are nearly all.
const SCIM_DIRS = `SELECT directory_id FROM field_definitions WHERE key = 'active' AND type = 'boolean' AND NOT built_in`

export const m006: Migration = {
  version: 6,
  name: 'active',
  sqlite: `
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
UPDATE changes SET changes = (
    SELECT json_group_object(CASE WHEN key = 'fields.active' THEN 'active' ELSE key END, value) FROM json_each(changes.changes))
  WHERE directory_id IN (${SCIM_DIRS}) AND json_type(changes, '$."fields.active"') IS NOT NULL;
UPDATE users SET active = CASE WHEN json_type(fields, '$.active') = 'false' THEN 0 ELSE 1 END, fields = json_remove(fields, '$.active')
  WHERE directory_id IN (${SCIM_DIRS}) AND json_type(fields, '$.active') IS NOT NULL;
DELETE FROM field_definitions WHERE key = 'active' AND type = 'boolean' AND NOT built_in;
CREATE INDEX users_inactive ON users(directory_id, seq) WHERE NOT active;
`,
  postgres: `
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT true;
UPDATE changes SET changes = (
    SELECT json_object_agg(CASE WHEN k = 'fields.active' THEN 'active' ELSE k END, v ORDER BY n)
    FROM json_each(changes.changes) WITH ORDINALITY AS e(k, v, n))
  WHERE directory_id IN (${SCIM_DIRS}) AND json_extract_path(changes, 'fields.active') IS NOT NULL;
UPDATE users SET active = json_typeof(fields -> 'active') IS DISTINCT FROM 'boolean' OR (fields ->> 'active') <> 'false',
    fields = (SELECT COALESCE(json_object_agg(k, v ORDER BY n), '{}'::json) FROM json_each(users.fields) WITH ORDINALITY AS e(k, v, n) WHERE k <> 'active')
  WHERE directory_id IN (${SCIM_DIRS}) AND json_extract_path(fields, 'active') IS NOT NULL;
DELETE FROM field_definitions WHERE key = 'active' AND type = 'boolean' AND NOT built_in;
CREATE INDEX users_inactive ON users(directory_id, seq) WHERE NOT active;
`,
}
