import type { Migration } from './migration.js'

// Mirror imports (src/jobs/mirror.ts): users of the directory that no row of the input matched
// are deactivated or deleted once the whole input is in.
// - `job_matched`: the users a mirror import's rows matched, written in each batch's own
//   transaction, so the set is exact across a resume and never held in memory. Its primary key
//   answers "was this user matched?" for the absent query's anti-join. Emptied when the job ends.
// - `jobs.absent`: the absent phase's summary (counts, the safeguard's limit, a sample, its phase).
export const m008: Migration = {
  version: 8,
  name: 'mirror',
  sqlite: `
ALTER TABLE jobs ADD COLUMN absent TEXT;
CREATE TABLE job_matched (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  PRIMARY KEY (job_id, user_id)
) WITHOUT ROWID;
`,
  postgres: `
ALTER TABLE jobs ADD COLUMN absent JSON;
CREATE TABLE job_matched (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  PRIMARY KEY (job_id, user_id)
);
`,
}
