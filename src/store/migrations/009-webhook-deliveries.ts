import type { Migration } from './migration.js'

// Durable webhook deliveries (src/jobs/webhook-dispatcher.ts).
// - A webhook subscribes to event types (`events`: null for those made before, which hear the
//   import.* events only) and keeps its delivery state here: where it is in the change feed
//   (`feed_txid`, `feed_seq`: user.* events are read from history, which is their outbox), which
//   import event it got last (`import_seq`), its failures, the next attempt, and a lease so that
//   one process at a time delivers to it, in order.
// - `webhook_events`: the import.* events (a job ending, or waiting for a confirmation), written
//   when they happen and delivered from there, so a restart loses none.
// - `webhook_dead_letters`: deliveries given up after every attempt, with their body, for an
//   admin to read and replay.
const common = (id: string, time: string, json: string) => `
ALTER TABLE webhooks ADD COLUMN events ${json};
ALTER TABLE webhooks ADD COLUMN batch_size INTEGER NOT NULL DEFAULT 100;
ALTER TABLE webhooks ADD COLUMN feed_txid TEXT;
ALTER TABLE webhooks ADD COLUMN feed_seq BIGINT;
ALTER TABLE webhooks ADD COLUMN import_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failing_since ${time};
ALTER TABLE webhooks ADD COLUMN next_attempt_at ${time};
ALTER TABLE webhooks ADD COLUMN last_error TEXT;
ALTER TABLE webhooks ADD COLUMN last_delivered_at ${time};
ALTER TABLE webhooks ADD COLUMN lease_owner TEXT;
ALTER TABLE webhooks ADD COLUMN lease_until ${time};
CREATE TABLE webhook_events (
  seq ${id},
  id TEXT NOT NULL,
  directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  payload ${json} NOT NULL,
  created_at ${time} NOT NULL
);
CREATE INDEX webhook_events_dir ON webhook_events(directory_id, seq);
CREATE TABLE webhook_dead_letters (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  events INTEGER NOT NULL,
  body TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at ${time} NOT NULL,
  replayed_at ${time}
);
CREATE INDEX webhook_dead_letters_hook ON webhook_dead_letters(webhook_id, created_at);
`

export const m009: Migration = {
  version: 9,
  name: 'webhook-deliveries',
  sqlite: common('INTEGER PRIMARY KEY AUTOINCREMENT', 'TEXT', 'TEXT'),
  postgres: common('BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', 'TIMESTAMPTZ', 'JSON'),
}
