import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/**
 * Editing a user in the console (Chromium against a real `rollcall serve` on SQLite): a merge
 * patch of what changed, sent with If-Match; a change made meanwhile is shown, never overwritten.
 */

interface ApiUser {
  id: string
  version: number
  firstName: string | null
  lastName: string | null
  country: string | null
  metadata: Record<string, unknown>
  fields: Record<string, unknown>
}

describe('web console: editing a user (Chromium, SQLite)', () => {
  const session = useConsole({ viewport: { width: 1280, height: 900 } })
  let server: Server
  let page: Page
  const { admin: rest, shot } = session
  let userId: string

  const user = () => rest<ApiUser>('GET', `/directories/crm/users/${userId}`)

  beforeAll(async () => {
    server = session.server
    page = session.page

    await rest('POST', '/directories', { name: 'CRM', externalId: 'crm' })
    await rest('POST', '/directories/crm/fields', { key: 'tier', label: 'Tier', type: 'enum', enumValues: ['gold', 'silver'] })
    await rest('POST', '/directories/crm/fields', { key: 'seats', label: 'Seats', type: 'integer' })
    const created = await rest<ApiUser>('POST', '/directories/crm/users', {
      email: 'grace@example.com',
      firstName: 'Grace',
      lastName: 'Hopper',
      country: 'US',
      metadata: { plan: 'pro', billing: { vat: 'US1', city: 'Arlington' } },
      fields: { tier: 'silver', seats: 3 },
    })
    userId = created.id

    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Directories' }).waitFor()
  }, 120_000)

  it("the directories list shows each directory's user and custom field counts", async () => {
    const row = page.getByRole('row', { name: /CRM/ })
    await row.getByRole('cell', { name: '1', exact: true }).waitFor() // one user
    await row.getByRole('link', { name: '2', exact: true }).waitFor() // two custom fields, linking to them
  })

  const openEditor = async () => {
    await page.goto(`${server.url}/directories/crm/users/${userId}`)
    await page.getByRole('button', { name: 'Edit' }).click()
    return page.getByRole('form', { name: 'Edit user' })
  }

  it('saves only what changed (built-ins, custom fields, metadata as a merge patch); history records it from the console', async () => {
    const form = await openEditor()
    await form.getByLabel('First name').fill('Grace B.')
    await form.getByLabel('Country').fill('')
    await form.getByLabel('Tier').selectOption('gold')
    await form.getByLabel('Seats').fill('5')
    await form.getByLabel('Metadata (JSON)').fill(JSON.stringify({ plan: 'pro', billing: { city: 'Arlington' }, owner: 'navy' }))
    await shot('user-edit')
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.waitFor({ state: 'detached' })

    const after = await user()
    expect(after).toMatchObject({
      version: 2,
      firstName: 'Grace B.',
      lastName: 'Hopper',
      country: null,
      fields: { tier: 'gold', seats: 5 },
      metadata: { plan: 'pro', billing: { city: 'Arlington' }, owner: 'navy' },
    })
    // One change-set, made by the console, with exactly the fields that changed.
    const history = page.getByRole('list', { name: 'History' })
    await history.getByRole('listitem').nth(1).waitFor()
    const newest = history.getByRole('listitem').first()
    const text = (await newest.textContent()) ?? ''
    expect(text).toContain('console')
    expect(text).toMatch(/firstName.*Grace.*Grace B\./)
    expect(text).toMatch(/fields\.seats.*3.*5/)
    expect(text).not.toContain('lastName')
    await page.getByText('Grace B.', { exact: true }).first().waitFor()
  })

  it('bad input is named next to its field and nothing is sent; a server refusal shows its detail', async () => {
    const form = await openEditor()
    await form.getByLabel('Seats').fill('many')
    await form.getByLabel('Metadata (JSON)').fill('{ not json')
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.getByText('must be a whole number').waitFor()
    await form.getByText(/must be JSON/).waitFor()
    expect(await form.getByLabel('Seats').getAttribute('aria-invalid')).toBe('true')

    await form.getByLabel('Seats').fill('6')
    await form.getByLabel('Metadata (JSON)').fill('{}')
    await form.getByLabel('Email', { exact: true }).fill('not-an-email')
    await form.getByRole('button', { name: 'Save changes' }).click()
    await form.getByRole('alert').filter({ hasText: /email/i }).first().waitFor()
    expect((await user()).version).toBe(2) // nothing written
    await form.getByRole('button', { name: 'Cancel' }).click()
  })

  it('a change made since the editor opened is shown with both values and not overwritten; either side can win', async () => {
    const form = await openEditor()
    await form.getByLabel('Last name').fill('Hopper (RADM)')
    await form.getByLabel('Seats').fill('9')
    // Someone else changes the same user meanwhile.
    await rest('PATCH', `/directories/crm/users/${userId}`, { lastName: 'Murray Hopper' })

    await form.getByRole('button', { name: 'Save changes' }).click()
    const conflict = form.getByRole('alert').filter({ hasText: 'This user was changed since you opened it' })
    await conflict.waitFor()
    const row = conflict.getByRole('row', { name: /Last name/ })
    expect(await row.textContent()).toMatch(/Hopper.*Hopper \(RADM\).*Murray Hopper/)
    await shot('user-edit-conflict')
    expect(await user()).toMatchObject({ version: 3, lastName: 'Murray Hopper', fields: { seats: 5 } })

    // "Save mine over it" sends the same changes against the version now current.
    await conflict.getByRole('button', { name: 'Save mine over it' }).click()
    await form.waitFor({ state: 'detached' })
    expect(await user()).toMatchObject({ version: 4, lastName: 'Hopper (RADM)', fields: { seats: 9 } })

    // And "Discard mine" keeps theirs.
    const again = await openEditor()
    await again.getByLabel('First name').fill('Amazing Grace')
    await rest('PATCH', `/directories/crm/users/${userId}`, { firstName: 'G.' })
    await again.getByRole('button', { name: 'Save changes' }).click()
    await again.getByText('This user was changed since you opened it').waitFor()
    await again.getByRole('button', { name: 'Discard mine' }).click()
    await again.waitFor({ state: 'detached' })
    expect(await user()).toMatchObject({ version: 5, firstName: 'G.' })
    await page.getByRole('heading', { name: /G\.|grace@example.com/ }).waitFor()
  })
})
