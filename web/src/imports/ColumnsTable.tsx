import type { Field } from '../api'
import type { Mapping } from './mapping'
import { targetOptions } from './mapping'
import type { Sample } from './sample'

const SAMPLE_VALUES = 3
/** The select's value while no field is chosen (no field path starts with '?'). */
const CHOOSE = '?choose'

/** Each input column with sample values and the field it goes to (suggested, then chosen). */
export function ColumnsTable({
  sample,
  fields,
  mapping,
  suggested,
  problems,
  onChange,
}: {
  sample: Sample
  fields: readonly Field[]
  mapping: Mapping
  suggested: Mapping
  problems: Record<string, string>
  onChange: (column: string, path: string | null) => void
}) {
  return (
    <table className="grid columns-table" aria-label="Columns">
      <thead>
        <tr>
          <th scope="col">Column</th>
          <th scope="col">Sample values</th>
          <th scope="col">Goes to</th>
        </tr>
      </thead>
      <tbody>
        {sample.columns.map((c, i) => {
          const id = `map-${i}`
          const values = sample.rows
            .map((r) => r[c])
            .filter((v) => v !== '')
            .slice(0, SAMPLE_VALUES)
          const options = targetOptions(c, fields, sample.format, suggested[c])
          const groups = [...new Set(options.map((o) => o.group))]
          const problem = problems[c]
          return (
            <tr key={c} className={problem ? 'invalid' : undefined}>
              <th scope="row">
                <label htmlFor={id}>{c === '' ? '(no name)' : c}</label>
              </th>
              <td className="samples">
                {values.length ? (
                  values.map((v, k) => <code key={k}>{v.length > 40 ? `${v.slice(0, 40)}…` : v}</code>)
                ) : (
                  <span className="muted">empty</span>
                )}
              </td>
              <td>
                <select
                  id={id}
                  value={mapping[c] ?? CHOOSE}
                  aria-invalid={problem ? true : undefined}
                  aria-describedby={problem ? `${id}-problem` : undefined}
                  onChange={(e) => onChange(c, e.target.value === CHOOSE ? null : e.target.value)}
                >
                  <option value={CHOOSE}>Choose a field…</option>
                  {groups.map((g) =>
                    g === '' ? (
                      options
                        .filter((o) => o.group === '')
                        .map((o) => (
                          <option key={o.value} value={o.value}>
                            {o.label}
                          </option>
                        ))
                    ) : (
                      <optgroup key={g} label={g}>
                        {options
                          .filter((o) => o.group === g)
                          .map((o) => (
                            <option key={o.value} value={o.value}>
                              {o.label}
                            </option>
                          ))}
                      </optgroup>
                    ),
                  )}
                </select>
                {suggested[c] !== null && suggested[c] === mapping[c] && <span className="muted small"> suggested</span>}
                {problem && (
                  <p id={`${id}-problem`} role="alert" className="field-error">
                    {problem}
                  </p>
                )}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
