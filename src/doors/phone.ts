import { PHONE_PATTERN } from '../core/fields.js'
import type { UserRecord } from '../core/types.js'
import type { FieldInput } from '../engine/directory-service.js'

/**
 * Vendor phones (docs/doors/README.md, "Phones"). One of None's `phone` and Dynamic's
 * `phoneNumber` are free-form strings; Rollcall's built-in `phone` keeps a validated form
 * (PHONE_PATTERN). A door therefore writes a value sent to it as follows:
 *
 * - a value in the native form goes to `phone` (and clears `fields.phoneText`);
 * - any other non-empty string goes, verbatim, to the custom field `phoneText` (and clears `phone`);
 * - `""` or `null` clears both.
 *
 * Every door that shows a phone reads `phone`, else `fields.phoneText`: the client gets back
 * exactly what it sent, and the native API never sees an invalid value in `phone`.
 */

/** The custom field a free-form phone is kept in; defined on the directory the first time a door writes a phone. */
export const PHONE_TEXT_KEY = 'phoneText'
export const PHONE_TEXT_FIELD: FieldInput = {
  key: PHONE_TEXT_KEY,
  label: 'Phone (free-form, as sent to a vendor door)',
  type: 'string',
  maxLength: null,
}

const NATIVE = new RegExp(PHONE_PATTERN, 'u')

/** Where a door's phone value goes: the two values to write (null clears). */
export function phoneWrite(value: string | null): { phone: string | null; phoneText: string | null } {
  if (value === null || value === '') return { phone: null, phoneText: null }
  return NATIVE.test(value) ? { phone: value, phoneText: null } : { phone: null, phoneText: value }
}

/** The phone a door shows: the validated one, else the free-form one, else null. */
export function phoneRead(u: UserRecord): string | null {
  if (u.phone !== null) return u.phone
  const text = u.fields[PHONE_TEXT_KEY]
  return typeof text === 'string' ? text : null
}
