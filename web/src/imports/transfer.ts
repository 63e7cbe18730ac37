import { ApiError, apiFetch, apiHeaders, enc, failure, type ImportJob, problemFromText } from '../api'
import { CONTENT_TYPES, type Format } from './formats'

/**
 * Moving an import's bytes: the upload (the File itself as the body, so the browser streams it
 * from disk, with upload progress), its results as NDJSON pages, and files saved from the API.
 */

/** Uploads the file as an import of `dir` with these options; resolves with the job once the input is stored. */
export function uploadImport(
  dir: string,
  file: File,
  format: Format,
  query: URLSearchParams,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ImportJob> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/v1/directories/${enc(dir)}/imports?${query.toString()}`)
    for (const [k, v] of Object.entries(apiHeaders({ accept: 'application/json', 'content-type': CONTENT_TYPES[format] })))
      xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size)
    xhr.onload = () => {
      if (xhr.status === 202) resolve(JSON.parse(xhr.responseText) as ImportJob)
      else reject(failure(problemFromText(xhr.responseText, xhr.status, xhr.statusText)))
    }
    xhr.onerror = () => reject(new ApiError({ status: 0, detail: 'The upload stopped: the server could not be reached' }))
    xhr.onabort = () => reject(new DOMException('The upload was cancelled', 'AbortError'))
    signal?.addEventListener('abort', () => xhr.abort())
    xhr.send(file)
  })
}

export interface RowError {
  field: string
  code: string
  message: string
}

/** One row's result, as `GET /imports/{id}/results` streams it. */
export interface ResultRow {
  index: number
  line: number | null
  status: 'created' | 'updated' | 'unchanged' | 'failed' | 'deactivated' | 'deleted'
  userId: string | null
  changedFields: string[]
  errors: RowError[]
  warnings?: RowError[]
  changes?: Record<string, [unknown, unknown]>
}

export interface ResultsQuery {
  status?: string
  warning?: string
  after?: number
  limit: number
}

/** One page of an import's results (rows after `after`, in input order). */
export async function resultsPage(id: string, q: ResultsQuery, signal?: AbortSignal): Promise<ResultRow[]> {
  const params = new URLSearchParams({ limit: String(q.limit) })
  if (q.status) params.set('status', q.status)
  if (q.warning) params.set('warning', q.warning)
  if (q.after !== undefined) params.set('after', String(q.after))
  const res = await apiFetch(`/imports/${enc(id)}/results?${params.toString()}`, { accept: 'application/x-ndjson', signal })
  return (await res.text())
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ResultRow)
}

/** Fetches an API file with the key (a link cannot carry it) and saves it under `name`. */
export async function download(path: string, name: string): Promise<void> {
  const blob = await (await apiFetch(path, { accept: 'text/csv' })).blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
