import { expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

it('the webhook and body-timeout settings: defaults, values from the environment, refusals', () => {
  expect(loadConfig({})).toMatchObject({
    webhookAttempts: 30,
    webhookMaxBackoffMs: 600_000,
    webhookTimeoutMs: 10_000,
    webhookAllowPrivate: false,
    bodyIdleTimeoutMs: 5000,
  })
  expect(
    loadConfig({
      ROLLCALL_WEBHOOK_ATTEMPTS: '3',
      ROLLCALL_WEBHOOK_TIMEOUT_MS: '2500',
      ROLLCALL_WEBHOOK_ALLOW_PRIVATE: '1',
      ROLLCALL_BODY_IDLE_TIMEOUT_MS: '15000',
    }),
  ).toMatchObject({ webhookAttempts: 3, webhookTimeoutMs: 2500, webhookAllowPrivate: true, bodyIdleTimeoutMs: 15_000 })
  expect(loadConfig({ ROLLCALL_WEBHOOK_ALLOW_PRIVATE: 'false' }).webhookAllowPrivate).toBe(false)
  expect(loadConfig({ ROLLCALL_WEBHOOK_ALLOW_PRIVATE: 'TRUE' }).webhookAllowPrivate).toBe(true)

  let err: unknown
  try {
    loadConfig({ ROLLCALL_WEBHOOK_ALLOW_PRIVATE: 'maybe', ROLLCALL_WEBHOOK_ATTEMPTS: '0', ROLLCALL_BODY_IDLE_TIMEOUT_MS: 'soon' })
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(ConfigError)
  expect((err as ConfigError).problems).toEqual([
    "ROLLCALL_WEBHOOK_ATTEMPTS must be an integer from 1 to 1000, got '0'",
    "ROLLCALL_WEBHOOK_ALLOW_PRIVATE must be 1 or 0 (true or false), got 'maybe'",
    "ROLLCALL_BODY_IDLE_TIMEOUT_MS must be an integer from 100 to 600000, got 'soon'",
  ])
})

it('the heap growth setting: 25 % by default on SQLite, 60 % on PostgreSQL, 0 leaves it to V8, out of range refused', () => {
  expect(loadConfig({}).heapGrowthPercent).toBe(25)
  // PostgreSQL: the page cache is not in the process, and the server's JavaScript is the bottleneck.
  expect(loadConfig({ DATABASE_URL: 'postgres://db.example/rollcall' }).heapGrowthPercent).toBe(60)
  expect(loadConfig({ DATABASE_URL: 'postgres://db.example/rollcall', ROLLCALL_HEAP_GROWTH_PERCENT: '25' }).heapGrowthPercent).toBe(25)
  expect(loadConfig({ ROLLCALL_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0)
  expect(loadConfig({ ROLLCALL_HEAP_GROWTH_PERCENT: '100' }).heapGrowthPercent).toBe(100)
  expect(() => loadConfig({ ROLLCALL_HEAP_GROWTH_PERCENT: '500' })).toThrow(
    "ROLLCALL_HEAP_GROWTH_PERCENT must be an integer from 0 to 300, got '500'",
  )
})
