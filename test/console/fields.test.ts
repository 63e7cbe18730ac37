import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Server } from './harness.js'
import { useConsole } from './session.js'

/** A directory's field definitions in the console (Chromium against a real `rollcall serve` on SQLite). */

interface ApiField {
  key: string
  label: string
  type: string
  required: boolean
  unique: boolean
  enumValues: string[] | null
  builtIn: boolean
}

describe('web console: fields (Chromium, SQLite)', () => {
  const session = useConsole()
  let server: Server
  let page: Page
  const { admin, shot } = session

  const fields = async () => (await admin<{ data: ApiField[] }>('GET', '/directories/hr/fields')).data

  beforeAll(async () => {
    server = session.server
    page = session.page
    await admin('POST', '/directories', { name: 'HR', externalId: 'hr' })
    await page.goto(server.url)
    await page.getByLabel('API key').fill(server.adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: 'HR: Fields' }).click()
    await page.getByRole('heading', { name: 'Fields' }).waitFor()
  }, 120_000)

  it('lists the built-ins; creates a custom enum field; the server refuses a bad key and a bad pattern with its messages', async () => {
    await page.getByRole('row', { name: /email/ }).first().waitFor()
    const form = page.getByRole('form', { name: 'New field' })

    await form.getByLabel('Key').fill('bad key!')
    await form.getByRole('button', { name: 'Add field' }).click()
    const refused = form.getByRole('alert')
    await refused.waitFor()
    expect(await refused.textContent()).toMatch(/key/i)

    await form.getByLabel('Key').fill('code')
    await form.getByLabel('Pattern (regular expression)').fill('([a-z')
    await form.getByRole('button', { name: 'Add field' }).click()
    await form
      .getByRole('alert')
      .filter({ hasText: /pattern/i })
      .waitFor()
    expect((await fields()).map((f) => f.key)).not.toContain('code')

    await form.getByLabel('Key').fill('dept')
    await form.getByLabel('Label (optional)').fill('Department')
    await form.getByLabel('Pattern (regular expression)').fill('')
    await form.getByLabel('Type').selectOption('enum')
    await form.getByLabel('Allowed values (one per line)').fill('Sales\nSupport')
    await form.getByRole('checkbox', { name: 'Required' }).check()
    await form.getByRole('button', { name: 'Add field' }).click()
    const row = page.getByRole('row', { name: /dept/ })
    await row.waitFor()
    expect(await row.textContent()).toMatch(/Department.*enum.*required.*one of Sales, Support/)
    expect((await fields()).find((f) => f.key === 'dept')).toMatchObject({ type: 'enum', required: true, enumValues: ['Sales', 'Support'] })
    await shot('fields')
  })

  it('edits a custom field and a built-in (label and required only); deletes a custom field after asking', async () => {
    await page.getByRole('button', { name: 'Edit dept' }).click()
    const edit = page.getByRole('form', { name: 'Edit dept' })
    await edit.getByLabel('Label').fill('Team')
    await edit.getByLabel('Allowed values (one per line)').fill('Sales\nSupport\nOps')
    await edit.getByRole('button', { name: 'Save field' }).click()
    await edit.waitFor({ state: 'detached' })
    expect((await fields()).find((f) => f.key === 'dept')).toMatchObject({ label: 'Team', enumValues: ['Sales', 'Support', 'Ops'] })

    // A built-in has no delete, and its editor offers only the label and required.
    expect(await page.getByRole('button', { name: 'Delete email', exact: true }).count()).toBe(0)
    await page.getByRole('button', { name: 'Edit email', exact: true }).click()
    const builtIn = page.getByRole('form', { name: 'Edit email' })
    expect(await builtIn.getByLabel('Pattern (regular expression)').count()).toBe(0)
    await builtIn.getByLabel('Label').fill('E-mail address')
    await builtIn.getByRole('button', { name: 'Save field' }).click()
    await builtIn.waitFor({ state: 'detached' })
    expect((await fields()).find((f) => f.key === 'email')).toMatchObject({ label: 'E-mail address', builtIn: true })

    await page.getByRole('button', { name: 'Delete dept' }).click()
    await page.getByRole('group', { name: 'Delete dept' }).getByRole('button', { name: 'Delete field' }).click()
    await page.getByRole('cell', { name: 'dept', exact: true }).waitFor({ state: 'detached' })
    expect((await fields()).map((f) => f.key)).not.toContain('dept')
  })
})
