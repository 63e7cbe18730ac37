/**
 * The import formats and their media types, apart from the sampler (and papaparse) so that the
 * import page and the upload load without the wizard's parser.
 */
export type Format = 'csv' | 'ndjson' | 'json'

export const CONTENT_TYPES: Record<Format, string> = { csv: 'text/csv', ndjson: 'application/x-ndjson', json: 'application/json' }
