import { suggestMapping } from '../../../src/core/column-mapping'
import type { Field } from '../api'
import type { Format } from './formats'

/**
 * The wizard's mapping: each column → a field path (`email`, `fields.dept`, `metadata.plan`), ''
 * to ignore it, or null while nothing is chosen. Suggestions come from the server's own rule
 * (src/core/column-mapping.ts), so what the wizard proposes is what the server would map.
 */
export type Mapping = Record<string, string | null>

export interface ImportSettings {
  mode: 'create' | 'update' | 'upsert'
  match: 'email' | 'externalId' | 'username' | 'id'
  emptyMeans: 'skip' | 'null'
  atomic: boolean
  maxErrors: string
  /** Mirror mode: what happens to the directory's users (in `scope`) that no row names. `keep`: nothing (no mirror). */
  absent: 'keep' | 'deactivate' | 'delete'
  /** Mirror mode: only users with all of these values can be absent. */
  scope: ScopeRow[]
  /** Mirror mode: a count (`200`) or a percentage (`5%`); '' for the server's default (10%). */
  maxAbsent: string
  /** Mirror mode: change absent users even though some rows failed. */
  absentOnErrors: boolean
}

/** One condition of a mirror import's scope, as typed: a field path (`metadata.source`) and its value (`hr`). */
export interface ScopeRow {
  field: string
  value: string
}

export const DEFAULT_SETTINGS: ImportSettings = {
  mode: 'upsert',
  match: 'email',
  emptyMeans: 'skip',
  atomic: false,
  maxErrors: '',
  absent: 'keep',
  scope: [],
  maxAbsent: '',
  absentOnErrors: false,
}

/**
 * The scope's rows as the JSON object the server takes (`{"metadata.source":"hr"}`), each value
 * of its field's type: numbers for number and integer fields, true/false for boolean ones, text
 * otherwise (metadata too: a CSV import stores its values as text), spaces around it trimmed. A
 * value that is not of its field's type is sent as text, for the server to name. Rows with no
 * field are left out; null when none is left.
 */
export function scopeObject(rows: readonly ScopeRow[], fields: readonly Field[]): Record<string, string | number | boolean> | null {
  const types = new Map<string, string>()
  for (const f of fields) types.set(f.builtIn ? f.key : `fields.${f.key}`, f.type)
  const scope: Record<string, string | number | boolean> = {}
  for (const r of rows) {
    const key = r.field.trim()
    if (!key) continue
    const type = types.get(key)
    const text = r.value.trim()
    if ((type === 'number' || type === 'integer') && text !== '' && Number.isFinite(Number(text))) scope[key] = Number(text)
    else if (type === 'boolean' && (text === 'true' || text === 'false')) scope[key] = text === 'true'
    else scope[key] = text
  }
  return Object.keys(scope).length ? scope : null
}

export interface TargetOption {
  value: string
  label: string
  group: string
}

const customKeys = (fields: readonly Field[]) => fields.filter((f) => !f.builtIn).map((f) => f.key)

/** The suggested mapping of a file's columns in a directory with these fields. */
export function suggest(columns: readonly string[], fields: readonly Field[], format: Format): Mapping {
  const paths = suggestMapping(columns, customKeys(fields))
  // A JSON record's `fields` object holds custom fields already: it passes through as it is.
  return Object.fromEntries(columns.map((c, i) => [c, format !== 'csv' && c === 'fields' ? 'fields' : paths[i]]))
}

/** Everything a column can go to: ignore, the built-ins, custom fields, metadata. */
export function targetOptions(column: string, fields: readonly Field[], format: Format, suggested: string | null): TargetOption[] {
  const options: TargetOption[] = [{ value: '', label: 'Ignore this column', group: '' }]
  options.push({ value: 'id', label: 'User ID (id)', group: 'Built-in fields' })
  for (const f of fields.filter((f) => f.builtIn)) options.push({ value: f.key, label: `${f.label} (${f.key})`, group: 'Built-in fields' })
  for (const f of fields.filter((f) => !f.builtIn))
    options.push({ value: `fields.${f.key}`, label: `${f.label} (fields.${f.key})`, group: 'Custom fields' })
  if (format !== 'csv') options.push({ value: 'fields', label: 'Custom fields, as one object (fields)', group: 'Custom fields' })
  const metaKey = column.toLowerCase().startsWith('metadata.') ? column.slice(9) : column
  if (metaKey) options.push({ value: `metadata.${metaKey}`, label: `Metadata key "${metaKey}" (metadata.${metaKey})`, group: 'Metadata' })
  options.push({ value: 'metadata', label: 'Metadata, the whole JSON object (metadata)', group: 'Metadata' })
  if (suggested && !options.some((o) => o.value === suggested)) options.push({ value: suggested, label: suggested, group: 'Metadata' })
  return options
}

export interface MappingProblems {
  /** Column → what is wrong with its choice. */
  columns: Record<string, string>
  /** What is wrong with the match key. */
  match: string | null
  /** Problems of the mapping as a whole (a required field no column goes to). */
  general: string[]
}

export function mappingProblems(
  columns: readonly string[],
  mapping: Mapping,
  fields: readonly Field[],
  s: ImportSettings,
): MappingProblems {
  const problems: MappingProblems = { columns: {}, match: null, general: [] }
  const claimed = new Map<string, string>()
  for (const c of columns) {
    const path = mapping[c]
    if (path === null || path === undefined) {
      problems.columns[c] =
        'Choose a field, or "Ignore this column": a column that maps to no field fails the whole import (unmapped=fail).'
      continue
    }
    if (path === '') continue
    const other = claimed.get(path)
    if (other !== undefined) problems.columns[c] = `Column "${other}" goes to ${path} already: a field takes one column.`
    else claimed.set(path, c)
  }
  if (s.mode !== 'create' && !claimed.has(s.match))
    problems.match = `No column goes to ${s.match}, the match key: every row would fail. Map a column to it, or choose another match key.`
  if (s.mode !== 'update')
    for (const f of fields.filter((f) => f.required && !f.builtIn))
      if (!claimed.has(`fields.${f.key}`) && !claimed.has('fields'))
        problems.general.push(`The required field ${f.label} (fields.${f.key}) is mapped to no column: a new user needs it.`)
  return problems
}

export const hasProblems = (p: MappingProblems) => Object.keys(p.columns).length > 0 || p.match !== null || p.general.length > 0

/**
 * The upload's query: the options and the whole mapping (every column named, '' for the ignored
 * ones); the mirror options only for a mirror import (the server refuses them otherwise).
 */
export function importQuery(
  format: Format,
  mapping: Mapping,
  s: ImportSettings,
  dryRun: boolean,
  delimiter?: string,
  fields: readonly Field[] = [],
): URLSearchParams {
  const q = new URLSearchParams({
    format,
    mode: s.mode,
    match: s.match,
    emptyMeans: s.emptyMeans,
    atomic: String(s.atomic),
    dryRun: String(dryRun),
    unmapped: 'fail',
    mapping: JSON.stringify(Object.fromEntries(Object.entries(mapping).map(([c, p]) => [c, p ?? '']))),
  })
  if (s.maxErrors.trim()) q.set('maxErrors', s.maxErrors.trim())
  if (format === 'csv' && delimiter && [',', ';', '|', '\t'].includes(delimiter)) q.set('delimiter', delimiter === '\t' ? 'tab' : delimiter)
  if (s.absent !== 'keep') {
    q.set('absent', s.absent)
    const scope = scopeObject(s.scope, fields)
    if (scope) q.set('scope', JSON.stringify(scope))
    if (s.maxAbsent.trim()) q.set('maxAbsent', s.maxAbsent.trim())
    q.set('absentOnErrors', String(s.absentOnErrors))
  }
  return q
}
