import type { Migration } from './migration.js'

// Three fixes from the hardening review:
// - Idempotency records belong to the API key that made the request, not to the tenant: a key
//   limited to one directory must never replay the answer another key obtained. Records made
//   before this migration cannot be attributed to a key, so they are dropped (they only serve
//   retries of requests in flight during the upgrade).
// - A user id is unique across the service, so a client-chosen id (Dynamic's `id`) can never
//   shadow a user of another directory. A database holding the same id in two directories
//   (possible only through client-chosen ids) stops this migration with the duplicate named;
//   delete or re-create one of the two users, then start again.
// - Lists page a directory's users by `seq`: without `(directory_id, seq)` PostgreSQL walked the
//   primary key over every directory's users. (On SQLite `seq` is the rowid, so an index on
//   `directory_id` alone holds it in that order; the column is named for clarity.)
export const m003: Migration = {
  version: 3,
  name: 'hardening',
  sqlite: `
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
  api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER,
  content_type TEXT,
  headers TEXT,
  body TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_tenant ON idempotency_keys(tenant_id);
DROP INDEX users_dir_id;
CREATE UNIQUE INDEX users_id ON users(id);
CREATE INDEX users_dir_seq ON users(directory_id, seq);
`,
  postgres: `
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
  api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL,
  status INTEGER,
  content_type TEXT,
  headers JSON,
  body TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_tenant ON idempotency_keys(tenant_id);
DROP INDEX users_dir_id;
CREATE UNIQUE INDEX users_id ON users(id);
CREATE INDEX users_dir_seq ON users(directory_id, seq);
`,
}
