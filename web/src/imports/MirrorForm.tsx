import type { Field } from '../api'
import type { ImportSettings, ScopeRow } from './mapping'

export interface MirrorProblems {
  absent?: string | null
  maxAbsent?: string | null
  absentOnErrors?: string | null
  /** What is wrong with the scope as a whole (`scope`). */
  scope?: string[]
  /** Field path of a condition (`fields.dept`) → what is wrong with it (`scope.fields.dept`). */
  scopeFields?: Record<string, string>
}

/**
 * The import's mirror options: what happens to the directory's users the file does not name
 * (keep them, deactivate them, delete them), and, for a mirror import, which users it covers (the
 * scope, as field = value conditions), its safeguard (maxAbsent) and whether failed rows stop it.
 */
export function MirrorForm({
  settings: s,
  onChange,
  fields,
  problems,
}: {
  settings: ImportSettings
  onChange: (s: ImportSettings) => void
  fields: readonly Field[]
  problems: MirrorProblems
}) {
  const mirror = s.absent !== 'keep'
  const verb = s.absent === 'delete' ? 'deleted' : 'deactivated'
  const note = (id: string, text: string | null | undefined) =>
    text ? (
      <p id={id} role="alert" className="field-error">
        {text}
      </p>
    ) : null
  const described = (id: string, text: string | null | undefined) => (text ? { 'aria-invalid': true as const, 'aria-describedby': id } : {})
  const setRow = (i: number, row: ScopeRow) => onChange({ ...s, scope: s.scope.map((r, j) => (j === i ? row : r)) })
  const scopeKeys = [
    ...fields.filter((f) => f.builtIn && f.type !== 'json').map((f) => f.key),
    ...fields.filter((f) => !f.builtIn && f.type !== 'json').map((f) => `fields.${f.key}`),
    'metadata.',
  ]

  return (
    <div className="mirror">
      <div className="settings">
        <div>
          <label htmlFor="opt-absent">Users missing from the file</label>
          <select
            id="opt-absent"
            value={s.absent}
            onChange={(e) => onChange({ ...s, absent: e.target.value as ImportSettings['absent'] })}
            aria-describedby={problems.absent ? 'opt-absent-problem' : 'opt-absent-hint'}
            aria-invalid={problems.absent ? true : undefined}
          >
            <option value="keep">Keep (no mirror)</option>
            <option value="deactivate">Deactivate</option>
            <option value="delete">Delete</option>
          </select>
          {note('opt-absent-problem', problems.absent)}
        </div>
        {mirror && (
          <div>
            <label htmlFor="opt-max-absent">Max absent users (count or %)</label>
            <input
              id="opt-max-absent"
              type="text"
              inputMode="decimal"
              placeholder="10%"
              value={s.maxAbsent}
              onChange={(e) => onChange({ ...s, maxAbsent: e.target.value })}
              {...described('opt-max-absent-problem', problems.maxAbsent)}
            />
            {note('opt-max-absent-problem', problems.maxAbsent)}
          </div>
        )}
      </div>
      <p id="opt-absent-hint" className="muted">
        {mirror
          ? `Mirror: once the whole file is in, every user of the directory (in the scope below) that no row names is ${verb}. ` +
            `If more than the max (default 10 % of the users in scope) would be ${verb}, the import stops and waits for a confirmation.`
          : 'Users the file does not name are left as they are.'}
      </p>
      {mirror && (
        <>
          <div className="settings">
            <div className="check">
              <input
                id="opt-absent-on-errors"
                type="checkbox"
                checked={s.absentOnErrors}
                onChange={(e) => onChange({ ...s, absentOnErrors: e.target.checked })}
                {...described('opt-absent-on-errors-problem', problems.absentOnErrors)}
              />
              <label htmlFor="opt-absent-on-errors">Change absent users even if some rows fail</label>
              {note('opt-absent-on-errors-problem', problems.absentOnErrors)}
            </div>
          </div>
          <fieldset className="scope">
            <legend>Scope (optional): only users with all of these values can be {verb}</legend>
            {s.scope.length === 0 && <p className="muted">No condition: every user of the directory is in scope.</p>}
            {s.scope.map((r, i) => {
              const problem = problems.scopeFields?.[r.field.trim()] ?? null
              const id = `opt-scope-${i}-problem`
              return (
                <div key={i} className="scope-row">
                  <input
                    type="text"
                    aria-label={`Scope field ${i + 1}`}
                    placeholder="metadata.source"
                    list="scope-keys"
                    value={r.field}
                    onChange={(e) => setRow(i, { ...r, field: e.target.value })}
                    {...described(id, problem)}
                  />
                  <span aria-hidden="true">=</span>
                  <input
                    type="text"
                    aria-label={`Scope value ${i + 1}`}
                    placeholder="hr"
                    value={r.value}
                    onChange={(e) => setRow(i, { ...r, value: e.target.value })}
                  />
                  <button
                    type="button"
                    className="quiet"
                    aria-label={`Remove scope condition ${i + 1}`}
                    onClick={() => onChange({ ...s, scope: s.scope.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </button>
                  {note(id, problem)}
                </div>
              )
            })}
            {problems.scope?.map((p) => (
              <p key={p} role="alert" className="field-error">
                {p}
              </p>
            ))}
            <datalist id="scope-keys">
              {scopeKeys.map((k) => (
                <option key={k} value={k} />
              ))}
            </datalist>
            <button type="button" className="quiet" onClick={() => onChange({ ...s, scope: [...s.scope, { field: '', value: '' }] })}>
              Add a condition
            </button>
          </fieldset>
        </>
      )}
    </div>
  )
}
