/**
 * A PostgreSQL array literal of scalar values (text, numbers, booleans, null), exactly as pg's
 * `prepareValue` spells an array, for the batch statements' `unnest($n::type[])` parameters.
 * pg quotes every element through two regex replaces: 9 % of an import server's busy time on
 * PostgreSQL in a CPU profile (its top function after the garbage collector): a batch of 1,000
 * users and their history passes some 30,000 values.
 * Here a column of plain text (no null, quote or backslash: most columns of most batches) is one
 * native `join`, and other elements are copied as they are unless they hold a quote or a backslash.
 * The 22 columns of a batch of 1,000 users: 1.25 ms with pg's, 0.85 here (best of 240 runs each).
 */
export function pgArray(values: readonly unknown[]): string {
  if (values.length === 0) return '{}'
  let plain = true
  for (let i = 0; i < values.length && plain; i++) {
    const v = values[i]
    plain = typeof v === 'string' && !v.includes('"') && !v.includes('\\')
  }
  if (plain) return `{"${values.join('","')}"}`
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const v = values[i]
    if (v == null) {
      out += 'NULL'
      continue
    }
    if (typeof v === 'object') throw new TypeError('pgArray takes text, numbers, booleans and null')
    const s = typeof v === 'string' ? v : String(v)
    out += s.includes('"') || s.includes('\\') ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`
  }
  return `${out}}`
}
