import { RollcallError } from '../core/errors.js'
import type { FeedPosition } from '../core/types.js'

/** Opaque cursors: base64url of the position, so clients cannot come to rely on its form. */
export const encodeCursor = (seq: number | null): string | null => (seq === null ? null : Buffer.from(`s:${seq}`).toString('base64url'))

export { encodeFeedCursor } from '../core/feed-cursor.js'

export function decodeFeedCursor(cursor: string | undefined): FeedPosition | null {
  if (cursor === undefined) return null
  const m = /^f:(\d{1,20}):(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new RollcallError('invalid_cursor', 'The cursor is not one this feed issued; start again without it')
  return { txid: m[1], seq: Number(m[2]) }
}

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const m = /^s:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new RollcallError('invalid_cursor', 'The cursor is not one this server issued; start again without it')
  return Number(m[1])
}
