import { type TSchema, Type } from 'typebox'
import { StringEnum } from '../../http/schemas.js'

/**
 * Dynamic's wire shapes, after its generated client `@dynamic-labs/sdk-api` (the reference for
 * names and types; test/doors/dynamic-sdk.test.ts checks these lists against it).
 */

export const CHAINS = [
  'ETH',
  'EVM',
  'FLOW',
  'SOL',
  'ALGO',
  'STARK',
  'COSMOS',
  'BTC',
  'ECLIPSE',
  'SUI',
  'SPARK',
  'TRON',
  'APTOS',
  'TON',
] as const
export const WALLET_PROVIDERS = [
  'browserExtension',
  'custodialService',
  'walletConnect',
  'qrCode',
  'deepLink',
  'embeddedWallet',
  'smartContractWallet',
] as const
export const WALLET_ADDRESS_TYPES = ['ordinals', 'payment', 'cosmos', 'evm'] as const
export const OAUTH_PROVIDERS = [
  'emailOnly',
  'magicLink',
  'apple',
  'bitbucket',
  'coinbasesocial',
  'discord',
  'epicgames',
  'facebook',
  'farcaster',
  'github',
  'gitlab',
  'google',
  'instagram',
  'linkedin',
  'microsoft',
  'twitch',
  'twitter',
  'blocto',
  'banxa',
  'coinbaseOnramp',
  'cryptoDotCom',
  'dynamic',
  'alchemy',
  'zerodev',
  'telegram',
  'turnkey',
  'coinbaseWaas',
  'sms',
  'spotify',
  'tiktok',
  'line',
  'steam',
  'shopify',
  'zksync',
  'kraken',
  'blockaid',
  'passkey',
  'okta',
  'sendgrid',
  'resend',
] as const
/** `UserFilterableFieldsEnum`: the columns `GET …/users?filter[filterColumn]=` names. */
export const FILTER_COLUMNS = [
  'all',
  'id',
  'walletPublicKey',
  'email',
  'alias',
  'firstName',
  'lastName',
  'phoneNumber',
  'jobTitle',
  'wallet',
  'username',
  'accountId',
] as const

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Str = Nullable(Type.String())
const Bool = Nullable(Type.Boolean())
const Timestamp = Type.String({ format: 'date-time' })
const Open = { additionalProperties: true }

/** `CreateWalletRequest`: a wallet as a client submits it. */
export const WalletRequestSchema = Type.Object(
  {
    publicWalletAddress: Type.String({ minLength: 1, maxLength: 255 }),
    chain: StringEnum(CHAINS),
    walletName: Type.String({ minLength: 1, maxLength: 255 }),
    walletProvider: StringEnum(WALLET_PROVIDERS),
    additionalWalletAddresses: Type.Optional(
      Type.Array(
        Type.Object(
          {
            address: Type.String({ minLength: 1, maxLength: 255 }),
            publicKey: Type.Optional(Type.String({ maxLength: 255 })),
            type: StringEnum(WALLET_ADDRESS_TYPES),
          },
          { additionalProperties: false },
        ),
        { maxItems: 20 },
      ),
    ),
  },
  { additionalProperties: false },
)

/** `CreateUserOauthRequest`: a social account as a client submits it. */
export const OauthRequestSchema = Type.Object(
  {
    provider: StringEnum(OAUTH_PROVIDERS),
    accountId: Type.String({ minLength: 1, maxLength: 255 }),
    emails: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 20 })),
    displayName: Type.Optional(Type.String({ maxLength: 255 })),
    username: Type.Optional(Type.String({ maxLength: 255 })),
    photos: Type.Optional(Type.Array(Type.String({ maxLength: 2048 }), { maxItems: 20 })),
    profile: Type.Optional(Type.Object({}, Open)),
  },
  { additionalProperties: false },
)

/**
 * The rules of `InternalUserFields` that the directory's field definitions do not already hold:
 * email's 255 characters (Rollcall allows 320), phoneNumber's 255 (any string, kept verbatim when
 * it is not in Rollcall's phone form), the username alphabet, and the shape of wallets
 * and OAuth accounts (stored in json fields). Types, other lengths, the country code and the
 * enum are the core's definitions' job, so each problem is reported once. Keywords without a
 * `type` apply only to values of their type: a number for `email` is the core's to report.
 */
export const ITEM_RULES = {
  type: 'object',
  properties: {
    email: { maxLength: 255 },
    // Free-form, as Dynamic documents it; the core's phone rule does not apply (../phone.ts).
    phoneNumber: { maxLength: 255 },
    username: { pattern: '^[A-Za-z0-9_-]+$' },
    wallets: { type: ['array', 'null'], maxItems: 50, items: WalletRequestSchema },
    oauthAccounts: { type: ['array', 'null'], maxItems: 50, items: OauthRequestSchema },
  },
} as const

export const USERNAME_RULE = 'must hold only letters, digits, - and _'

const Credential = Type.Object(
  {
    id: Type.String(),
    format: StringEnum(['blockchain', 'email', 'oauth'] as const),
    signInEnabled: Type.Boolean(),
    email: Type.Optional(Type.String()),
    verifiedAt: Type.Optional(Timestamp),
    address: Type.Optional(Type.String()),
    publicIdentifier: Type.Optional(Type.String()),
    chain: Type.Optional(Type.String()),
    walletName: Type.Optional(Type.String()),
    walletProvider: Type.Optional(Type.String()),
    walletAdditionalAddresses: Type.Optional(Type.Array(Type.Object({}, Open))),
    oauthProvider: Type.Optional(Type.String()),
    oauthAccountId: Type.Optional(Type.String()),
    oauthUsername: Type.Optional(Type.String()),
    oauthDisplayName: Type.Optional(Str),
    oauthEmails: Type.Optional(Type.Array(Type.String())),
    oauthAccountPhotos: Type.Optional(Type.Array(Type.String())),
    oauthMetadata: Type.Optional(Type.Object({}, Open)),
  },
  { additionalProperties: false },
)

/** `User`, as the door renders one: every `InternalUserFields` field plus the derived lists. */
export const DynamicUserSchema = Type.Object(
  {
    id: Type.String(),
    projectEnvironmentId: Type.String(),
    verifiedCredentials: Type.Array(Credential),
    alias: Str,
    country: Str,
    email: Str,
    firstName: Str,
    jobTitle: Str,
    lastName: Str,
    phoneNumber: Str,
    policiesConsent: Bool,
    tShirtSize: Str,
    team: Str,
    username: Str,
    lastVisit: Type.Optional(Timestamp),
    metadata: Type.Object({}, Open),
    mfaBackupCodeAcknowledgement: Nullable(StringEnum(['pending', 'complete'] as const)),
    btcWallet: Str,
    kdaWallet: Str,
    ltcWallet: Str,
    ckbWallet: Str,
    kasWallet: Str,
    dogeWallet: Str,
    emailNotification: Bool,
    discordNotification: Bool,
    newsletterNotification: Bool,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    wallets: Type.Array(
      Type.Object(
        { id: Type.String(), name: Type.String(), chain: Type.String(), publicKey: Type.String(), provider: Type.String() },
        { additionalProperties: false },
      ),
    ),
    oauthAccounts: Type.Array(
      Type.Object(
        { id: Type.String(), provider: Type.String(), accountUsername: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const ErrorSchema = Type.Object(
  { error: Type.String(), code: Type.Optional(Type.String()), payload: Type.Optional(Type.Object({}, Open)) },
  { additionalProperties: false },
)

export const UserEnvelopeSchema = Type.Object({ user: DynamicUserSchema })

export const BulkResponseSchema = Type.Object({
  created: Type.Array(DynamicUserSchema),
  updated: Type.Array(DynamicUserSchema),
  // `user` echoes the submitted item, whatever it held: serialised as given, not by a schema.
  failed: Type.Array(Type.Object({ user: Type.Unknown(), error: Type.String(), code: Type.String() })),
  total: Type.Integer(),
})

export const UsersResponseSchema = Type.Object({ count: Type.Integer(), users: Type.Array(DynamicUserSchema) })

export const EnvParams = Type.Object({
  environmentId: Type.String({ minLength: 36, maxLength: 36, description: 'The directory id (a UUID)' }),
})
export const EnvUserParams = Type.Object({ environmentId: EnvParams.properties.environmentId, userId: Type.String() })
export const UserParams = Type.Object({ userId: Type.String() })
