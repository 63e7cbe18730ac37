import type { FieldInput } from '../../engine/directory-service.js'
import { PHONE_TEXT_KEY } from '../phone.js'

/**
 * Where each field of Dynamic's `InternalUserFields` lives in a Rollcall user.
 *
 * Fields Rollcall's user has are mapped onto the built-ins, so the same value is seen by every
 * door (One of None's `phone`, Returning.AI's `displayname`, the native API). The rest become
 * custom fields of the directory, defined through the directory service the first time the door
 * writes: typed and validated by the core like any other field, listed in the directory's schema,
 * filterable, and recorded in history as `fields.<key>`. They are not put in `metadata` because
 * Dynamic has a `metadata` object of its own that maps one to one onto Rollcall's: vendor fields
 * there would collide with the client's keys and leak back into Dynamic's `metadata`.
 */

/** Dynamic name → built-in Rollcall field. */
export const DYNAMIC_BUILT_INS = {
  id: 'id',
  email: 'email',
  emailVerifiedAt: 'emailVerifiedAt',
  username: 'username',
  firstName: 'firstName',
  lastName: 'lastName',
  alias: 'displayName',
  phoneNumber: 'phone',
  country: 'country',
  metadata: 'metadata',
} as const

const text = (key: string, label: string, maxLength: number | null = 255): FieldInput => ({ key, label, type: 'string', maxLength })
const flag = (key: string, label: string): FieldInput => ({ key, label, type: 'boolean' })

/** Dynamic fields Rollcall's user lacks: custom fields of the same key (listed in the vendor's order). */
export const DYNAMIC_CUSTOM_FIELDS: readonly FieldInput[] = [
  text('jobTitle', 'Job title'),
  { key: 'mfaBackupCodeAcknowledgement', label: 'MFA backup code acknowledgement', type: 'enum', enumValues: ['pending', 'complete'] },
  text('tShirtSize', 'T-shirt size'),
  text('team', 'Team'),
  flag('policiesConsent', 'Policies consent'),
  // Wallet addresses: the vendor documents no length limit, so none is imposed.
  text('btcWallet', 'BTC wallet address', null),
  text('kdaWallet', 'KDA wallet address', null),
  text('ltcWallet', 'LTC wallet address', null),
  text('ckbWallet', 'CKB wallet address', null),
  text('kasWallet', 'KAS wallet address', null),
  text('dogeWallet', 'DOGE wallet address', null),
  flag('emailNotification', 'Email notifications'),
  flag('discordNotification', 'Discord notifications'),
  flag('newsletterNotification', 'Newsletter'),
  // Arrays of objects: stored as submitted (the door checks their shape), rendered as the
  // vendor's `wallets`, `oauthAccounts` and `verifiedCredentials`.
  { key: 'wallets', label: 'Wallets', type: 'json' },
  { key: 'oauthAccounts', label: 'OAuth accounts', type: 'json' },
]

export const CUSTOM_KEYS: ReadonlySet<string> = new Set(DYNAMIC_CUSTOM_FIELDS.map((f) => f.key))

/** Every Dynamic field the door accepts in a user object. */
export const DYNAMIC_FIELDS: ReadonlySet<string> = new Set([...Object.keys(DYNAMIC_BUILT_INS), ...CUSTOM_KEYS])

/** A canonical field path (`phone`, `fields.jobTitle`, `metadata.tier`) → the Dynamic name a client knows. */
export function dynamicPath(path: string): string {
  // A free-form phoneNumber is kept in fields.phoneText (../phone.ts).
  if (path === `fields.${PHONE_TEXT_KEY}`) return 'phoneNumber'
  if (path.startsWith('fields.')) return path.slice('fields.'.length)
  for (const [dyn, canonical] of Object.entries(DYNAMIC_BUILT_INS)) {
    if (path === canonical) return dyn
    if (path.startsWith(`${canonical}.`)) return dyn + path.slice(canonical.length)
  }
  return path
}
