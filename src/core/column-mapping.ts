import { BUILT_IN_KEYS } from './fields.js'

/**
 * How an input column's name suggests a field: the one rule, used by the server's CSV mapper
 * (engine/parsers/mapping.ts) and by the console's import wizard (web/), which imports this file.
 * Pure, and it imports nothing but the table of built-in fields, so the browser can bundle it.
 */

/** `First Name`, `first_name`, `FIRST-NAME` → `firstname`. */
export const normalizeHeader = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, '')

/** The field paths a column may name without a mapping: the built-ins, `id`, `metadata`, then custom fields. */
export function columnIndex(customKeys: Iterable<string>): Map<string, string> {
  const byNorm = new Map<string, string>()
  for (const k of ['id', 'metadata', ...BUILT_IN_KEYS]) byNorm.set(normalizeHeader(k), k)
  // A custom key that normalizes like a built-in is reached as `fields.<key>` only.
  for (const k of customKeys) if (!byNorm.has(normalizeHeader(k))) byNorm.set(normalizeHeader(k), `fields.${k}`)
  return byNorm
}

/**
 * The field path a column's name maps to: a built-in or custom field by name (ignoring case,
 * spaces, `_` and `-`), `metadata.<key>` as written, `fields.<key>` as written; or null (the column
 * is unmapped). A `fields.<key>` path still needs the key to be a custom field of the directory.
 */
export function suggestPath(header: string, index: ReadonlyMap<string, string>): string | null {
  const h = header.trim()
  if (h.toLowerCase().startsWith('metadata.')) return `metadata.${h.slice(9)}`
  return index.get(normalizeHeader(h)) ?? (h.startsWith('fields.') ? h : null)
}

/** Whether a field path names something a column can be mapped to, in a directory with these custom fields. */
export function isFieldPath(path: string, customKeys: ReadonlySet<string>): boolean {
  if (path === 'id' || path === 'metadata' || BUILT_IN_KEYS.has(path)) return true
  if (path.startsWith('metadata.')) return path.length > 9
  return customKeys.has(path.startsWith('fields.') ? path.slice(7) : path)
}

/** The suggested field of each column, or null; what the server maps it to when no mapping is sent. */
export function suggestMapping(header: readonly string[], customKeys: Iterable<string>): (string | null)[] {
  const keys = new Set(customKeys)
  const index = columnIndex(keys)
  return header.map((h) => {
    const path = suggestPath(h, index)
    return path !== null && isFieldPath(path, keys) ? path : null
  })
}

/** The first column name that appears twice, with both 0-based positions; null when all differ. */
export function duplicateColumn(header: readonly string[]): { name: string; first: number; second: number } | null {
  const seen = new Map<string, number>()
  for (const [i, h] of header.entries()) {
    const first = seen.get(h)
    if (first !== undefined) return { name: h, first, second: i }
    seen.set(h, i)
  }
  return null
}
