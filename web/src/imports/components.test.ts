import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { ColumnsTable } from './ColumnsTable'
import { DEFAULT_SETTINGS, mappingProblems, suggest } from './mapping'
import { ResultRows } from './ResultsTable'
import type { Sample } from './sample'
import type { ResultRow } from './transfer'
import { field } from './test-fields'

/**
 * The mapping screen and the plan's rows as React renders them (server rendering, no browser):
 * what a person reads in each cell. The browser tests (test/console) drive the same screens.
 */

const FIELDS = [field('email', true), field('firstName', true), field('department', false, true)]

/** The rows of a rendered table body, each as its cells' text (tags stripped). */
function rowsOf(html: string): string[][] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(html)?.[1] ?? ''
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) =>
      c[1]
        .replace(/<option[\s\S]*?<\/option>|<optgroup[^>]*>|<\/optgroup>/g, '')
        .replace(/<[^>]+>/g, ' ')
        .replace(/&gt;/g, '>')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  )
}

describe('the mapping screen (ColumnsTable)', () => {
  const sample: Sample = {
    format: 'csv',
    columns: ['E-mail', 'Given name', 'Shoe size', 'Department'],
    rows: [
      { 'E-mail': 'ada@example.com', 'Given name': 'Ada', 'Shoe size': '', Department: 'Eng' },
      { 'E-mail': 'grace@example.com', 'Given name': 'Grace', 'Shoe size': '38', Department: 'Navy' },
    ],
    whole: true,
  }

  it('shows each column with its sample values, the suggested field chosen, and every target offered', () => {
    const suggested = suggest(sample.columns, FIELDS, 'csv')
    const mapping = { ...suggested, 'Given name': 'firstName', 'Shoe size': 'metadata.Shoe size' }
    expect(suggested['Given name']).toBeNull()
    const problems = mappingProblems(sample.columns, mapping, FIELDS, DEFAULT_SETTINGS).columns
    const html = renderToStaticMarkup(
      createElement(ColumnsTable, { sample, fields: FIELDS, mapping, suggested, problems, onChange: () => undefined }),
    )
    expect(rowsOf(html)).toEqual([
      ['E-mail', 'ada@example.com grace@example.com', 'suggested'],
      ['Given name', 'Ada Grace', ''],
      ['Shoe size', '38', ''],
      ['Department', 'Eng Navy', 'suggested'],
    ])
    // Each select is labelled by its column and holds the chosen target.
    expect(html).toContain('<label for="map-0">E-mail</label>')
    expect(html).toMatch(/<select id="map-0"[^>]*>[\s\S]*?<option value="email" selected="">email \(email\)<\/option>/)
    expect(html).toMatch(/<select id="map-1"[^>]*>[\s\S]*?<option value="firstName" selected="">/)
    expect(html).toMatch(/<select id="map-2"[^>]*>[\s\S]*?<option value="metadata.Shoe size" selected="">/)
    expect(html).not.toContain('aria-invalid')
    expect(html).toMatch(/<select id="map-3"[^>]*>[\s\S]*?<option value="fields.department" selected="">/)
    // Every column offers every field, a metadata key of its own name, the whole metadata, and ignore.
    const firstSelect = /<select id="map-1"[\s\S]*?<\/select>/.exec(html)?.[0] ?? ''
    for (const v of ['email', 'firstName', 'fields.department', 'metadata.Given name', 'metadata', ''])
      expect(firstSelect).toContain(`<option value="${v}"`)
  })

  it('a column left unmapped is marked invalid, with its message announced next to it', () => {
    const suggested = suggest(sample.columns, FIELDS, 'csv')
    const problems = mappingProblems(sample.columns, suggested, FIELDS, DEFAULT_SETTINGS).columns
    expect(Object.keys(problems)).toEqual(['Given name', 'Shoe size'])
    const html = renderToStaticMarkup(
      createElement(ColumnsTable, { sample, fields: FIELDS, mapping: suggested, suggested, problems, onChange: () => undefined }),
    )
    expect(html).toMatch(/<select id="map-1" aria-invalid="true" aria-describedby="map-1-problem"/)
    expect(problems['Given name']).toMatch(/unmapped=fail/)
    expect(html).toContain(`<p id="map-1-problem" role="alert" class="field-error">${problems['Given name'].replace(/"/g, '&quot;')}</p>`)
    expect(html).toMatch(/<select id="map-0"(?![^>]*aria-invalid)[^>]*>/)
    expect(html).toContain('<option value="?choose" selected="">Choose a field…</option>')
  })
})

describe("the plan's rows (ResultRows)", () => {
  const rows: ResultRow[] = [
    {
      index: 0,
      line: 2,
      status: 'updated',
      userId: '0190f2a4-aaaa-7bbb-8ccc-0123456789ab',
      changedFields: ['firstName', 'fields.department'],
      errors: [],
      changes: { firstName: ['Ada', 'Augusta'], 'fields.department': [null, 'Eng'] },
    },
    {
      index: 1,
      line: 3,
      status: 'created',
      userId: null,
      changedFields: ['email'],
      errors: [],
      changes: { email: [null, 'new@example.com'] },
    },
    {
      index: 2,
      line: 4,
      status: 'failed',
      userId: null,
      changedFields: [],
      errors: [{ field: 'email', code: 'invalid_format', message: 'must be an email address' }],
    },
    {
      index: 3,
      line: null,
      status: 'unchanged',
      userId: '0190f2a4-aaaa-7bbb-8ccc-ba9876543210',
      changedFields: [],
      errors: [],
      warnings: [{ field: 'email', code: 'duplicate_in_input', message: 'row 1 names this user too' }],
    },
  ]

  it('shows each row by its line, status and user, with every field before → after, and errors and warnings', () => {
    const html = renderToStaticMarkup(createElement(ResultRows, { rows, dir: 'people', labelledBy: 'plan' }))
    expect(rowsOf(html)).toEqual([
      ['2', 'updated', '456789ab', 'firstName Ada → Augusta fields.department — → Eng'],
      ['3', 'created', 'new', 'email — → new@example.com'],
      ['4', 'failed', 'new', 'email must be an email address'],
      ['row 4', 'unchanged', '76543210', 'email row 1 names this user too'],
    ])
    expect(html).toContain('href="/directories/people/users/0190f2a4-aaaa-7bbb-8ccc-0123456789ab"')
    expect(html).toContain('<span aria-label="becomes">→</span>')
    expect(html).toContain('<p class="row-error"><code>email</code> must be an email address</p>')
  })
})
