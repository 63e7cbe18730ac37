import type { FeedPosition } from './types.js'

/**
 * A change feed position (FeedPosition) as an opaque cursor: base64url of `f:<txid>:<seq>`, so
 * clients cannot come to rely on its form. The feed's cursors and a webhook event's id are it.
 */
export const encodeFeedCursor = (p: FeedPosition): string => Buffer.from(`f:${p.txid}:${p.seq}`).toString('base64url')
