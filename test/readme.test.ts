import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ERROR_CATALOGUE } from '../src/core/errors.js'
import { ROW_ERROR_CODES } from '../src/core/row-errors.js'

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')

it('the README error table lists every code of the catalogue with its status', () => {
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) expect(readme).toContain(`| \`${code}\` | ${spec.status} | ${spec.title} |`)
})

it('the README Quickstart has the two commands, and .ci/run runs the test one', () => {
  expect(readme).toContain('npm ci && npm start')
  expect(readme).toContain('npm ci && npm test')
  expect(readFileSync(join(import.meta.dirname, '..', '.ci', 'run'), 'utf8')).toContain('npm ci && npm test')
})

it('the README row error table lists every row error code with its meaning', () => {
  for (const [code, meaning] of Object.entries(ROW_ERROR_CODES)) expect(readme).toContain(`| \`${code}\` | ${meaning} |`)
})
