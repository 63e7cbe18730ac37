import type { ImportSettings } from './mapping'

/** The import's options: mode, match key, what an empty cell means, atomic, max errors. */
export function SettingsForm({
  settings: s,
  onChange,
  problems,
}: {
  settings: ImportSettings
  onChange: (s: ImportSettings) => void
  problems: Partial<Record<keyof ImportSettings, string | null>>
}) {
  const note = (k: keyof ImportSettings) =>
    problems[k] ? (
      <p id={`opt-${k}-problem`} role="alert" className="field-error">
        {problems[k]}
      </p>
    ) : null
  const described = (k: keyof ImportSettings) =>
    problems[k] ? { 'aria-invalid': true as const, 'aria-describedby': `opt-${k}-problem` } : {}
  return (
    <div className="settings">
      <div>
        <label htmlFor="opt-mode">Mode</label>
        <select
          id="opt-mode"
          value={s.mode}
          onChange={(e) => onChange({ ...s, mode: e.target.value as ImportSettings['mode'] })}
          {...described('mode')}
        >
          <option value="upsert">upsert: create new users, update existing ones</option>
          <option value="create">create: only new users (an existing one fails its row)</option>
          <option value="update">update: only existing users (a missing one fails its row)</option>
        </select>
        {note('mode')}
      </div>
      <div>
        <label htmlFor="opt-match">Match key</label>
        <select
          id="opt-match"
          value={s.match}
          onChange={(e) => onChange({ ...s, match: e.target.value as ImportSettings['match'] })}
          {...described('match')}
        >
          <option value="email">email</option>
          <option value="externalId">externalId</option>
          <option value="username">username</option>
          <option value="id">id</option>
        </select>
        {note('match')}
      </div>
      <div>
        <label htmlFor="opt-empty">Empty cells</label>
        <select
          id="opt-empty"
          value={s.emptyMeans}
          onChange={(e) => onChange({ ...s, emptyMeans: e.target.value as ImportSettings['emptyMeans'] })}
          {...described('emptyMeans')}
        >
          <option value="skip">leave the field as it is</option>
          <option value="null">clear the field</option>
        </select>
        {note('emptyMeans')}
      </div>
      <div>
        <label htmlFor="opt-max-errors">Max errors (optional)</label>
        <input
          id="opt-max-errors"
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          value={s.maxErrors}
          onChange={(e) => onChange({ ...s, maxErrors: e.target.value })}
          {...described('maxErrors')}
        />
        {note('maxErrors')}
      </div>
      <div className="check">
        <input id="opt-atomic" type="checkbox" checked={s.atomic} onChange={(e) => onChange({ ...s, atomic: e.target.checked })} />
        <label htmlFor="opt-atomic">All or nothing (atomic): one failing row and nothing is written</label>
        {note('atomic')}
      </div>
    </div>
  )
}
