import type { Migration } from './migration.js'

// The change feed (GET …/changes, repos/history.ts `feed`): every change record of a directory,
// once, in an order a consumer can resume from.
// - SQLite has one writer at a time: records commit in `seq` order, which is the feed's order.
// - PostgreSQL numbers records when they are inserted, not when they commit: a transaction can
//   commit record 101 while record 100 is still uncommitted, and a consumer past 101 would never
//   see 100. So each record keeps the id of the transaction that wrote it (`txid`), the feed
//   runs in (txid, seq) order and hands out only records of transactions older than every one
//   still running (`pg_snapshot_xmin`): no record can appear later before a cursor it gave.
//   Records written before this migration read txid 0 (a constant default: no table rewrite);
//   new ones get their transaction's id. The index serves the feed's range scan per directory.
export const m007: Migration = {
  version: 7,
  name: 'change-feed',
  sqlite: `
-- One writer at a time: records commit in seq order, the feed's order. Nothing to add.
`,
  postgres: `
ALTER TABLE changes ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
ALTER TABLE changes ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX changes_feed ON changes(directory_id, txid, seq);
`,
}
