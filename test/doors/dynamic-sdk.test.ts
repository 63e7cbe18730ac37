import { UsersApi } from '@dynamic-labs/sdk-api/apis/UsersApi'
import type { BulkUserCreateResponse } from '@dynamic-labs/sdk-api/models/BulkUserCreateResponse'
import type { BulkUserCreateResponseFailed } from '@dynamic-labs/sdk-api/models/BulkUserCreateResponseFailed'
import { ChainEnum } from '@dynamic-labs/sdk-api/models/ChainEnum'
import type { CreateUserOauthRequest } from '@dynamic-labs/sdk-api/models/CreateUserOauthRequest'
import type { CreateWalletRequest } from '@dynamic-labs/sdk-api/models/CreateWalletRequest'
import type { InternalUserFields } from '@dynamic-labs/sdk-api/models/InternalUserFields'
import type { JwtVerifiedCredential } from '@dynamic-labs/sdk-api/models/JwtVerifiedCredential'
import { MfaBackupCodeAcknowledgement } from '@dynamic-labs/sdk-api/models/MfaBackupCodeAcknowledgement'
import type { OAuthAccount } from '@dynamic-labs/sdk-api/models/OAuthAccount'
import { ProviderEnum } from '@dynamic-labs/sdk-api/models/ProviderEnum'
import type { User } from '@dynamic-labs/sdk-api/models/User'
import { UserFilterableFieldsEnum } from '@dynamic-labs/sdk-api/models/UserFilterableFieldsEnum'
import type { UserResponse } from '@dynamic-labs/sdk-api/models/UserResponse'
import type { UsersResponse } from '@dynamic-labs/sdk-api/models/UsersResponse'
import type { Wallet } from '@dynamic-labs/sdk-api/models/Wallet'
import { WalletAddressType } from '@dynamic-labs/sdk-api/models/WalletAddressType'
import { WalletProviderEnum } from '@dynamic-labs/sdk-api/models/WalletProviderEnum'
import { expect, it } from 'vitest'
import { CHAINS, FILTER_COLUMNS, OAUTH_PROVIDERS, WALLET_ADDRESS_TYPES, WALLET_PROVIDERS } from '../../src/doors/dynamic/dynamic-schemas.js'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'
import { serveApp } from '../helpers/listen.js'

/**
 * The vendor's generated client, `@dynamic-labs/sdk-api`, against the Dynamic door over real HTTP,
 * with only its base path changed: its requests must be accepted and its typed models must parse
 * the door's answers (dates as Date objects, enums as the vendor's enums).
 *
 * Types come from the client's per-model entry points: its root index.d.ts re-exports without file
 * extensions, which TypeScript's NodeNext resolution cannot follow, and the nested types of a model
 * are lost the same way, so each level checked is annotated with its own model.
 */

/** The client's `Configuration` class, which only its root entry point exports (typed here by hand for that reason). */
async function configuration(basePath: string, accessToken: string): Promise<unknown> {
  const root = (await import('@dynamic-labs/sdk-api')) as unknown as {
    Configuration: new (p: { basePath: string; accessToken: string }) => unknown
  }
  return new root.Configuration({ basePath, accessToken })
}

it("the door's enums are the reference client's", () => {
  expect([...CHAINS]).toEqual(Object.values(ChainEnum))
  expect([...WALLET_PROVIDERS]).toEqual(Object.values(WalletProviderEnum))
  expect([...WALLET_ADDRESS_TYPES]).toEqual(Object.values(WalletAddressType))
  expect([...OAUTH_PROVIDERS]).toEqual(Object.values(ProviderEnum))
  expect([...FILTER_COLUMNS]).toEqual(Object.values(UserFilterableFieldsEnum))
})

describeEachEngine('Dynamic door with @dynamic-labs/sdk-api', (engine) => {
  const h = useApp(engine)

  it('UsersApi.bulkCreateUser, getUser and getEnvironmentUsers work with only the base path changed', async () => {
    const { app } = h.app()
    const port = await serveApp(app)
    try {
      const c = await h.client()
      const environmentId = (await makeDirectory(c, { name: 'SDK' })).id
      // Its base class is lost to the same resolution problem, and with it the constructor's parameter.
      const Api = UsersApi as unknown as new (configuration: unknown) => UsersApi
      const api = new Api(await configuration(`http://127.0.0.1:${port}/dynamic/api/v0`, c.key))
      const wallet: CreateWalletRequest = {
        publicWalletAddress: '0xAbC0000000000000000000000000000000000001',
        chain: ChainEnum.Eth,
        walletName: 'metamask',
        walletProvider: WalletProviderEnum.BrowserExtension,
      }
      const github: CreateUserOauthRequest = { provider: ProviderEnum.Github, accountId: '42', username: 'grace-gh' }

      const users: InternalUserFields[] = [
        {
          email: 'grace@example.com',
          emailVerifiedAt: new Date('2024-03-01T09:30:00.000Z'),
          firstName: 'Grace',
          lastName: 'Hopper',
          alias: 'amazing-grace',
          username: 'grace_h',
          country: 'US',
          jobTitle: 'Rear Admiral',
          mfaBackupCodeAcknowledgement: MfaBackupCodeAcknowledgement.Complete,
          policiesConsent: true,
          metadata: { cobol: true },
          wallets: [wallet],
          oauthAccounts: [github],
        },
        { email: 'alan@example.com', firstName: 'Alan' },
        { email: 'grace@example.com' },
      ]
      const bulk: BulkUserCreateResponse = await api.bulkCreateUser({ environmentId, internalUserFields: users, upsert: false })
      expect(bulk.total).toBe(3)
      const created: User[] = bulk.created ?? []
      expect(created.map((u) => u.email)).toEqual(['grace@example.com', 'alan@example.com'])
      expect(bulk.updated).toEqual([])
      const failed: BulkUserCreateResponseFailed[] = bulk.failed ?? []
      expect(failed).toEqual([
        {
          user: expect.objectContaining({ email: 'grace@example.com', projectEnvironmentId: environmentId }),
          error: 'Email already exists',
          code: 'email_already_exists',
        },
      ])
      const grace = created[0]
      expect(grace.createdAt).toBeInstanceOf(Date)
      expect(grace).toMatchObject({
        projectEnvironmentId: environmentId,
        firstName: 'Grace',
        alias: 'amazing-grace',
        username: 'grace_h',
        country: 'US',
        jobTitle: 'Rear Admiral',
        mfaBackupCodeAcknowledgement: MfaBackupCodeAcknowledgement.Complete,
        policiesConsent: true,
        metadata: { cobol: true },
      })
      expect(grace.updatedAt).toBeInstanceOf(Date)
      const wallets: Wallet[] = grace.wallets ?? []
      expect(wallets[0]).toMatchObject({
        chain: ChainEnum.Eth,
        publicKey: wallet.publicWalletAddress,
        provider: WalletProviderEnum.BrowserExtension,
        name: 'metamask',
      })
      const oauth: OAuthAccount[] = grace.oauthAccounts ?? []
      expect(oauth[0]).toMatchObject({ provider: ProviderEnum.Github, accountUsername: 'grace-gh' })
      const credentials: JwtVerifiedCredential[] = grace.verifiedCredentials ?? []
      expect(credentials.map((v) => v.format)).toEqual(['email', 'blockchain', 'oauth'])
      expect(credentials[0].verifiedAt).toEqual(new Date('2024-03-01T09:30:00.000Z'))
      expect(credentials.every((v) => typeof v.id === 'string' && v.signInEnabled)).toBe(true)

      const got: UserResponse = await api.getUser({ environmentId, userId: grace.id })
      expect(got.user).toEqual(grace)

      const upserted: BulkUserCreateResponse = await api.bulkCreateUser({
        environmentId,
        internalUserFields: [{ email: 'alan@example.com', lastName: 'Turing' }],
        upsert: true,
      })
      expect(upserted.updated?.[0]).toMatchObject({ firstName: 'Alan', lastName: 'Turing' })

      const all: UsersResponse = await api.getEnvironmentUsers({ environmentId, offset: 0, limit: 10 })
      expect(all.count).toBe(2)
      expect(all.users?.map((u: User) => u.email)).toEqual(['grace@example.com', 'alan@example.com'])
      const filtered: UsersResponse = await api.getEnvironmentUsers({
        environmentId,
        filter: { filterColumn: UserFilterableFieldsEnum.Email, filterValue: 'ALAN@example.com' },
      })
      expect(filtered.count).toBe(1)
      const alan: User | undefined = filtered.users?.[0]
      expect(alan?.lastName).toBe('Turing')

      // This client version rejects with the fetch Response itself: the door's status and envelope.
      const missing = await api.getUser({ environmentId, userId: '00000000-0000-4000-8000-000000000000' }).catch((e: unknown) => e)
      expect(missing).toBeInstanceOf(Response)
      expect((missing as Response).status).toBe(404)
      expect(await (missing as Response).json()).toEqual({ error: 'User not found', code: 'user_not_found' })

      const native = (await c.request('GET', `/api/v1/directories/${environmentId}/users/${grace.id}`)).json()
      expect(native).toMatchObject({
        email: 'grace@example.com',
        displayName: 'amazing-grace',
        fields: { jobTitle: 'Rear Admiral', policiesConsent: true },
      })
    } finally {
      await app.close()
    }
  })
})
