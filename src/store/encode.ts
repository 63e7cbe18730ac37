import { changeSetText, postgresCodec, sqliteCodec, unchangedIndexed, USER_SET_COLUMNS, userValues, type Codec } from './codec.js'
import type { BatchWrite, EncodedBatch } from './store.js'

/** The codec of an engine. */
const codecFor = (engine: 'sqlite' | 'postgres'): Codec => (engine === 'sqlite' ? sqliteCodec : postgresCodec)

/** A batch's users and history as rows of column values for `engine` (EncodedBatch). */
export function encodeBatch(b: BatchWrite, engine: 'sqlite' | 'postgres'): EncodedBatch {
  const c = codecFor(engine)
  const skips: number[] = []
  return {
    encodedFor: engine,
    directoryId: b.directoryId,
    inserts: b.inserts.map((u) => userValues(u, c)),
    updates: b.updates.map(({ user, expectedVersion, before }) => {
      const row = userValues(user, c, USER_SET_COLUMNS)
      // PostgreSQL finds by itself what an update left alone (and skips those indexes when it can).
      if (engine === 'sqlite') skips.push(before ? unchangedIndexed(row, before, c) : 0)
      row.push(user.id, expectedVersion)
      return row
    }),
    updateSkips: skips,
    deletes: b.deletes ?? [],
    changes: b.changes.map((ch) => [
      ch.userId,
      ch.action,
      ch.at,
      ch.channel,
      ch.keyId,
      ch.requestId,
      ch.jobId,
      changeSetText(ch.action, ch.changes),
    ]),
  }
}

/** A batch encoded for another engine is a bug, not data: refused before anything is written. */
export function assertEncodedFor(b: EncodedBatch, engine: 'sqlite' | 'postgres'): void {
  if (b.encodedFor !== engine) throw new Error(`a batch encoded for ${b.encodedFor} cannot be written to ${engine}`)
}
