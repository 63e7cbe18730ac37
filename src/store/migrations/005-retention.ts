import type { Migration } from './migration.js'

// Retention (src/jobs/retention.ts): what a job leaves behind is deleted once it is no longer
// needed, and the job says so, so that a download answers "expired" rather than an empty file.
// - `input_purged_at`: the uploaded input was deleted (a job in an end state never reads it again:
//   failed.csv reads the failed rows' own cells from their results, apply reads the plan).
// - `results_purged_at`: the per-row results, plans and revert conflicts were deleted (the counts,
//   the state and the history links stay). A job that ends again later (a revert) is swept again.
// - `idempotency_keys(created_at)`: expired records are found by age, a page at a time.
// - `directories.history_retention_days`: history older than this is deleted (null: kept forever).
// - `job_result_batches.data` holds deflated JSON (src/store/result-batch.ts): BYTEA on PostgreSQL
//   (the text of older records converted to its bytes); SQLite keeps a BLOB as it is in any column.
const common = `
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
ALTER TABLE directories ADD COLUMN history_retention_days INTEGER;
`

export const m005: Migration = {
  version: 5,
  name: 'retention',
  sqlite: `
ALTER TABLE jobs ADD COLUMN input_purged_at TEXT;
ALTER TABLE jobs ADD COLUMN results_purged_at TEXT;
${common}`,
  postgres: `
ALTER TABLE jobs ADD COLUMN input_purged_at TIMESTAMPTZ;
ALTER TABLE jobs ADD COLUMN results_purged_at TIMESTAMPTZ;
ALTER TABLE job_result_batches ALTER COLUMN data TYPE BYTEA USING convert_to(data, 'UTF8');
${common}`,
}
