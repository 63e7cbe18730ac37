import type { FieldError } from '../../core/errors.js'
import { BUILT_IN_KEYS } from '../../core/fields.js'
import { columnIndex, duplicateColumn, suggestPath } from '../../core/column-mapping.js'
import type { FieldDefinition, FieldType, JsonObject } from '../../core/types.js'
import { setOwn } from '../../core/merge.js'
import { DERIVED } from '../../core/user-fields.js'
import type { FieldOp } from '../../core/user-patch.js'

const BOOL_BUILT_INS: ReadonlySet<string> = DERIVED.boolColumns

/** Where one input column goes. */
type Target =
  | { kind: 'builtin'; key: string }
  | { kind: 'metadata' }
  | { kind: 'metaKey'; key: string }
  | { kind: 'field'; key: string; type: FieldType }
  | { kind: 'ignore' }

export interface MappingOptions {
  mapping: Record<string, string> | null
  unmapped: 'fail' | 'metadata' | 'ignore'
  emptyMeans: 'skip' | 'null'
  /** Columns `<column><opSuffix>` carry add | subtract | overwrite for `<column>`'s numeric custom field. */
  opSuffix?: string | null
}

/** The input cannot be mapped at all: the job fails before any write, with this reason. */
export class MappingError extends Error {}

function targetFor(path: string, custom: Map<string, FieldDefinition>): Target | null {
  if (path === '') return { kind: 'ignore' }
  if (path === 'id' || BUILT_IN_KEYS.has(path)) return { kind: 'builtin', key: path }
  if (path === 'metadata') return { kind: 'metadata' }
  if (path.startsWith('metadata.') && path.length > 9) return { kind: 'metaKey', key: path.slice(9) }
  const key = path.startsWith('fields.') ? path.slice(7) : path
  const def = custom.get(key)
  return def ? { kind: 'field', key, type: def.type } : null
}

const describe = (t: Target): string =>
  t.kind === 'builtin'
    ? t.key
    : t.kind === 'metadata'
      ? 'metadata'
      : t.kind === 'metaKey'
        ? `metadata.${t.key}`
        : t.kind === 'field'
          ? `fields.${t.key}`
          : ''

/**
 * Maps CSV columns to user fields. By default a header maps by name, ignoring case, spaces, `_`
 * and `-` (`First Name` → firstName, `e-mail` → email); `metadata.<key>` and custom field keys map
 * too; an explicit mapping overrides. Problems with the header fail the whole job, before any write.
 */
export function csvMapper(header: string[], definitions: readonly FieldDefinition[], opts: MappingOptions) {
  const custom = new Map(definitions.filter((d) => !d.builtIn).map((d) => [d.key, d]))
  // The suggestion rule is shared with the console's import wizard (core/column-mapping.ts).
  const index = columnIndex(custom.keys())

  const dup = duplicateColumn(header)
  if (dup) throw new MappingError(`duplicate column '${dup.name}' (columns ${dup.first + 1} and ${dup.second + 1})`)
  if (opts.mapping) {
    const columns = new Set(header)
    const missing = Object.keys(opts.mapping).filter((c) => !columns.has(c))
    if (missing.length) throw new MappingError(`mapping names columns the file does not have: ${missing.map((m) => `'${m}'`).join(', ')}`)
  }

  // Operator columns: `<column><suffix>` next to a numeric custom field's column.
  const opFor = new Map<number, number>()
  const suffix = opts.opSuffix
  if (suffix) {
    header.forEach((h, i) => {
      if (!h.endsWith(suffix)) return
      const base = header.indexOf(h.slice(0, -suffix.length))
      if (base !== -1) opFor.set(i, base)
    })
  }

  const targets: Target[] = []
  const unmapped: string[] = []
  for (const [i, h] of header.entries()) {
    if (opFor.has(i)) {
      targets.push({ kind: 'ignore' })
      continue
    }
    // Own keys only: a column called `constructor` is not the mapping's inherited property.
    const explicit = opts.mapping && Object.hasOwn(opts.mapping, h) ? opts.mapping[h] : undefined
    let t: Target | null
    if (explicit !== undefined) {
      t = targetFor(explicit ?? '', custom)
      if (!t) throw new MappingError(`mapping sends column '${h}' to '${explicit}', which is no field of this directory`)
    } else {
      const path = suggestPath(h, index)
      t = path === null ? null : targetFor(path, custom)
      if (!t) {
        if (opts.unmapped === 'metadata') t = { kind: 'metaKey', key: h }
        else if (opts.unmapped === 'ignore') t = { kind: 'ignore' }
        else unmapped.push(h)
      }
    }
    targets.push(t ?? { kind: 'ignore' })
  }
  if (unmapped.length)
    throw new MappingError(
      `columns that map to no field: ${unmapped.map((u) => `'${u}'`).join(', ')}; map them with "mapping", or pass unmapped=metadata or unmapped=ignore`,
    )
  const claimed = new Map<string, string>()
  targets.forEach((t, i) => {
    const name = describe(t)
    if (!name) return
    if (claimed.has(name)) throw new MappingError(`columns '${claimed.get(name)}' and '${header[i]}' both map to ${name}`)
    claimed.set(name, header[i])
  })

  /** One record's cells → the user object the engine validates, its operators, plus conversion errors. */
  return function map(cells: string[]): { data: JsonObject; errors: FieldError[]; ops?: Record<string, FieldOp> } {
    const data: JsonObject = {}
    const errors: FieldError[] = []
    let ops: Record<string, FieldOp> | undefined
    for (const [opCol, baseCol] of opFor) {
      const op = (cells[opCol] ?? '').trim().toLowerCase()
      if (op === '' || op === 'overwrite') continue
      const t = targets[baseCol]
      if (op !== 'add' && op !== 'subtract')
        errors.push({
          field: header[opCol],
          code: 'invalid_value',
          message: `must be add, subtract or overwrite, got '${op.slice(0, 40)}'`,
        })
      else if (t.kind !== 'field' || (t.type !== 'number' && t.type !== 'integer'))
        errors.push({
          field: header[opCol],
          code: 'invalid_operation',
          message: `'${op}' needs a numeric field; '${header[baseCol]}' is not one`,
        })
      else (ops ??= {})[t.key] = op
    }
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]
      if (t.kind === 'ignore') continue
      const cell = cells[i] ?? ''
      if (cell === '') {
        if (opts.emptyMeans === 'skip') continue
        if (t.kind === 'builtin') data[t.key] = null
        else if (t.kind === 'metadata') data.metadata = null
        else if (t.kind === 'metaKey') setOwn((data.metadata ??= {}) as JsonObject, t.key, null)
        else ((data.fields ??= {}) as JsonObject)[t.key] = null
        continue
      }
      switch (t.kind) {
        case 'builtin':
          // `active` reads true/yes/1 and false/no/0, as a boolean custom field does.
          data[t.key] = BOOL_BUILT_INS.has(t.key) ? (convert(cell, 'boolean') as JsonObject[string]) : cell
          break
        case 'metadata':
          try {
            data.metadata = JSON.parse(cell)
          } catch {
            errors.push({ field: 'metadata', code: 'invalid_json', message: 'the metadata cell is not valid JSON' })
          }
          break
        case 'metaKey':
          // Defined, not assigned: a `__proto__` column stays a key, which the engine then refuses by name.
          setOwn((data.metadata ??= {}) as JsonObject, t.key, cell)
          break
        case 'field': {
          const v = convert(cell, t.type)
          if (v === undefined)
            errors.push({ field: `fields.${t.key}`, code: 'invalid_json', message: `'${cell.slice(0, 40)}' is not valid JSON` })
          else if (typeof v === 'number' && inexactInteger(cell.trim(), v))
            errors.push({
              field: `fields.${t.key}`,
              code: 'out_of_range',
              message: `'${cell.trim().slice(0, 40)}' is beyond ±(2^53-1): a number cannot hold it exactly (it would read as ${v})`,
            })
          else ((data.fields ??= {}) as JsonObject)[t.key] = v
        }
      }
    }
    return ops ? { data, errors, ops } : { data, errors }
  }
}

/** An integer cell that its number does not hold exactly (`9007199254740993` → `…992`). */
const inexactInteger = (cell: string, n: number): boolean => /^-?\d{16,}$/.test(cell) && BigInt(cell) !== BigInt(n)

/** A cell as its field's type; a cell that does not convert stays text, so validation names the rule it breaks. */
function convert(cell: string, type: FieldType): JsonObject[string] | undefined {
  switch (type) {
    case 'number':
    case 'integer': {
      const n = Number(cell.trim())
      return cell.trim() !== '' && Number.isFinite(n) ? n : cell
    }
    case 'boolean': {
      const v = cell.trim().toLowerCase()
      return ['true', 'yes', '1'].includes(v) ? true : ['false', 'no', '0'].includes(v) ? false : cell
    }
    case 'json':
      try {
        return JSON.parse(cell)
      } catch {
        return undefined
      }
    default:
      return cell
  }
}

/** NDJSON and JSON records are objects already; an explicit mapping renames their keys. */
export function objectMapper(mapping: Record<string, string> | null) {
  return (value: unknown): unknown => {
    if (!mapping || value === null || typeof value !== 'object' || Array.isArray(value)) return value
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const target = Object.hasOwn(mapping, k) ? mapping[k] : k
      if (target === '') continue
      if (target.startsWith('metadata.')) setOwn((out.metadata ??= {}) as Record<string, unknown>, target.slice(9), v)
      else if (target.startsWith('fields.')) setOwn((out.fields ??= {}) as Record<string, unknown>, target.slice(7), v)
      else setOwn(out, target, v)
    }
    return out
  }
}
