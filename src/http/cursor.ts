import { RollcallError } from '../core/errors.js'

/** Opaque cursors: base64url of the position, so clients cannot come to rely on its form. */
export const encodeCursor = (seq: number | null): string | null => (seq === null ? null : Buffer.from(`s:${seq}`).toString('base64url'))

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const m = /^s:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!m) throw new RollcallError('invalid_cursor', 'The cursor is not one this server issued; start again without it')
  return Number(m[1])
}
