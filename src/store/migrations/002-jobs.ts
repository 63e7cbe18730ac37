import type { Migration } from './migration.js'

// Jobs and their input live in the database so that any node can run any job (DESIGN.md, "Jobs").
// The input is kept in chunks of about 1 MiB; results are kept per row.
export const m002: Migration = {
  version: 2,
  name: 'jobs',
  sqlite: `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  format TEXT NOT NULL,
  options TEXT NOT NULL,
  source_job_id TEXT,
  input_bytes INTEGER NOT NULL DEFAULT 0,
  input_chunks INTEGER NOT NULL DEFAULT 0,
  columns TEXT,
  total INTEGER,
  processed INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  checkpoint INTEGER NOT NULL DEFAULT 0,
  revert TEXT,
  error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  key_id TEXT,
  request_id TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX jobs_dir_created ON jobs(directory_id, created_at);
CREATE INDEX jobs_state ON jobs(state, created_at);
CREATE TABLE job_chunks (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (job_id, seq)
);
CREATE TABLE job_results (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  row_index INTEGER NOT NULL,
  line INTEGER,
  status TEXT NOT NULL,
  user_id TEXT,
  changed_fields TEXT,
  errors TEXT,
  warnings TEXT,
  plan TEXT,
  raw TEXT,
  PRIMARY KEY (job_id, row_index)
);
CREATE INDEX job_results_failed ON job_results(job_id, status, row_index);
CREATE TABLE job_conflicts (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  field TEXT NOT NULL,
  expected TEXT,
  actual TEXT,
  PRIMARY KEY (job_id, seq)
);
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX webhooks_dir ON webhooks(directory_id);
`,
  postgres: `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  format TEXT NOT NULL,
  options JSON NOT NULL,
  source_job_id TEXT,
  input_bytes BIGINT NOT NULL DEFAULT 0,
  input_chunks INTEGER NOT NULL DEFAULT 0,
  columns JSON,
  total INTEGER,
  processed INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  checkpoint INTEGER NOT NULL DEFAULT 0,
  revert JSON,
  error TEXT,
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  lease_owner TEXT,
  lease_until TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 0,
  key_id TEXT,
  request_id TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_dir_created ON jobs(directory_id, created_at);
CREATE INDEX jobs_state ON jobs(state, created_at);
CREATE TABLE job_chunks (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (job_id, seq)
);
CREATE TABLE job_results (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  row_index INTEGER NOT NULL,
  line INTEGER,
  status TEXT NOT NULL,
  user_id TEXT,
  changed_fields JSON,
  errors JSON,
  warnings JSON,
  plan JSON,
  raw TEXT,
  PRIMARY KEY (job_id, row_index)
);
CREATE INDEX job_results_failed ON job_results(job_id, status, row_index);
CREATE TABLE job_conflicts (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  field TEXT NOT NULL,
  expected JSON,
  actual JSON,
  PRIMARY KEY (job_id, seq)
);
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_dir ON webhooks(directory_id);
`,
}
