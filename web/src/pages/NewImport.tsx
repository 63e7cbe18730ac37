import { type DragEvent, type FormEvent, useEffect, useRef, useState } from 'react'
import { api, ApiError, type Directory, enc, type Field } from '../api'
import { ColumnsTable } from '../imports/ColumnsTable'
import { DEFAULT_SETTINGS, hasProblems, importQuery, type ImportSettings, type Mapping, mappingProblems, suggest } from '../imports/mapping'
import { FileProblem, type Sample, sampleFile } from '../imports/sample'
import { MirrorForm } from '../imports/MirrorForm'
import { SettingsForm } from '../imports/SettingsForm'
import { uploadImport } from '../imports/transfer'
import { navigate } from '../router'
import { ErrorNote, Link, useLoad } from '../ui'

const SETTING_KEYS: readonly string[] = ['mode', 'match', 'emptyMeans', 'atomic', 'maxErrors']
const MIRROR_KEYS: readonly string[] = ['absent', 'scope', 'maxAbsent', 'absentOnErrors']
const formatBytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`

/**
 * The import wizard: choose (or drop) a file, see its columns with sample values and the field
 * each goes to, set the options, and "Preview": the file is uploaded as a dry run, whose page
 * shows the plan and applies it. Only the start of the file is read here; the upload streams it.
 */
export function NewImportPage({ dir }: { dir: string }) {
  const base = `/directories/${enc(dir)}`
  const directory = useLoad(`dir:${dir}`, (signal) => api<Directory>('GET', base, undefined, { signal }))
  const fieldList = useLoad(`fields:${dir}`, (signal) => api<{ data: Field[] }>('GET', `${base}/fields`, undefined, { signal }))
  const fields = fieldList.data?.data
  const [file, setFile] = useState<File | null>(null)
  const [sample, setSample] = useState<Sample | null>(null)
  const [fileProblem, setFileProblem] = useState<string | null>(null)
  const [suggested, setSuggested] = useState<Mapping>({})
  const [mapping, setMapping] = useState<Mapping>({})
  const [settings, setSettings] = useState<ImportSettings>(DEFAULT_SETTINGS)
  const [attempted, setAttempted] = useState(false)
  const [upload, setUpload] = useState<{ sent: number; total: number } | null>(null)
  const [serverError, setServerError] = useState<unknown>(null)
  const abort = useRef<AbortController | null>(null)
  useEffect(() => () => abort.current?.abort(), [])

  async function choose(f: File | null) {
    setFile(f)
    setSample(null)
    setFileProblem(null)
    setServerError(null)
    setAttempted(false)
    if (!f || !fields) return
    try {
      const s = await sampleFile(f)
      const m = suggest(s.columns, fields, s.format)
      setSample(s)
      setSuggested(m)
      setMapping(m)
    } catch (e) {
      setFileProblem(e instanceof FileProblem ? e.message : `The file could not be read: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  const problems = sample && fields ? mappingProblems(sample.columns, mapping, fields, settings) : null
  const serverProblems = serverError instanceof ApiError ? (serverError.problem.errors ?? []) : []
  const serverFor = (field: string) => serverProblems.find((p) => p.field === field)?.message ?? null
  // The mirror options' errors show next to them while they are shown (not once "Keep" is chosen again).
  const mirror = settings.absent !== 'keep'
  const shownNextToOption = (field: string) =>
    SETTING_KEYS.includes(field) || (mirror && (MIRROR_KEYS.includes(field) || field.startsWith('scope.')))
  const otherServerError =
    serverError && !(serverProblems.length > 0 && serverProblems.every((p) => shownNextToOption(p.field))) ? serverError : null
  // A scope condition's error (`scope.fields.dept`) goes next to its row (none once the row names another field).
  const scopeFields: Record<string, string> = {}
  const scopeGeneral: string[] = []
  for (const p of serverProblems) {
    if (p.field === 'scope') scopeGeneral.push(p.message)
    else if (p.field.startsWith('scope.')) scopeFields[p.field.slice('scope.'.length)] = p.message
  }

  async function preview(e: FormEvent) {
    e.preventDefault()
    setAttempted(true)
    if (!file || !sample || !fields || !problems || hasProblems(problems)) return
    setServerError(null)
    setUpload({ sent: 0, total: file.size })
    abort.current = new AbortController()
    try {
      const job = await uploadImport(
        dir,
        file,
        sample.format,
        importQuery(sample.format, mapping, settings, true, sample.delimiter, fields),
        (sent, total) => setUpload({ sent, total }),
        abort.current.signal,
      )
      navigate(`/imports/${enc(job.id)}`)
    } catch (err) {
      setUpload(null)
      if (!(err instanceof DOMException && err.name === 'AbortError')) setServerError(err)
    }
  }

  function drop(e: DragEvent) {
    e.preventDefault()
    const f = e.dataTransfer.files[0]
    if (f) void choose(f)
  }

  const unset = sample ? sample.columns.filter((c) => mapping[c] === null).length : 0
  const pct = upload && upload.total ? Math.floor((upload.sent / upload.total) * 100) : 0

  return (
    <section>
      <p className="crumbs">
        <Link to="/">Directories</Link> / <Link to={base}>{directory.data?.name ?? dir}</Link> / <Link to={`${base}/imports`}>Imports</Link>{' '}
        / New
      </p>
      <h1>New import{directory.data ? ` into ${directory.data.name}` : ''}</h1>
      <ErrorNote error={directory.error ?? fieldList.error} />
      <form onSubmit={preview} className="wizard" noValidate>
        <h2>1. File</h2>
        <div className={`dropzone${fileProblem ? ' invalid' : ''}`} onDragOver={(e) => e.preventDefault()} onDrop={drop}>
          <label htmlFor="import-file">File</label>
          <input
            id="import-file"
            type="file"
            accept=".csv,.tsv,.txt,.ndjson,.jsonl,.json,text/csv,application/json,application/x-ndjson"
            disabled={!fields || upload !== null}
            aria-invalid={fileProblem ? true : undefined}
            aria-describedby={fileProblem ? 'import-file-problem' : 'import-file-hint'}
            onChange={(e) => void choose(e.target.files?.[0] ?? null)}
          />
          <p id="import-file-hint" className="muted">
            CSV (with a header line), NDJSON or a JSON array of users, of any size; or drop the file here. Only its first rows are read in
            the browser.
          </p>
          {fileProblem && (
            <p id="import-file-problem" role="alert" className="field-error">
              {fileProblem} Nothing was uploaded.
            </p>
          )}
          {file && sample && (
            <p className="muted">
              {file.name}: {formatBytes(file.size)}, {sample.format.toUpperCase()}, {sample.columns.length} columns
              {sample.whole ? `, ${sample.rows.length} rows shown` : `, the first ${sample.rows.length} rows shown`}.
            </p>
          )}
        </div>

        {sample && fields && problems && (
          <>
            <h2>2. Columns</h2>
            <p className="muted">
              Each column goes to a field, suggested by its name as the server maps it (case, spaces, _ and - ignored). A column that goes
              to no field fails the whole import, so choose one or ignore it.
              {unset > 0 && ` ${unset} column${unset === 1 ? '' : 's'} still need${unset === 1 ? 's' : ''} a choice.`}
            </p>
            <ColumnsTable
              sample={sample}
              fields={fields}
              mapping={mapping}
              suggested={suggested}
              problems={attempted ? problems.columns : {}}
              onChange={(c, p) => setMapping((m) => ({ ...m, [c]: p }))}
            />
            {attempted && (problems.general.length > 0 || serverFor('mapping')) && (
              <div role="alert" className="error">
                {problems.general.map((g) => (
                  <p key={g}>{g}</p>
                ))}
                {serverFor('mapping') && <p>{serverFor('mapping')}</p>}
              </div>
            )}

            <h2>3. Options</h2>
            <SettingsForm
              settings={settings}
              onChange={setSettings}
              problems={{
                match: (attempted ? problems.match : null) ?? serverFor('match'),
                mode: serverFor('mode'),
                maxErrors: serverFor('maxErrors'),
                emptyMeans: serverFor('emptyMeans'),
                atomic: serverFor('atomic'),
              }}
            />
            <h3>Mirror</h3>
            <MirrorForm
              settings={settings}
              onChange={setSettings}
              fields={fields}
              problems={{
                absent: serverFor('absent'),
                maxAbsent: serverFor('maxAbsent'),
                absentOnErrors: serverFor('absentOnErrors'),
                scope: scopeGeneral,
                scopeFields,
              }}
            />

            <h2>4. Preview</h2>
            <p className="muted">
              Preview uploads the file as a dry run: the server validates and compares every row, writes nothing, and shows the plan, which
              you can then apply.
              {mirror &&
                ` The plan also lists the users missing from the file, and applying it ${settings.absent === 'delete' ? 'deletes' : 'deactivates'} them.`}
            </p>
            {upload && (
              <div className="progress-block">
                <div className="progress-head">
                  <span id="upload-label">Upload</span>
                  <span aria-hidden="true">
                    {formatBytes(upload.sent)} of {formatBytes(upload.total)}
                  </span>
                </div>
                <div
                  className="progress"
                  role="progressbar"
                  aria-labelledby="upload-label"
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={pct}
                >
                  <div className="bar" style={{ width: `${pct}%` }} />
                </div>
              </div>
            )}
            <ErrorNote error={otherServerError} />
            <div className="button-row">
              <button type="submit" disabled={upload !== null}>
                Preview
              </button>
              {upload && (
                <button type="button" className="quiet" onClick={() => abort.current?.abort()}>
                  Stop the upload
                </button>
              )}
            </div>
          </>
        )}
      </form>
    </section>
  )
}
