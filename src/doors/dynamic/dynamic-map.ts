import { createHash } from 'node:crypto'
import { Ajv } from 'ajv'
import { COUNTRY_CODES } from '../../core/countries.js'
import type { FieldError } from '../../core/errors.js'
import { isPlainObject } from '../../core/merge.js'
import { toFieldError } from '../../core/schema.js'
import type { Json, JsonObject, UserRecord } from '../../core/types.js'
import type { BulkRow } from '../../engine/types.js'
import { PHONE_TEXT_KEY, phoneRead, phoneWrite } from '../phone.js'
import { CUSTOM_KEYS, DYNAMIC_BUILT_INS, DYNAMIC_FIELDS } from './dynamic-fields.js'
import { ITEM_RULES, USERNAME_RULE } from './dynamic-schemas.js'

// verbose: errors carry the offending value, which the core's messages quote (`got "DOGE"`).
const checkRules = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(ITEM_RULES)

const COUNTRIES: ReadonlySet<string> = new Set(COUNTRY_CODES)

/**
 * One Dynamic `InternalUserFields` object → one engine row. Built-in fields go to the canonical
 * names, the rest to `fields`; unknown properties and the door's own rules become the row's
 * errors. A property that broke a door rule is left out of the data, so the core does not report
 * it a second time.
 *
 * Two fields are translated on the way: `phoneNumber` is free-form (any string of at most 255),
 * so it goes to `phone` when it is in the native form and verbatim to `fields.phoneText` when it
 * is not (../phone.ts); `country` is a code in any case, stored upper-case (`us` → `US`). A value
 * that is not a code in any case is passed on as sent, so the core's error quotes it.
 */
export function toRow(item: unknown): BulkRow {
  if (!isPlainObject(item)) return { data: item }
  const errors: FieldError[] = []
  if (!checkRules(item))
    for (const e of checkRules.errors ?? []) {
      const fe = toFieldError(e)
      errors.push(e.keyword === 'pattern' && fe.field === 'username' ? { ...fe, message: USERNAME_RULE } : fe)
    }
  const flagged = new Set(errors.map((e) => e.field.split('.')[0]))
  const data: Record<string, Json> = {}
  const fields: JsonObject = {}
  for (const [key, value] of Object.entries(item)) {
    if (!DYNAMIC_FIELDS.has(key)) errors.push({ field: key, code: 'unknown_field', message: `unknown field '${key}'` })
    else if (flagged.has(key)) continue
    else if (CUSTOM_KEYS.has(key)) fields[key] = value
    else if (key === 'phoneNumber' && (typeof value === 'string' || value === null)) {
      const { phone, phoneText } = phoneWrite(value)
      data.phone = phone
      fields[PHONE_TEXT_KEY] = phoneText
    } else if (key === 'country' && typeof value === 'string' && COUNTRIES.has(value.toUpperCase())) data.country = value.toUpperCase()
    else data[DYNAMIC_BUILT_INS[key as keyof typeof DYNAMIC_BUILT_INS]] = value
  }
  if (Object.keys(fields).length) data.fields = fields
  return errors.length ? { data, errors } : { data }
}

/** A UUID-shaped id that is the same every time for the same parts (credentials, wallets). */
export function stableId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

interface WalletIn {
  publicWalletAddress: string
  chain: string
  walletName: string
  walletProvider: string
  additionalWalletAddresses?: JsonObject[]
}
interface OauthIn {
  provider: string
  accountId: string
  emails?: string[]
  displayName?: string
  username?: string
  photos?: string[]
  profile?: JsonObject
}

const list = <T>(v: Json | undefined): T[] => (Array.isArray(v) ? (v as unknown as T[]) : [])
const str = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null)
const bool = (v: Json | undefined): boolean | null => (typeof v === 'boolean' ? v : null)

/** A stored user in Dynamic's `User` shape. */
export function renderUser(u: UserRecord, environmentId: string) {
  const f = u.fields
  const wallets = list<WalletIn>(f.wallets)
  const oauth = list<OauthIn>(f.oauthAccounts)
  const walletId = (w: WalletIn) => stableId(u.id, 'wallet', w.chain, w.publicWalletAddress)
  const oauthId = (o: OauthIn) => stableId(u.id, 'oauth', o.provider, o.accountId)
  return {
    id: u.id,
    projectEnvironmentId: environmentId,
    verifiedCredentials: [
      ...(u.email === null
        ? []
        : [
            {
              id: stableId(u.id, 'email'),
              format: 'email' as const,
              email: u.email,
              signInEnabled: true,
              ...(u.emailVerifiedAt ? { verifiedAt: u.emailVerifiedAt } : {}),
            },
          ]),
      ...wallets.map((w) => ({
        id: walletId(w),
        format: 'blockchain' as const,
        address: w.publicWalletAddress,
        publicIdentifier: w.publicWalletAddress,
        chain: w.chain,
        walletName: w.walletName,
        walletProvider: w.walletProvider,
        walletAdditionalAddresses: w.additionalWalletAddresses ?? [],
        signInEnabled: true,
      })),
      ...oauth.map((o) => ({
        id: oauthId(o),
        format: 'oauth' as const,
        oauthProvider: o.provider,
        oauthAccountId: o.accountId,
        ...(o.username === undefined ? {} : { oauthUsername: o.username, publicIdentifier: o.username }),
        oauthDisplayName: o.displayName ?? null,
        oauthEmails: o.emails ?? [],
        oauthAccountPhotos: o.photos ?? [],
        oauthMetadata: o.profile ?? {},
        signInEnabled: true,
      })),
    ],
    alias: u.displayName,
    country: u.country,
    email: u.email,
    firstName: u.firstName,
    jobTitle: str(f.jobTitle),
    lastName: u.lastName,
    phoneNumber: phoneRead(u),
    policiesConsent: bool(f.policiesConsent),
    tShirtSize: str(f.tShirtSize),
    team: str(f.team),
    username: u.username,
    ...(u.lastLoginAt ? { lastVisit: u.lastLoginAt } : {}),
    metadata: u.metadata,
    mfaBackupCodeAcknowledgement: str(f.mfaBackupCodeAcknowledgement) as 'pending' | 'complete' | null,
    btcWallet: str(f.btcWallet),
    kdaWallet: str(f.kdaWallet),
    ltcWallet: str(f.ltcWallet),
    ckbWallet: str(f.ckbWallet),
    kasWallet: str(f.kasWallet),
    dogeWallet: str(f.dogeWallet),
    emailNotification: bool(f.emailNotification),
    discordNotification: bool(f.discordNotification),
    newsletterNotification: bool(f.newsletterNotification),
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    wallets: wallets.map((w) => ({
      id: walletId(w),
      name: w.walletName,
      chain: w.chain,
      publicKey: w.publicWalletAddress,
      provider: w.walletProvider,
    })),
    oauthAccounts: oauth.map((o) => ({
      id: oauthId(o),
      provider: o.provider,
      ...(o.username === undefined ? {} : { accountUsername: o.username }),
    })),
  }
}

export type DynamicUser = ReturnType<typeof renderUser>

/** A submitted item that failed, echoed as a `User` of the environment (it has no stored id). */
export function renderSubmitted(item: unknown, environmentId: string): unknown {
  return isPlainObject(item) ? { ...item, projectEnvironmentId: environmentId } : item
}
