/**
 * The one message every vendor door gives, in its own envelope, for a request with more users
 * than the native sync limit (`ROLLCALL_BULK_MAX_ROWS`): how many it sent, how many fit, and
 * where a larger input goes instead.
 *
 * `directory` is how the native API can name the directory (its id, or its externalId).
 */
export function tooManyUsers(o: { max: number; got: number; directory: string; what?: string }): string {
  const what = o.what ? ` (${o.what})` : ''
  return `At most ${o.max} users per request${what}, got ${o.got}; send larger inputs to the native imports: POST /api/v1/directories/${encodeURIComponent(o.directory)}/imports`
}
