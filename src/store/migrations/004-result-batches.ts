import type { Migration } from './migration.js'

// A batch's per-row results as one compact record (src/store/result-batch.ts): a row that needs
// only its status, user id, line and changed fields no longer costs a `job_results` row. Rows with
// errors, warnings, a plan or raw input keep theirs. Jobs made before this migration keep their
// `job_results` rows and read as before. The table is the same on both engines.
const DDL = `
CREATE TABLE job_result_batches (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  first_index INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (job_id, first_index)
);
`

export const m004: Migration = {
  version: 4,
  name: 'result-batches',
  sqlite: DDL,
  postgres: DDL,
}
