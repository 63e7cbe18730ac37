import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { Problem } from '../../src/http/problem.js'

/** Assertions on the native API's answers: a success with its status, or a problem+json. */

export type { FieldError } from '../../src/core/errors.js'
export type { Problem } from '../../src/http/problem.js'

/** The answer has this status (shows its body when not); returns it. */
export async function ok(res: Promise<LightMyRequestResponse>, status = 200): Promise<LightMyRequestResponse> {
  const r = await res
  expect(r.statusCode, r.body).toBe(status)
  return r
}

/**
 * The answer is problem+json with this status and code, and the problem's members are there
 * (shows the whole answer when not). `soft`: record a failure and go on, so a loop reports every
 * case that is wrong, not only the first.
 */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = '', soft = false): Problem {
  const e = soft ? expect.soft : expect
  const body = res.headers['content-type']?.toString().includes('json') ? (res.json() as Problem) : undefined
  e({ what, status: res.statusCode, code: body?.code }, `${what}: ${res.body}`).toEqual({ what, status, code })
  e(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
  e(body, what).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) })
  return body ?? { type: '', title: '', status: res.statusCode, detail: '', code: '' }
}
