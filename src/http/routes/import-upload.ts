import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import {
  DEFAULT_IMPORT_OPTIONS,
  DEFAULT_MAX_ABSENT,
  type ImportOptions,
  type InputFormat,
  type MaxAbsent,
  parseMaxAbsent,
} from '../../core/jobs.js'
import { errors, type FieldError, RollcallError } from '../../core/errors.js'
import { own } from '../../core/merge.js'
import { MATCH_KEYS, type MatchKey } from '../../core/types.js'
import { StringEnum } from '../schemas.js'

/**
 * What an import upload carries besides its rows: the options (query string, or multipart fields
 * before the file) and the input's format (explicit, by file name, or by Content-Type).
 */
const Bool = Type.Union([Type.Boolean(), StringEnum(['true', 'false', '1', '0'] as const)])
export const ImportQuery = Type.Object(
  {
    format: Type.Optional(StringEnum(['csv', 'ndjson', 'json'] as const, { description: 'Overrides the Content-Type' })),
    mode: Type.Optional(StringEnum(['create', 'update', 'upsert'] as const)),
    match: Type.Optional(Type.String({ description: 'A match key, or several separated by commas: id, externalId, email, username' })),
    metadata: Type.Optional(StringEnum(['merge', 'replace'] as const)),
    atomic: Type.Optional(Bool),
    dryRun: Type.Optional(Bool),
    maxErrors: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    mapping: Type.Optional(
      Type.String({ description: 'JSON object: input column → field path (email, metadata.plan, fields.dept; "" ignores the column)' }),
    ),
    unmapped: Type.Optional(StringEnum(['fail', 'metadata', 'ignore'] as const)),
    emptyMeans: Type.Optional(StringEnum(['skip', 'null'] as const)),
    delimiter: Type.Optional(Type.String({ description: 'One of , ; | or "tab"; detected when absent' })),
    quote: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
    header: Type.Optional(Bool),
    absent: Type.Optional(
      StringEnum(['keep', 'deactivate', 'delete'] as const, {
        description:
          'Mirror mode: what happens, once the whole input is in, to users of the directory (in `scope`) that no row matched. `keep` (default) leaves them',
      }),
    ),
    scope: Type.Optional(
      Type.String({
        description:
          'Mirror mode: JSON object of equalities a user must meet to be absent, e.g. {"metadata.source":"hr"} (keys: built-in fields, fields.<key>, metadata.<key>)',
      }),
    ),
    maxAbsent: Type.Optional(
      Type.String({
        description:
          'Mirror mode: the most users changed as absent without a confirmation, a count (`200`) or a percentage of the scoped users (`5%`); default 10%. Over it the import stops in needs_confirmation',
      }),
    ),
    absentOnErrors: Type.Optional(Bool),
  },
  { additionalProperties: false },
)

export type RawOptions = Record<string, string | boolean | number | undefined>

const truthy = (v: unknown) => v === true || v === 'true' || v === '1'

/** Import options from query (and multipart fields), checked field by field. */
export function parseImportOptions(raw: RawOptions): ImportOptions {
  const problems: FieldError[] = []
  const D = DEFAULT_IMPORT_OPTIONS
  const match = String(raw.match ?? D.match.join(','))
    .split(',')
    .map((m) => m.trim())
  for (const m of match)
    if (!MATCH_KEYS.includes(m as MatchKey))
      problems.push({ field: 'match', code: 'invalid_value', message: `'${m}' is not a match key (use ${MATCH_KEYS.join(', ')})` })
  let mapping: Record<string, string> | null = null
  if (raw.mapping !== undefined) {
    try {
      const m = JSON.parse(String(raw.mapping)) as unknown
      if (m === null || typeof m !== 'object' || Array.isArray(m) || Object.values(m).some((v) => typeof v !== 'string'))
        throw new Error('not an object of strings')
      mapping = m as Record<string, string>
    } catch (e) {
      problems.push({
        field: 'mapping',
        code: 'invalid_json',
        message: `mapping must be a JSON object of column → field path (${(e as Error).message})`,
      })
    }
  }
  const delimiters: Record<string, string> = { ',': ',', ';': ';', '|': '|', tab: '\t', '\t': '\t', comma: ',', semicolon: ';', pipe: '|' }
  let delimiter: string | null = null
  if (raw.delimiter !== undefined) {
    delimiter = delimiters[String(raw.delimiter)] ?? null
    if (!delimiter) problems.push({ field: 'delimiter', code: 'invalid_value', message: 'delimiter must be one of , ; | tab' })
  }
  const absent = (raw.absent as ImportOptions['absent']) ?? 'keep'
  const mirrorOnly = ['scope', 'maxAbsent', 'absentOnErrors'].filter((k) => raw[k] !== undefined)
  if (absent === 'keep')
    for (const k of mirrorOnly)
      problems.push({
        field: k,
        code: 'invalid_value',
        message: `${k} applies to mirror imports only: set absent=deactivate or absent=delete`,
      })
  let scope: ImportOptions['scope'] = null
  if (raw.scope !== undefined) {
    try {
      const v = JSON.parse(String(raw.scope)) as unknown
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => x === null || typeof x === 'object'))
        throw new Error('not an object of strings, numbers and booleans')
      scope = v as Record<string, string | number | boolean>
    } catch (e) {
      problems.push({
        field: 'scope',
        code: 'invalid_json',
        message: `scope must be a JSON object of field → value, e.g. {"metadata.source":"hr"} (${(e as Error).message})`,
      })
    }
  }
  let maxAbsent: MaxAbsent | undefined
  if (raw.maxAbsent !== undefined) {
    maxAbsent = parseMaxAbsent(String(raw.maxAbsent)) ?? undefined
    if (!maxAbsent)
      problems.push({
        field: 'maxAbsent',
        code: 'invalid_value',
        message: 'maxAbsent must be a count (200) or a percentage up to 100 (5%)',
      })
  }
  if (problems.length) throw errors.validation(problems)
  return {
    ...(absent !== 'keep' && {
      absent,
      scope,
      maxAbsent: maxAbsent ?? DEFAULT_MAX_ABSENT,
      absentOnErrors: raw.absentOnErrors === undefined ? false : truthy(raw.absentOnErrors),
    }),
    mode: (raw.mode as ImportOptions['mode']) ?? D.mode,
    match: match as MatchKey[],
    metadata: (raw.metadata as ImportOptions['metadata']) ?? D.metadata,
    atomic: raw.atomic === undefined ? D.atomic : truthy(raw.atomic),
    maxErrors: raw.maxErrors === undefined ? D.maxErrors : Number(raw.maxErrors),
    dryRun: raw.dryRun === undefined ? D.dryRun : truthy(raw.dryRun),
    mapping: mapping ?? D.mapping,
    unmapped: (raw.unmapped as ImportOptions['unmapped']) ?? D.unmapped,
    emptyMeans: (raw.emptyMeans as ImportOptions['emptyMeans']) ?? D.emptyMeans,
    delimiter: delimiter ?? D.delimiter,
    quote: raw.quote === undefined ? D.quote : String(raw.quote),
    header: raw.header === undefined ? D.header : truthy(raw.header),
  }
}

const FORMATS: Record<string, InputFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/plain': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/json': 'json',
}

/** The Content-Types an upload may be sent as, raw. */
export const UPLOAD_TYPES = Object.keys(FORMATS)

function formatOf(contentType: string | undefined, explicit: string | undefined, filename?: string): InputFormat {
  if (explicit) return explicit as InputFormat
  const byName = filename?.match(/\.(csv|ndjson|jsonl|json)$/i)?.[1].toLowerCase()
  if (byName) return byName === 'jsonl' ? 'ndjson' : (byName as InputFormat)
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase()
  const f = own(FORMATS, ct)
  if (!f)
    throw new RollcallError(
      'unsupported_media_type',
      'Send the file as text/csv, application/x-ndjson or application/json, or as multipart field "file"',
    )
  return f
}

/** The file and options of an upload: a raw body, or multipart with options as fields before the file. */
export async function uploadOf(
  req: FastifyRequest,
  query: RawOptions,
): Promise<{ body: AsyncIterable<Buffer>; format: InputFormat; options: ImportOptions }> {
  if (req.isMultipart()) {
    const fields: RawOptions = { ...query }
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (part.fieldname in fields && query[part.fieldname] !== undefined) continue
        fields[part.fieldname] = String(part.value)
        continue
      }
      if (part.fieldname !== 'file') {
        part.file.resume()
        throw errors.validation([
          { field: part.fieldname, code: 'unknown_field', message: `unexpected file field '${part.fieldname}'; send the file as 'file'` },
        ])
      }
      const format = formatOf(part.mimetype, fields.format as string | undefined, part.filename)
      return { body: part.file, format, options: parseImportOptions(fields) }
    }
    throw errors.validation([{ field: 'file', code: 'required', message: "multipart uploads carry the file in field 'file'" }])
  }
  const format = formatOf(req.headers['content-type'], query.format as string | undefined)
  const body = req.body
  if (!(body instanceof Readable))
    throw errors.validation([{ field: 'body', code: 'required', message: 'send the file as the request body' }])
  return { body, format, options: parseImportOptions(query) }
}
