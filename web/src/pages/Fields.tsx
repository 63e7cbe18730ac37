import { type FormEvent, useState } from 'react'
import { FIELD_TYPES } from '../../../src/core/user-fields'
import { api, type Directory, enc, type Field } from '../api'
import { useAction } from '../action'
import { ErrorNote, Link, useLoad } from '../ui'

/**
 * A directory's field definitions: the built-ins (label and required may change) and the custom
 * fields (created, changed, deleted). Every rule is the server's: its validation messages show here.
 */
export function FieldsPage({ dir }: { dir: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const fields = useLoad(`fields:${dir}`, (signal) => api<{ data: Field[] }>('GET', `${base}/fields`, undefined, { signal }))
  const [editing, setEditing] = useState<{ key: string; mode: 'edit' | 'delete' } | null>(null)
  const done = () => {
    setEditing(null)
    fields.reload()
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / Fields
      </p>
      <h1>Fields</h1>
      <NewField base={base} onCreated={fields.reload} />
      <ErrorNote error={fields.error} />
      {fields.data && (
        <table className="grid">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Label</th>
              <th scope="col">Type</th>
              <th scope="col">Rules</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {fields.data.data.map((f) => (
              <FieldRow
                key={f.key}
                base={base}
                field={f}
                mode={editing?.key === f.key ? editing.mode : null}
                onMode={(mode) => setEditing(mode ? { key: f.key, mode } : null)}
                onDone={done}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function rulesOf(f: Field): string {
  const rules = [
    f.builtIn ? 'built-in' : null,
    f.required ? 'required' : null,
    f.unique ? 'unique' : null,
    f.maxLength !== null ? `at most ${f.maxLength} characters` : null,
    f.pattern !== null ? `matches ${f.pattern}` : null,
    f.enumValues ? `one of ${f.enumValues.join(', ')}` : null,
  ]
  return rules.filter(Boolean).join(' · ')
}

function FieldRow({
  base,
  field: f,
  mode,
  onMode,
  onDone,
}: {
  base: string
  field: Field
  mode: 'edit' | 'delete' | null
  onMode: (m: 'edit' | 'delete' | null) => void
  onDone: () => void
}) {
  return (
    <>
      <tr>
        <td>
          <code>{f.key}</code>
        </td>
        <td>{f.label}</td>
        <td>{f.type}</td>
        <td className="small">{rulesOf(f) || <span className="muted">—</span>}</td>
        <td className="actions">
          <button type="button" className="quiet" aria-label={`Edit ${f.key}`} onClick={() => onMode(mode === 'edit' ? null : 'edit')}>
            Edit
          </button>
          {!f.builtIn && (
            <button
              type="button"
              className="quiet danger"
              aria-label={`Delete ${f.key}`}
              onClick={() => onMode(mode === 'delete' ? null : 'delete')}
            >
              Delete
            </button>
          )}
        </td>
      </tr>
      {mode && (
        <tr className="editor">
          <td colSpan={5}>
            {mode === 'edit' ? (
              <EditField base={base} field={f} onDone={onDone} onCancel={() => onMode(null)} />
            ) : (
              <DeleteField base={base} field={f} onDone={onDone} onCancel={() => onMode(null)} />
            )}
          </td>
        </tr>
      )}
    </>
  )
}

/** Enum values typed one per line (or separated by commas). */
const valuesOf = (text: string): string[] | null => {
  const values = text
    .split(/[\n,]/)
    .map((v) => v.trim())
    .filter(Boolean)
  return values.length ? values : null
}

/** The inputs a definition's rules share between creating and editing. */
function RuleInputs({
  id,
  type,
  rules,
  set,
  builtIn,
}: {
  id: string
  type: string
  rules: { required: boolean; maxLength: string; pattern: string; enumValues: string }
  set: (patch: Partial<{ required: boolean; maxLength: string; pattern: string; enumValues: string }>) => void
  builtIn: boolean
}) {
  return (
    <>
      <label className="check">
        <input type="checkbox" checked={rules.required} onChange={(e) => set({ required: e.target.checked })} /> Required
      </label>
      {!builtIn && (
        <>
          <div>
            <label htmlFor={`${id}-max`}>Max length</label>
            <input
              id={`${id}-max`}
              inputMode="numeric"
              size={8}
              value={rules.maxLength}
              onChange={(e) => set({ maxLength: e.target.value })}
            />
          </div>
          <div>
            <label htmlFor={`${id}-pattern`}>Pattern (regular expression)</label>
            <input id={`${id}-pattern`} spellCheck={false} value={rules.pattern} onChange={(e) => set({ pattern: e.target.value })} />
          </div>
          {type === 'enum' && (
            <div>
              <label htmlFor={`${id}-enum`}>Allowed values (one per line)</label>
              <textarea id={`${id}-enum`} rows={3} value={rules.enumValues} onChange={(e) => set({ enumValues: e.target.value })} />
            </div>
          )}
        </>
      )}
    </>
  )
}

/** The rules as the API takes them; a max length that is not a number is sent as it is, for the server to refuse. */
function rulesBody(rules: { required: boolean; maxLength: string; pattern: string; enumValues: string }, type: string) {
  const max = rules.maxLength.trim()
  return {
    required: rules.required,
    maxLength: max === '' ? null : Number.isInteger(Number(max)) ? Number(max) : max,
    pattern: rules.pattern.trim() === '' ? null : rules.pattern,
    ...(type === 'enum' ? { enumValues: valuesOf(rules.enumValues) } : {}),
  }
}

function NewField({ base, onCreated }: { base: string; onCreated: () => void }) {
  const empty = { key: '', label: '', type: 'string', unique: false, required: false, maxLength: '', pattern: '', enumValues: '' }
  const [f, setF] = useState(empty)
  const action = useAction()
  const set = (patch: Partial<typeof empty>) => setF((x) => ({ ...x, ...patch }))
  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      await api('POST', `${base}/fields`, {
        key: f.key.trim(),
        ...(f.label.trim() ? { label: f.label.trim() } : {}),
        type: f.type,
        unique: f.unique,
        ...rulesBody(f, f.type),
      })
      setF(empty)
      onCreated()
    })
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label="New field">
      <div>
        <label htmlFor="new-field-key">Key</label>
        <input id="new-field-key" required maxLength={64} spellCheck={false} value={f.key} onChange={(e) => set({ key: e.target.value })} />
      </div>
      <div>
        <label htmlFor="new-field-label">Label (optional)</label>
        <input id="new-field-label" maxLength={200} value={f.label} onChange={(e) => set({ label: e.target.value })} />
      </div>
      <div>
        <label htmlFor="new-field-type">Type</label>
        <select id="new-field-type" value={f.type} onChange={(e) => set({ type: e.target.value })}>
          {FIELD_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      <label className="check">
        <input type="checkbox" checked={f.unique} onChange={(e) => set({ unique: e.target.checked })} /> Unique
      </label>
      <RuleInputs id="new-field" type={f.type} rules={f} set={set} builtIn={false} />
      <button type="submit" disabled={!f.key.trim()}>
        Add field
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}

function EditField({ base, field, onDone, onCancel }: { base: string; field: Field; onDone: () => void; onCancel: () => void }) {
  const [label, setLabel] = useState(field.label)
  const [rules, setRules] = useState({
    required: field.required,
    maxLength: field.maxLength === null ? '' : String(field.maxLength),
    pattern: field.pattern ?? '',
    enumValues: (field.enumValues ?? []).join('\n'),
  })
  const action = useAction()
  async function submit(e: FormEvent) {
    e.preventDefault()
    await action.run(async () => {
      const body = field.builtIn
        ? { label: label.trim(), required: rules.required }
        : { label: label.trim(), ...rulesBody(rules, field.type) }
      await api('PATCH', `${base}/fields/${enc(field.key)}`, body)
      onDone()
    })
  }
  const id = `edit-field-${field.key}`
  return (
    <form onSubmit={submit} className="inline-form" aria-label={`Edit ${field.key}`}>
      <div>
        <label htmlFor={`${id}-label`}>Label</label>
        <input id={`${id}-label`} required maxLength={200} value={label} onChange={(e) => setLabel(e.target.value)} />
      </div>
      <RuleInputs id={id} type={field.type} rules={rules} set={(p) => setRules((r) => ({ ...r, ...p }))} builtIn={field.builtIn} />
      <button type="submit">Save field</button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </form>
  )
}

function DeleteField({ base, field, onDone, onCancel }: { base: string; field: Field; onDone: () => void; onCancel: () => void }) {
  const action = useAction()
  async function remove() {
    await action.run(async () => {
      await api('DELETE', `${base}/fields/${enc(field.key)}`)
      onDone()
    })
  }
  return (
    <div className="inline-form" role="group" aria-label={`Delete ${field.key}`}>
      <p>
        Delete the definition of <code>{field.key}</code>? Values users already hold stay readable, no longer checked.
      </p>
      <button type="button" className="danger" onClick={() => void remove()}>
        Delete field
      </button>
      <button type="button" className="quiet" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={action.error} />
    </div>
  )
}
