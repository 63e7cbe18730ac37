import { type FormEvent, useState } from 'react'
import { api, ApiError, type Field, type User } from '../api'
import { mergePatchOf, sameJson } from '../merge-patch'
import { ErrorNote, formatValue } from '../ui'
import { USER_FIELDS } from '../../../src/core/user-fields'

/**
 * Editing a user: one input per field definition of the directory (the writable built-ins and the
 * custom fields, as `GET …/fields` lists them) and the metadata as JSON. Save sends only what the
 * person changed, as a JSON Merge Patch with `If-Match` on the version they opened: a change made
 * meanwhile is never overwritten silently. The server answers 412, and the editor shows, for each
 * field the person changed, what they opened, what they typed and what the user holds now.
 */

type Draft = Record<string, string>

/** A field's value as the text of its input ('' for none). */
function textOf(def: Field, v: unknown): string {
  if (v === null || v === undefined) return ''
  if (def.type === 'json') return JSON.stringify(v)
  return String(v)
}

/** The input's text as the field's value, or an error message. */
function valueOf(def: Field, text: string): { value: unknown } | { error: string } {
  const t = text.trim()
  if (t === '') return { value: null }
  if (def.type === 'integer' || def.type === 'number') {
    const n = Number(t)
    if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n)))
      return { error: `must be ${def.type === 'integer' ? 'a whole number' : 'a number'}` }
    return { value: n }
  }
  if (def.type === 'boolean') return { value: t === 'true' }
  if (def.type === 'json') {
    try {
      return { value: JSON.parse(t) as unknown }
    } catch {
      return { error: 'must be JSON' }
    }
  }
  return { value: def.type === 'string' || def.type === 'enum' ? text : t }
}

/** Built-ins with a default always hold a value (`active`): a boolean one is a checkbox, with no "none". */
const ALWAYS_SET: ReadonlySet<string> = new Set(USER_FIELDS.filter((f) => 'default' in f).map((f) => f.key))
const isCheckbox = (def: Field) => def.builtIn && def.type === 'boolean' && ALWAYS_SET.has(def.key)

const current = (u: User, def: Field): unknown => (def.builtIn ? (u as unknown as Record<string, unknown>)[def.key] : u.fields[def.key])
const pathOf = (def: Field) => (def.builtIn ? def.key : `fields.${def.key}`)

interface Conflict {
  now: User
  /** The field paths the person changed that the other change changed too. */
  fields: { path: string; label: string; opened: unknown; mine: unknown; theirs: unknown }[]
}

export function UserEditor({
  base,
  user,
  fields,
  onSaved,
  onCancel,
}: {
  base: string
  user: User
  fields: Field[]
  onSaved: (u: User) => void
  onCancel: () => void
}) {
  const [opened, setOpened] = useState(user)
  const [draft, setDraft] = useState<Draft>(() => Object.fromEntries(fields.map((f) => [f.key, textOf(f, current(user, f))])))
  const [metadata, setMetadata] = useState(() => JSON.stringify(user.metadata, null, 2))
  const [problems, setProblems] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>(null)
  const [conflict, setConflict] = useState<Conflict | null>(null)
  const [saving, setSaving] = useState(false)

  /** The merge patch of what the person changed, or the problems of their input. */
  function patchOf(): { patch: Record<string, unknown>; changed: Map<string, unknown> } | { problems: Record<string, string> } {
    const found: Record<string, string> = {}
    const patch: Record<string, unknown> = {}
    const custom: Record<string, unknown> = {}
    const changed = new Map<string, unknown>()
    for (const def of fields) {
      if (draft[def.key] === textOf(def, current(opened, def))) continue
      const v = valueOf(def, draft[def.key])
      if ('error' in v) {
        found[pathOf(def)] = v.error
        continue
      }
      if (def.builtIn) patch[def.key] = v.value
      else custom[def.key] = v.value
      changed.set(pathOf(def), v.value)
    }
    if (Object.keys(custom).length) patch.fields = custom
    let meta: unknown
    try {
      meta = JSON.parse(metadata) as unknown
    } catch (e) {
      found.metadata = `must be JSON (${e instanceof Error ? e.message : String(e)})`
    }
    if (meta !== undefined) {
      if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) found.metadata = 'must be a JSON object'
      else {
        const diff = mergePatchOf(opened.metadata, meta as Record<string, unknown>)
        if (Object.keys(diff).length) {
          patch.metadata = diff
          changed.set('metadata', meta)
        }
      }
    }
    return Object.keys(found).length ? { problems: found } : { patch, changed }
  }

  async function save(version: number, e?: FormEvent) {
    e?.preventDefault()
    const p = patchOf()
    if ('problems' in p) {
      setProblems(p.problems)
      return
    }
    setProblems({})
    setError(null)
    if (Object.keys(p.patch).length === 0) return onCancel()
    setSaving(true)
    try {
      const saved = await api<User>('PATCH', `${base}`, p.patch, { headers: { 'if-match': `W/"${version}"` } })
      onSaved(saved)
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        const now = await api<User>('GET', base).catch(() => null)
        if (now) setConflict({ now, fields: conflictsOf(p.changed, now) })
        else setError(err)
      } else {
        if (err instanceof ApiError) setProblems(Object.fromEntries((err.problem.errors ?? []).map((f) => [f.field, f.message])))
        setError(err)
      }
    } finally {
      setSaving(false)
    }
  }

  function conflictsOf(changed: Map<string, unknown>, now: User): Conflict['fields'] {
    const rows: Conflict['fields'] = []
    for (const def of fields) {
      const path = pathOf(def)
      if (!changed.has(path)) continue
      rows.push({
        path,
        label: def.label,
        opened: current(opened, def) ?? null,
        mine: changed.get(path),
        theirs: current(now, def) ?? null,
      })
    }
    if (changed.has('metadata'))
      rows.push({ path: 'metadata', label: 'Metadata', opened: opened.metadata, mine: changed.get('metadata'), theirs: now.metadata })
    return rows
  }

  /** Start over from the user as it is now, dropping what the person typed. */
  function discard(now: User) {
    setOpened(now)
    setDraft(Object.fromEntries(fields.map((f) => [f.key, textOf(f, current(now, f))])))
    setMetadata(JSON.stringify(now.metadata, null, 2))
    setConflict(null)
    onSaved(now)
  }

  const input = (def: Field) => {
    const id = `edit-${def.builtIn ? '' : 'f-'}${def.key}`
    const problem = problems[pathOf(def)]
    const described = {
      id,
      'aria-invalid': problem ? true : undefined,
      'aria-describedby': problem ? `${id}-problem` : undefined,
    }
    const common = {
      ...described,
      value: draft[def.key],
      onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [def.key]: e.target.value })),
    }
    const note = problem && (
      <span id={`${id}-problem`} role="alert" className="field-error">
        {problem}
      </span>
    )
    if (isCheckbox(def))
      return (
        <div key={def.key} className="edit-field edit-check">
          <label className="check">
            <input
              {...described}
              type="checkbox"
              checked={draft[def.key] === 'true'}
              onChange={(e) => setDraft((d) => ({ ...d, [def.key]: String(e.target.checked) }))}
            />
            {def.label}
          </label>
          {note}
        </div>
      )
    return (
      <div key={def.key} className="edit-field">
        <label htmlFor={id}>{def.label}</label>
        {def.type === 'boolean' || def.type === 'enum' ? (
          <select {...common}>
            <option value="">—</option>
            {(def.type === 'boolean' ? ['true', 'false'] : (def.enumValues ?? [])).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        ) : (
          <input {...common} type="text" spellCheck={false} />
        )}
        {note}
      </div>
    )
  }

  return (
    <form className="user-edit" aria-label="Edit user" onSubmit={(e) => void save(opened.version, e)} noValidate>
      <h2>Edit</h2>
      {conflict && (
        <div role="alert" className="error conflict">
          <p>
            <strong>This user was changed since you opened it</strong> (version {opened.version} → {conflict.now.version}). Nothing was
            saved.
          </p>
          <table className="diff">
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">When you opened it</th>
                <th scope="col">Yours</th>
                <th scope="col">Now</th>
              </tr>
            </thead>
            <tbody>
              {conflict.fields.map((f) => (
                <tr key={f.path} className={sameJson(f.opened, f.theirs) ? undefined : 'changed'}>
                  <th scope="row">{f.label}</th>
                  <td>{formatValue(f.opened)}</td>
                  <td>{formatValue(f.mine)}</td>
                  <td>{formatValue(f.theirs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="actions">
            <button type="button" onClick={() => void save(conflict.now.version)} disabled={saving}>
              Save mine over it
            </button>
            <button type="button" className="quiet" onClick={() => discard(conflict.now)}>
              Discard mine
            </button>
          </div>
        </div>
      )}
      <div className="edit-grid">{fields.map(input)}</div>
      <div className="edit-field">
        <label htmlFor="edit-metadata">Metadata (JSON)</label>
        <textarea
          id="edit-metadata"
          rows={6}
          spellCheck={false}
          value={metadata}
          aria-invalid={problems.metadata ? true : undefined}
          aria-describedby={problems.metadata ? 'edit-metadata-problem' : undefined}
          onChange={(e) => setMetadata(e.target.value)}
        />
        {problems.metadata && (
          <span id="edit-metadata-problem" role="alert" className="field-error">
            {problems.metadata}
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" disabled={saving || conflict !== null}>
          {saving ? 'Saving…' : 'Save changes'}
        </button>
        <button type="button" className="quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
